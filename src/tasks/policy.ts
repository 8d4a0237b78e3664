/** Pure scheduling rules: no clock reads, no I/O. The engine passes in `now` and randomness. */
import type { TaskStatus } from './types.js';

/** May a worker with `have` capabilities take a task requiring `need`? */
export function hasCapabilities(need: readonly string[], have: ReadonlySet<string>): boolean {
  for (const c of need) if (!have.has(c)) return false;
  return true;
}

/** Delay before attempt `attempt + 1` after a retryable failure of attempt `attempt`: base·2^(attempt−1), capped. */
export function retryDelayMs(attempt: number, baseSeconds: number, capSeconds: number): number {
  const exp = Math.min(attempt - 1, 30);
  return Math.round(Math.min(baseSeconds * 2 ** exp, capSeconds) * 1000);
}

/** A requeue after lease expiry waits only a small jitter: lost authority is not a failure to back off from. */
export function expiryJitterMs(maxMs: number, random: number): number {
  return Math.floor(random * maxMs);
}

/** What a lease expiry does to a task: requeue, or escalate once it happened more than `max` times. */
export function afterLeaseExpiry(leaseExpiriesBefore: number, max: number): { lease_expiries: number; status: TaskStatus } {
  const n = leaseExpiriesBefore + 1;
  return { lease_expiries: n, status: n > max ? 'escalated' : 'queued' };
}

/** What a reported failure does: retry with attempt + 1, or end the task. */
export function afterFailure(attempt: number, maxAttempts: number, retryable: boolean): { status: TaskStatus; attempt: number; exhausted: boolean } {
  if (retryable && attempt < maxAttempts) return { status: 'queued', attempt: attempt + 1, exhausted: false };
  return { status: 'failed', attempt, exhausted: retryable };
}

/** Legal status changes; everything else is a bug the engine refuses to write. */
const TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  queued: ['leased', 'canceled'],
  leased: ['running', 'queued', 'succeeded', 'failed', 'canceled', 'escalated'],
  running: ['queued', 'succeeded', 'failed', 'canceled', 'escalated'],
  succeeded: [],
  failed: [],
  canceled: [],
  escalated: [],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}
