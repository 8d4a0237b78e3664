/** Shapes of the sessions and orphan-event API (DESIGN §7), as the client sees them. */
import type { OrphanEventReceipt } from '../contracts/types.js';
import type { Principal, Receipt } from '../ledger/types.js';
import type { EventInput, OrphanState, SessionOpenInput, SessionRow } from '../sessions/types.js';

export type { EventInput, OrphanState, SessionOpenInput };

/** A session as the API shows it: the stored session without its tenant (src/sessions/view.ts). */
export type SessionView = Omit<SessionRow, 'tenant_id'>;

/** What reconciliation did while a session opened, changed or closed, or an event attached. */
export interface Reconciliation {
  recovered: { event_id: string; orphan_id: string; session_id: string; node_receipt_id: string; recovered_receipt_id: string; matched: string[] }[];
  ambiguous: { event_id: string; orphan_id: string; candidates: string[] }[];
}

export interface SessionAnswer {
  status: 'created' | 'existing' | 'updated' | 'unchanged' | 'closed' | 'already_closed';
  session: SessionView;
  receipt: Receipt | null;
  reconciliation: Reconciliation;
}

export interface DagNode {
  event_id: string;
  event_class: EventInput['event_class'];
  receipt_id: string;
  parent_id: string | null;
  correlation: { conversation_id: string | null; workspace_ref: string | null; task_ref: string | null };
  payload_digest: string | null;
  observed_at: string;
  attached_at: string;
  orphan_id: string | null;
}

export interface DagEdge {
  event_id: string;
  parent_id: string;
  receipt_id: string;
  parent_receipt_id: string | null;
  parent_session_id: string | null;
}

export interface SessionDag {
  session: SessionView;
  nodes: DagNode[];
  edges: DagEdge[];
  cursor: string | null;
}

export interface OrphanView {
  orphan_id: string;
  event_id: string;
  event_class: EventInput['event_class'];
  state: OrphanState;
  session_id: string | null;
  parent_id: string | null;
  correlation: { conversation_id: string | null; workspace_ref: string | null; task_ref: string | null };
  payload_digest: string | null;
  candidates: string[];
  observed_at: string;
  expires_at: string;
  resolved_at: string | null;
  queued_receipt_id: string;
  resolution_receipt_id: string | null;
  node_receipt_id: string | null;
  recovered_session_id: string | null;
  duplicate_of: string | null;
  document: OrphanEventReceipt;
}

/** The answer to one event: attached (201), queued (202), duplicate or discarded_duplicate (200). */
export interface EventAnswer {
  status: 'attached' | 'queued' | 'duplicate' | 'discarded_duplicate';
  event_id: string;
  receipt: Receipt;
  session_id?: string;
  matched?: string[];
  orphan?: OrphanView;
  queued_receipt?: Receipt;
  duplicate_of?: { orphan_id: string; state: OrphanState };
  reconciliation?: Reconciliation;
}

/** One item of a batch answer: the event's answer, or its coded refusal. */
export type EventBatchItem = (EventAnswer & { statusCode: number; error?: undefined }) | { statusCode: number; error: { code: string; message: string } };
