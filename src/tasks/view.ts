import { isoTime } from '../clock.js';
import type { TaskRow } from './types.js';

/** A task as the API shows it: times as RFC 3339, internal ordering fields left out. */
export function taskView(t: TaskRow): Record<string, unknown> {
  return {
    task_id: t.task_id,
    type: t.type,
    status: t.status,
    priority: t.priority,
    attempt: t.attempt,
    max_attempts: t.max_attempts,
    lease_expiries: t.lease_expiries,
    max_lease_expiries: t.max_lease_expiries,
    claims: t.claims,
    requirements: { capabilities: t.capabilities },
    payload: t.payload,
    payload_ref: t.payload_ref,
    retry_backoff_seconds: t.retry_backoff_seconds,
    next_eligible_at: isoTime(t.next_eligible_at),
    idempotency_key: t.idempotency_key,
    created_by: t.created_by,
    assigned_to: t.assigned_to,
    assigned_receipt_id: t.assigned_receipt_id,
    lease_id: t.lease_id,
    outcome: t.outcome,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}
