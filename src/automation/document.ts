import { assertValidDocument } from '../contracts/validate.js';
import type { BrowserAutomationDocument, ControlledScope, Origin, TerminalState, Transport } from './types.js';

export const BROWSER_AUTOMATION_SPEC_VERSION = '0.1.0';
export const BROWSER_AUTOMATION_ID_PREFIX = 'urn:srcos:receipt:browser-automation:';

export interface BrowserAutomationInput {
  localId: string;
  sessionRef: string;
  capabilityLedgerRef: string;
  ownerRef: string;
  transport: Transport;
  permissionScope: readonly string[];
  origin: Origin;
  controlledScope: ControlledScope | null;
  terminalState: TerminalState;
  policyDecisionRef: string;
  evidenceRefs: readonly string[];
  causalRefs: readonly string[];
  startedAt: string;
}

/** Validates against the contract (schema and semantic rules): the ledger stores nothing its contract refuses. */
function valid(doc: BrowserAutomationDocument): BrowserAutomationDocument {
  assertValidDocument(doc, { schema: 'BrowserAutomationReceipt' });
  return doc;
}

/** The session's BrowserAutomationReceipt at its start: active, or denied when it was never allowed to start. */
export function browserAutomationReceipt(input: BrowserAutomationInput): BrowserAutomationDocument {
  return valid({
    id: BROWSER_AUTOMATION_ID_PREFIX + input.localId,
    type: 'BrowserAutomationReceipt',
    specVersion: BROWSER_AUTOMATION_SPEC_VERSION,
    sessionRef: input.sessionRef,
    capabilityLedgerRef: input.capabilityLedgerRef,
    ownerRef: input.ownerRef,
    transport: input.transport,
    permissionScope: [...input.permissionScope],
    origin: input.origin,
    controlledScope: input.controlledScope,
    userVisible: true,
    revocable: true,
    startedAt: input.startedAt,
    revokedAt: null,
    terminalState: input.terminalState,
    causalRefs: [...input.causalRefs],
    policyDecisionRef: input.policyDecisionRef,
    evidenceRefs: [...input.evidenceRefs],
    capturedAt: input.startedAt,
  });
}

/** The same receipt at the session's end: same id, the terminal state, and revokedAt for a revocation. */
export function endedReceipt(doc: BrowserAutomationDocument, state: 'revoked' | 'completed' | 'failed', at: string): BrowserAutomationDocument {
  return valid({ ...doc, terminalState: state, revokedAt: state === 'revoked' ? at : null, capturedAt: at });
}
