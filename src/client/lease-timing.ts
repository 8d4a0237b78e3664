/** When the SDK worker renews a lease, and for how long, and how it spaces resends (src/client/worker.ts, held-leases.ts). */
import type { LeaseRenewal } from './client.js';

/**
 * The TTL to ask for at the next renewal, given the answer to the last one (asked with `current`), or undefined when
 * the lease may be renewed no more. Renewals come at a third of the TTL and the server allows a lease only so many
 * (10) and so long a life (2 h): renewing a 120 s lease every 40 s spent them in under 9 minutes, and a longer job
 * lost its lease mid-run, came round again and again, and escalated. So the TTL doubles at each renewal while the
 * renewals left, spent at a third of each TTL, would not reach the lifetime limit; it never goes below the worker's
 * own TTL (crash detection stays as fast as asked while the renewals can afford it), nor past `max` (the worker's
 * leaseTtlMaxSeconds), the server's longest or the lifetime left. With the defaults a job can run 100 minutes; crash
 * detection for one that has run 10 minutes takes up to 30.
 */
export function nextLeaseTtl(base: number, current: number, answer: LeaseRenewal, max = Infinity): number | undefined {
  // A server that does not say what is left: renew as asked, as before.
  if ((answer as Partial<LeaseRenewal>).renewals_left === undefined) return current;
  if (answer.renewals_left < 1) return undefined;
  // The next renewal comes a third of `current` after the server granted this one (its clock: expires_at − current).
  const nextAt = Date.parse(answer.expires_at) - current * 1000 + (current * 1000) / 3;
  const lifeLeft = (Date.parse(answer.renewable_until) - nextAt) / 1000 - 1;
  const needed = Math.ceil((3 * lifeLeft) / (answer.renewals_left + 2));
  const ttl = Math.min(Math.max(base, Math.min(current * 2, needed)), max, answer.lease_ttl_seconds_max, Math.floor(lifeLeft));
  return ttl >= Math.min(base, 5) ? ttl : undefined;
}

/**
 * When a lease's first renewal is sent, `leftMs` after its claim was answered (on this machine's clock, from when the
 * claim was first sent): a third of the TTL, or a third of what is left when that is less. A claim answered late
 * (sent again after a lost answer, or slow) has used some of the lease already, and renewing a third of the TTL after
 * the answer came after the lease had run out.
 */
export function firstRenewalDelayMs(ttl: number, leftMs: number): number {
  return Math.min(Math.max(1000, (ttl * 1000) / 3), Math.max(0, leftMs / 3));
}

/**
 * When the renewal after one just answered is sent (asking `next`), `leftMs` before the lease it renewed runs out: a
 * third of `next`, as a rule (two thirds into the lease when the TTL doubles), but no later than two thirds of what
 * is left. A renewal answered late (sent again after a lost answer) left less, and the next one came after the lease
 * had run out.
 */
export function nextRenewalDelayMs(next: number, leftMs: number): number {
  return Math.min(Math.max(1000, (next * 1000) / 3), Math.max(0, (leftMs * 2) / 3));
}

/**
 * Resends of a request whose answer may have been lost (no answer, a 5xx, a 408 or 429): the first after 100 ms, each
 * wait twice the last, at most 5 s. One schedule for claims, renewals, progress, completions and failure reports.
 */
export const RESEND_FIRST_MS = 100;
export const nextResendMs = (ms: number) => Math.min(ms * 2, 5000);
