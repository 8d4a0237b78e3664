/**
 * The receipt-type registry and termination table (DESIGN §3), as data. Every rule that asks "is this an
 * obligation?", "may X close Y?" or "who may write this type?" reads this table; nothing else hard-codes types.
 */

export type ReceiptRole = 'obligation' | 'terminator' | 'event';

export interface ReceiptTypeSpec {
  role: ReceiptRole;
  /** For terminators: the obligation types it may close. */
  closes?: readonly string[];
  /** A success terminator without artifacts or delivery_proof closes nothing (DESIGN §2 rule 4). */
  success?: boolean;
  /**
   * Which part of Quittance writes this type. 'any' types may be appended by clients through POST /v1/receipts;
   * the others are written only by that engine, which keeps its own projections (tasks, stamps, ...) in step.
   */
  writer: 'any' | 'ledger' | 'tasks' | 'stamps' | 'sessions' | 'capabilities' | 'automation' | 'workspace' | 'runtime' | 'contracts';
  /**
   * For an obligation type clients may write: the engine that keeps the ones it wrote itself (a task.assigned of a
   * task queued through POST /v1/tasks). Those, like every obligation of an engine-written type, are closed only by
   * that engine.
   */
  keptBy?: ReceiptTypeSpec['writer'];
  description: string;
}

const T = (spec: ReceiptTypeSpec): ReceiptTypeSpec => Object.freeze(spec);

export const RECEIPT_TYPES: Readonly<Record<string, ReceiptTypeSpec>> = Object.freeze({
  // ── obligations ──
  'task.assigned': T({ role: 'obligation', writer: 'any', keptBy: 'tasks', description: 'A unit of work handed to a worker or pool.' }),
  'lease.granted': T({ role: 'obligation', writer: 'tasks', description: 'Time-limited authority of one worker over one task.' }),
  'stamp.minted': T({ role: 'obligation', writer: 'stamps', description: 'A task-scoped credential was issued.' }),
  'session.opened': T({ role: 'obligation', writer: 'sessions', description: 'An agent session was opened by its one owner.' }),
  'automation.started': T({ role: 'obligation', writer: 'automation', description: 'A browser automation session started.' }),
  'orphan.queued': T({ role: 'obligation', writer: 'sessions', description: 'An event arrived for an unknown session and waits for reconciliation.' }),

  // ── terminators ──
  'task.completed': T({ role: 'terminator', closes: ['task.assigned', 'lease.granted'], success: true, writer: 'any', description: 'The work succeeded; artifacts or delivery_proof say where the product is.' }),
  'task.failed': T({ role: 'terminator', closes: ['task.assigned', 'lease.granted'], writer: 'any', description: 'The work failed for good.' }),
  'task.canceled': T({ role: 'terminator', closes: ['task.assigned', 'lease.granted'], writer: 'any', description: 'The work was canceled before it ended.' }),
  'task.escalated': T({ role: 'terminator', closes: ['task.assigned'], writer: 'any', description: 'The work was handed to a person or agent to look at.' }),
  'task.retry_scheduled': T({ role: 'terminator', closes: ['lease.granted'], writer: 'tasks', description: 'A retryable failure ended the lease; the task waits for its next attempt.' }),
  'lease.released': T({ role: 'terminator', closes: ['lease.granted'], writer: 'tasks', description: 'The worker gave the lease back (e.g. on shutdown); no attempt is burned.' }),
  'lease.expired': T({ role: 'terminator', closes: ['lease.granted'], writer: 'tasks', description: 'The lease ran out: lost authority, not failure.' }),
  'stamp.tombstoned': T({ role: 'terminator', closes: ['stamp.minted'], writer: 'stamps', description: 'The stamp was closed: completed, crashed, timeout or revoked.' }),
  'session.closed': T({ role: 'terminator', closes: ['session.opened'], writer: 'sessions', description: 'The session ended.' }),
  'automation.ended': T({ role: 'terminator', closes: ['automation.started'], writer: 'automation', description: 'The automation session ended: revoked, completed or failed.' }),
  'orphan.recovered': T({ role: 'terminator', closes: ['orphan.queued'], writer: 'sessions', description: 'An orphan event was attached to its session.' }),
  'orphan.quarantined': T({ role: 'terminator', closes: ['orphan.queued'], writer: 'sessions', description: 'An orphan event was never reconciled and was quarantined with evidence.' }),
  'orphan.discarded_duplicate': T({ role: 'terminator', closes: ['orphan.queued'], writer: 'sessions', description: 'An orphan event repeated an event_id already seen.' }),

  // ── events: may list parents for linkage, never close anything ──
  'task.accepted': T({ role: 'event', writer: 'any', description: 'A worker accepted the work.' }),
  'task.started': T({ role: 'event', writer: 'any', description: 'The work started.' }),
  'task.progress': T({ role: 'event', writer: 'any', description: 'The work made progress.' }),
  'lease.renewed': T({ role: 'event', writer: 'tasks', description: 'The lease was extended.' }),
  'stamp.rotated': T({ role: 'event', writer: 'stamps', description: 'The stamp credential moved to its next generation.' }),
  'stamp.event': T({ role: 'event', writer: 'stamps', description: 'A gate decision about an action under a stamp: executed, denied or error.' }),
  'session.event': T({ role: 'event', writer: 'sessions', description: 'A node of a session DAG.' }),
  'capability.ledger': T({ role: 'event', writer: 'capabilities', description: 'The effective state of a capability changed.' }),
  'automation.action': T({ role: 'event', writer: 'automation', description: 'An action inside a browser automation session.' }),
  'workspace.git_state': T({ role: 'event', writer: 'workspace', description: 'A Git workspace classification.' }),
  'runtime.install': T({ role: 'event', writer: 'runtime', description: 'A runtime install step.' }),
  'contract.object': T({ role: 'event', writer: 'contracts', description: 'A stored, validated SourceOS contract document.' }),
  'receipt.acknowledged': T({ role: 'event', writer: 'any', description: 'A principal acknowledged a receipt.' }),
  'system.anomaly': T({ role: 'event', writer: 'ledger', description: 'Something is wrong and someone should look. Never discharges anything.' }),
});

