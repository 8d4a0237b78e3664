/** What the HTTP API shows of automation sessions (camelCase, as the BrowserAutomationReceipt contract). */
import type { AutomationSessionRow, BrowserAutomationDocument, ControlledScope, Origin, TerminalState, Transport } from './types.js';

export interface AutomationSessionView {
  automationId: string;
  sessionRef: string;
  ownerRef: string;
  capabilityRef: string;
  terminalState: TerminalState;
  transport: Transport;
  permissionScope: string[];
  origin: Origin;
  controlledScope: ControlledScope | null;
  startedAt: string;
  revokedAt: string | null;
  endedAt: string | null;
  actions: { executed: number; denied: number };
  /** automation.started, or the automation.action that recorded a denied start. */
  startReceiptId: string;
  /** automation.ended, once ended. */
  endReceiptId: string | null;
  /** The session's BrowserAutomationReceipt as it stands. */
  document: BrowserAutomationDocument;
}

export function sessionView(s: AutomationSessionRow): AutomationSessionView {
  const d = s.document;
  return {
    automationId: s.automation_id,
    sessionRef: s.session_ref,
    ownerRef: s.owner_ref,
    capabilityRef: s.capability_ref,
    terminalState: s.state,
    transport: d.transport,
    permissionScope: s.permission_scope,
    origin: d.origin,
    controlledScope: d.controlledScope ?? null,
    startedAt: s.started_at,
    revokedAt: d.revokedAt,
    endedAt: s.ended_at,
    actions: { executed: s.actions_executed, denied: s.actions_denied },
    startReceiptId: s.start_receipt_id,
    endReceiptId: s.end_receipt_id,
    document: d,
  };
}
