import { assertValidDocument } from '../contracts/validate.js';
import type { EffectiveOutcome } from './precedence.js';
import type { CapabilityLedgerDocument, Plane, PlaneReport } from './types.js';

export const CAPABILITY_LEDGER_SPEC_VERSION = '0.1.0';
export const CAPABILITY_LEDGER_ID_PREFIX = 'urn:srcos:capability-ledger:';

/**
 * The decision a record cites while no plane has reported a policy decision: the ledger's own precedence rule
 * (precedence.ts). The contract requires a policyDecisionRef on every record, and before the policy plane has
 * decided, the precedence table is the only decision behind the state.
 */
export const PRECEDENCE_DECISION_REF = 'urn:srcos:decision:quittance-capability-precedence-v1';

export interface CapabilityRecordInput {
  localId: string;
  capabilityRef: string;
  sessionRef: string | null;
  declaredBy: readonly Plane[];
  /** The planes taking part: required, optional, policy. */
  negotiatedBy: readonly Plane[];
  planes: Readonly<Partial<Record<Plane, PlaneReport>>>;
  outcome: EffectiveOutcome;
  /** The record this one follows, if any. */
  previousId?: string | undefined;
  capturedAt: string;
}

/**
 * The decision behind a state: for a policy block, the blocking plane's decision (a server enforcing an admin
 * policy names its own); otherwise the policy plane's; before any, the precedence rule.
 */
function decisionRef(input: CapabilityRecordInput): string {
  if (input.outcome.state === 'blocked_by_policy') {
    for (const p of input.outcome.planes) {
      const ref = input.planes[p]?.policyDecisionRef;
      if (ref) return ref;
    }
  }
  return input.planes.policy?.policyDecisionRef ?? PRECEDENCE_DECISION_REF;
}

/**
 * Builds the SourceOS CapabilityLedger record of one effective state and validates it against the contract
 * (schema and semantic rules): the ledger stores nothing its own contract refuses. Evidence is the union of the
 * negotiating planes' current evidence, by reference only.
 */
export function capabilityLedgerRecord(input: CapabilityRecordInput): CapabilityLedgerDocument {
  const evidence = new Set<string>();
  for (const p of input.negotiatedBy) for (const ref of input.planes[p]?.evidenceRefs ?? []) evidence.add(ref);
  const doc: CapabilityLedgerDocument = {
    id: CAPABILITY_LEDGER_ID_PREFIX + input.localId,
    type: 'CapabilityLedger',
    specVersion: CAPABILITY_LEDGER_SPEC_VERSION,
    capabilityRef: input.capabilityRef,
    sessionRef: input.sessionRef,
    declaredBy: [...input.declaredBy],
    negotiatedBy: [...input.negotiatedBy],
    effectiveState: input.outcome.state,
    stateReason: input.outcome.reason,
    policyDecisionRef: decisionRef(input),
    evidenceRefs: [...evidence].sort(),
    capturedAt: input.capturedAt,
  };
  if (input.previousId !== undefined) doc.causalRefs = [input.previousId];
  assertValidDocument(doc, { schema: 'CapabilityLedger' });
  return doc;
}