/**
 * Anomaly kinds (an open set; each one documented here). Only the ledger writes anomalies (appendAnomaly takes one of
 * these), so these are all the kinds there are: GET /v1/anomalies?kind= takes one of them.
 */
const KINDS = {
  success_without_locatability: 'A success terminator had neither artifacts nor delivery_proof; its parent obligations stay open.',
  missing_tombstone: "A stamp's TTL passed with no tombstone: ambiguous, flagged for investigation.",
  repeated_lease_expiry: 'A task lost its lease more than max_lease_expiries times and was escalated.',
  max_attempts_exceeded: 'A task failed on its last allowed attempt.',
  stale_lease_write: 'A write arrived under an expired or superseded lease and was refused.',
  capability_split_brain: 'A surface claimed a capability enabled while its effective state is something else.',
  orphan_quarantined: 'An event never found its session and was quarantined.',
  action_after_revocation: 'An action was reported in an automation session after it was revoked.',
  chain_break: "A tenant's hash chain does not verify.",
  evidence_corrupt: 'Evidence failed verification on read (bytes missing, or not the size or digest that was put); reads of it are refused until the bytes are put again.',
} as const;
export type AnomalyKind = keyof typeof KINDS;
export const ANOMALY_KINDS: Readonly<Record<string, string>> = Object.freeze({ ...KINDS });

export function receiptTypeSpec(type: string): ReceiptTypeSpec | undefined {
  return Object.prototype.hasOwnProperty.call(RECEIPT_TYPES, type) ? RECEIPT_TYPES[type] : undefined;
}

export function isObligationType(type: string): boolean {
  return receiptTypeSpec(type)?.role === 'obligation';
}

export function isTerminatorType(type: string): boolean {
  return receiptTypeSpec(type)?.role === 'terminator';
}

/** May a receipt of type `terminator` close an obligation of type `obligation`? */
export function canTerminate(terminator: string, obligation: string): boolean {
  return receiptTypeSpec(terminator)?.closes?.includes(obligation) ?? false;
}

/** The terminator types legal for an obligation type, in registry order. */
export function legalTerminators(obligation: string): string[] {
  return Object.entries(RECEIPT_TYPES)
    .filter(([, s]) => s.closes?.includes(obligation))
    .map(([t]) => t);
}

export function isSuccessTerminator(type: string): boolean {
  return receiptTypeSpec(type)?.success === true;
}
