import type { LeaseRow, TaskRow } from '../../tasks/types.js';
import { canonicalize } from '../../ledger/canonical.js';

export const TASK_COLUMNS = 'tenant_id, task_id, type, payload, payload_ref, capabilities, priority, status, attempt, max_attempts, lease_expiries, max_lease_expiries, claims, retry_backoff_seconds, next_eligible_at, idempotency_key, created_by, assigned_to, assigned_receipt_id, queue_seq, lease_id, outcome, created_at, updated_at';
export const LEASE_COLUMNS = 'tenant_id, lease_id, task_id, worker_id, token_hash, granted_receipt_id, attempt, state, granted_at, expires_at, last_heartbeat_at, renewals, stamp_id, ended_at, claim_id, resent_token_hashes';

export type RawTask = Omit<TaskRow, 'payload' | 'capabilities' | 'created_by' | 'assigned_to' | 'outcome'> & {
  payload: string | null; capabilities: string; created_by: string; assigned_to: string; outcome: string | null;
};

export function taskToRow(t: TaskRow): unknown[] {
  return [
    t.tenant_id, t.task_id, t.type, t.payload === null ? null : canonicalize(t.payload), t.payload_ref, JSON.stringify(t.capabilities),
    t.priority, t.status, t.attempt, t.max_attempts, t.lease_expiries, t.max_lease_expiries, t.claims, t.retry_backoff_seconds,
    t.next_eligible_at, t.idempotency_key, JSON.stringify(t.created_by), JSON.stringify(t.assigned_to), t.assigned_receipt_id,
    t.queue_seq, t.lease_id, t.outcome === null ? null : JSON.stringify(t.outcome), t.created_at, t.updated_at,
  ];
}

export function rowToTask(r: RawTask): TaskRow {
  return {
    ...r,
    payload: r.payload === null ? null : (JSON.parse(r.payload) as Record<string, unknown>),
    capabilities: JSON.parse(r.capabilities) as string[],
    created_by: JSON.parse(r.created_by) as TaskRow['created_by'],
    assigned_to: JSON.parse(r.assigned_to) as TaskRow['assigned_to'],
    outcome: r.outcome === null ? null : (JSON.parse(r.outcome) as Record<string, unknown>),
  };
}

export function leaseToRow(l: LeaseRow): unknown[] {
  return [l.tenant_id, l.lease_id, l.task_id, l.worker_id, l.token_hash, l.granted_receipt_id, l.attempt, l.state, l.granted_at, l.expires_at, l.last_heartbeat_at, l.renewals, l.stamp_id, l.ended_at, l.claim_id, l.resent_token_hashes];
}
