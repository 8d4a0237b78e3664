/**
 * Browser automation sessions (DESIGN §8): an agent or plugin drives a browser only inside a session the user can
 * see and revoke, started only on an enabled capability, every action checked against the session's stored state.
 */
import type { BrowserAutomationReceipt } from '../contracts/types.js';

export const TRANSPORTS = ['native_pipe', 'cdp', 'webdriver', 'extension', 'accessibility'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export const ORIGINS = ['local', 'remote', 'workspace'] as const;
export type Origin = (typeof ORIGINS)[number];

export const TERMINAL_STATES = ['active', 'revoked', 'completed', 'failed', 'denied'] as const;
export type TerminalState = (typeof TERMINAL_STATES)[number];

/** Action names, as the contract's permissionScope items: snake_case (read_page, click, enter_text, ...). */
export const ACTION_PATTERN = '^[a-z][a-z0-9_]*$';
/** The contract's ownerRef: a srcos URN (urn:srcos:agent:<id>, urn:srcos:plugin:<id>, ...). */
export const OWNER_REF_PATTERN = '^urn:srcos:[a-z0-9][a-z0-9-]*:\\S+$';

export interface ControlledScope {
  windowRef: string | null;
  tabRef: string | null;
  urlOrigin: string | null;
  workspaceRef: string | null;
}

/** The BrowserAutomationReceipt document: the contract's type, with the fields the ledger always sets. */
export type BrowserAutomationDocument = BrowserAutomationReceipt & { terminalState: TerminalState; revokedAt: string | null };

/** Why an action was refused. */
export type DenialReason = 'out_of_scope' | 'revoked' | 'not_active';

/** One automation session as stored (store/types.ts AutomationTx). */
export interface AutomationSessionRow {
  tenant_id: string;
  /** The API's id, and the local id of the BrowserAutomationReceipt (urn:srcos:receipt:browser-automation:<id>). */
  automation_id: string;
  session_ref: string;
  owner_ref: string;
  capability_ref: string;
  state: TerminalState;
  permission_scope: string[];
  /** The session's BrowserAutomationReceipt as it stands now. */
  document: BrowserAutomationDocument;
  /** automation.started, or for a denied start the automation.action receipt recording the denial. */
  start_receipt_id: string;
  start_seq: number;
  /** automation.ended, once the session ended. */
  end_receipt_id: string | null;
  actions_executed: number;
  actions_denied: number;
  started_at: string;
  ended_at: string | null;
}

export interface AutomationListFilter {
  state?: TerminalState;
  /** Only sessions whose start_seq is greater (the cursor). */
  after_seq: number;
  limit: number;
}
