/**
 * The row changes every task write is made of: a task's status (only along the transitions policy.ts allows), a
 * lease's heartbeat and its end. Each runs inside the caller's write, beside the receipt that records it.
 */
import { isoTime } from '../clock.js';
import type { Tx } from '../store/types.js';
import { canTransition } from './policy.js';
import type { LeaseRow, LeaseState, TaskRow, TaskStatus } from './types.js';

export async function setTaskStatus(tx: Tx, task: TaskRow, status: TaskStatus, now: number, changes: Partial<TaskRow>): Promise<void> {
  if (status !== task.status && !canTransition(task.status, status)) {
    throw new Error(`illegal task transition ${task.status} → ${status} for ${task.task_id}`);
  }
  Object.assign(task, changes, { status, updated_at: isoTime(now) });
  await tx.updateTask(task);
}

export async function heartbeat(tx: Tx, lease: LeaseRow, now: number): Promise<void> {
  lease.last_heartbeat_at = now;
  await tx.updateLease(lease);
}

export async function endLease(tx: Tx, lease: LeaseRow, state: LeaseState, now: number): Promise<void> {
  lease.state = state;
  lease.ended_at = now;
  await tx.updateLease(lease);
}
