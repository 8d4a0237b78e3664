/**
 * The receipts a lease-bound write appends, built in one place: once for the write, and again (fencedInTx) to
 * recognise the same request sent again after its answer was lost.
 */
import { LEDGER_PRINCIPAL, type Principal, type Receipt, type ReceiptInput } from '../ledger/types.js';
import { isoTime } from '../clock.js';
import type { Tx } from '../store/types.js';
import type { CompleteInput, LeaseRow, TaskRow } from './types.js';

export function workerOf(lease: LeaseRow): Principal {
  return { kind: 'worker', id: lease.worker_id };
}

/**
 * How a lease-bound write knows itself sent again (its answer lost) once its lease has ended (see fencedInTx): a write
 * that ends the lease asks whether `ended`, the receipt that ended it, is what this request would have written; a
 * write under the lease (start, progress) names the receipt it writes, found by its hash if it was stored; a renewal
 * asks whether it is the lease's last renewal, already written (it cannot answer for a lease that has ended, but it is
 * no stale write either).
 */
export type Resent =
  | { ended: (ended: Receipt, task: TaskRow, lease: LeaseRow) => boolean }
  | { writes: (task: TaskRow, lease: LeaseRow) => ReceiptInput }
  | { renewed: (tx: Tx, lease: LeaseRow) => Promise<boolean> };

/** The task.started a start writes (as `completion`). */
export function started(task: TaskRow, lease: LeaseRow): ReceiptInput {
  return {
    type: 'task.started', from: workerOf(lease), to: task.created_by, task_id: task.task_id, lease_id: lease.lease_id,
    parents: [lease.granted_receipt_id], body: { attempt: lease.attempt },
  };
}

/** The task.progress a progress report writes (as `completion`). */
export function progressed(task: TaskRow, lease: LeaseRow, progress: Record<string, unknown> | undefined): ReceiptInput {
  return {
    type: 'task.progress', from: workerOf(lease), to: task.created_by, task_id: task.task_id, lease_id: lease.lease_id,
    parents: [lease.granted_receipt_id], body: { attempt: lease.attempt, progress: progress ?? {} },
  };
}

/**
 * The lease.renewed a renewal writes, `lease` as the renewal leaves it (its count and expiry), `ttl` the TTL it asked:
 * built once for the write, and again to recognise its resend (the same renewal number asking the same TTL).
 */
export function renewed(lease: LeaseRow, ttl: number): ReceiptInput {
  return {
    type: 'lease.renewed', from: workerOf(lease), to: LEDGER_PRINCIPAL, task_id: lease.task_id, lease_id: lease.lease_id,
    parents: [lease.granted_receipt_id], body: { renewal: lease.renewals, ttl_seconds: ttl, expires_at: isoTime(lease.expires_at) },
  };
}

/** The task.completed a completion writes: built once for the write, and again to recognise its resend. */
export function completion(task: TaskRow, lease: LeaseRow, input: CompleteInput): ReceiptInput {
  return {
    type: 'task.completed', from: workerOf(lease), to: task.created_by, task_id: task.task_id, lease_id: lease.lease_id,
    parents: [task.assigned_receipt_id, lease.granted_receipt_id],
    body: { attempt: lease.attempt, ...(input.result_summary !== undefined && { result_summary: input.result_summary }) },
    ...(input.artifacts !== undefined && { artifacts: input.artifacts }),
    ...(input.delivery_proof !== undefined && { delivery_proof: input.delivery_proof }),
  };
}

/** The lease.released a release writes (as `completion`). */
export function released(lease: LeaseRow, reason: string | undefined): ReceiptInput {
  return {
    type: 'lease.released', from: workerOf(lease), to: LEDGER_PRINCIPAL, task_id: lease.task_id, lease_id: lease.lease_id,
    parents: [lease.granted_receipt_id], body: { attempt: lease.attempt, ...(reason !== undefined && { reason }) },
  };
}
