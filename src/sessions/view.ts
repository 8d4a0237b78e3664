/** How sessions, DAG nodes and orphans look in the API: snake_case, RFC 3339 times, no storage details. */
import { isoTime } from '../clock.js';
import type { OrphanRow, SessionEventRow, SessionRow } from './types.js';

export function sessionView(s: SessionRow): Record<string, unknown> {
  return {
    session_id: s.session_id,
    owner: s.owner,
    conversation_id: s.conversation_id,
    workspace_ref: s.workspace_ref,
    task_ref: s.task_ref,
    parent_session_id: s.parent_session_id,
    state: s.state,
    opened_receipt_id: s.opened_receipt_id,
    closed_receipt_id: s.closed_receipt_id,
    last_update_receipt_id: s.last_update_receipt_id,
    opened_at: s.opened_at,
    updated_at: s.updated_at,
    closed_at: s.closed_at,
  };
}

/** A node of a session DAG: the event and the session.event receipt it became. */
export function nodeView(e: SessionEventRow): Record<string, unknown> {
  return {
    event_id: e.event_id,
    event_class: e.event_class,
    receipt_id: e.node_receipt_id,
    parent_id: e.parent_id,
    correlation: { conversation_id: e.conversation_id, workspace_ref: e.workspace_ref, task_ref: e.task_ref },
    payload_digest: e.payload_digest,
    observed_at: e.observed_at,
    attached_at: e.attached_at,
    /** The orphan it was queued as before it was recovered into this session; null when it attached at once. */
    orphan_id: e.orphan_id,
  };
}

export function orphanView(o: OrphanRow): Record<string, unknown> {
  return {
    orphan_id: o.orphan_id,
    event_id: o.event_id,
    event_class: o.event_class,
    state: o.state,
    session_id: o.session_id,
    parent_id: o.parent_id,
    correlation: { conversation_id: o.conversation_id, workspace_ref: o.workspace_ref, task_ref: o.task_ref },
    payload_digest: o.payload_digest,
    candidates: o.candidates,
    observed_at: o.observed_at,
    expires_at: isoTime(o.expires_at),
    resolved_at: o.resolved_at,
    queued_receipt_id: o.queued_receipt_id,
    resolution_receipt_id: o.resolution_receipt_id,
    node_receipt_id: o.node_receipt_id,
    recovered_session_id: o.recovered_session_id,
    duplicate_of: o.duplicate_of,
    document: o.document,
  };
}
