import type { OrphanKey, OrphanRow, SessionEventRow, SessionKey, SessionRow } from '../../sessions/types.js';
import { canonicalize } from '../../ledger/canonical.js';

export const SESSION_COLUMNS = 'tenant_id, session_id, owner, owner_kind, owner_id, conversation_id, workspace_ref, task_ref, parent_session_id, state, opened_receipt_id, closed_receipt_id, last_update_receipt_id, opened_at, updated_at, closed_at';
export const SESSION_EVENT_COLUMNS = 'tenant_id, event_id, event_class, session_id, parent_id, conversation_id, workspace_ref, task_ref, payload_digest, fingerprint, raw_digest, observed_at, deliveries, orphan_id, node_session_id, node_receipt_id, node_seq, attached_at';
export const ORPHAN_COLUMNS = 'tenant_id, orphan_id, seq, queued_receipt_id, event_id, event_class, session_id, parent_id, conversation_id, workspace_ref, task_ref, payload_digest, raw_digest, state, candidates, observed_at, expires_at, resolved_at, resolution_receipt_id, node_receipt_id, recovered_session_id, duplicate_of, document';

/** The key columns open sessions and queued orphans are looked up by. */
export const SESSION_KEY_COLUMNS: readonly SessionKey[] = ['conversation_id', 'workspace_ref', 'task_ref'];
export const ORPHAN_KEY_COLUMNS: readonly OrphanKey[] = ['session_id', 'parent_id', 'conversation_id', 'workspace_ref', 'task_ref'];

export type RawSession = Omit<SessionRow, 'owner'> & { owner: string; owner_kind: string; owner_id: string };
export type RawOrphan = Omit<OrphanRow, 'candidates' | 'document'> & { candidates: string; document: string };

export function sessionToRow(r: SessionRow): unknown[] {
  return [
    r.tenant_id, r.session_id, JSON.stringify(r.owner), r.owner.kind, r.owner.id, r.conversation_id, r.workspace_ref, r.task_ref,
    r.parent_session_id, r.state, r.opened_receipt_id, r.closed_receipt_id, r.last_update_receipt_id, r.opened_at, r.updated_at, r.closed_at,
  ];
}

export function rowToSession(raw: RawSession): SessionRow {
  const { owner_kind: _k, owner_id: _i, ...rest } = raw;
  return { ...rest, owner: JSON.parse(raw.owner) as SessionRow['owner'] };
}

export function sessionEventToRow(e: SessionEventRow): unknown[] {
  return [
    e.tenant_id, e.event_id, e.event_class, e.session_id, e.parent_id, e.conversation_id, e.workspace_ref, e.task_ref, e.payload_digest,
    e.fingerprint, e.raw_digest, e.observed_at, e.deliveries, e.orphan_id, e.node_session_id, e.node_receipt_id, e.node_seq, e.attached_at,
  ];
}

export function orphanToRow(o: OrphanRow): unknown[] {
  return [
    o.tenant_id, o.orphan_id, o.seq, o.queued_receipt_id, o.event_id, o.event_class, o.session_id, o.parent_id, o.conversation_id,
    o.workspace_ref, o.task_ref, o.payload_digest, o.raw_digest, o.state, JSON.stringify(o.candidates), o.observed_at, o.expires_at,
    o.resolved_at, o.resolution_receipt_id, o.node_receipt_id, o.recovered_session_id, o.duplicate_of, canonicalize(o.document),
  ];
}

export function rowToOrphan(raw: RawOrphan): OrphanRow {
  return { ...raw, candidates: JSON.parse(raw.candidates) as string[], document: JSON.parse(raw.document) as OrphanRow['document'] };
}
