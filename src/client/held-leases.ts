/**
 * The leases a worker holds (src/client/worker.ts), each with its job: renewed at about a third of what is left of
 * it, sent again when an answer is lost, ended by the job's report (a completion or failure sent until it arrives),
 * and lost when it runs out on this machine's clock or the server says so. The claim loop and stopping stay in
 * worker.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppendAnswer, Completion, LeaseGrant, QuittanceClient } from './client.js';
import { QuittanceClientError, isRefusal } from './http.js';
import { UNSTORABLE_CHARACTERS, atMostCharacters } from '../text.js';
import { RESEND_FIRST_MS, nextLeaseTtl, nextRenewalDelayMs, nextResendMs } from './lease-timing.js';

export interface Held {
  grant: LeaseGrant;
  controller: AbortController;
  /** The next renewal (undefined once the lease may be renewed no more). */
  renewTimer?: NodeJS.Timeout;
  /** Aborts the job when the lease runs out on this machine's clock. */
  expiryTimer?: NodeJS.Timeout;
  /** On this machine's clock: when the lease runs out unless a renewal arrives (asked + TTL, for the claim or the last renewal). */
  heldUntil: number;
  /** The renewal last sent: a completion or failure report waits for it (see ending). */
  renewing?: Promise<unknown>;
  /** Renewals the server has answered (the claim is renewal 0): the next one sent is this plus one. */
  renewals: number;
  /** The renewal not answered yet (no answer, a 5xx, a 408 or 429): when it was first sent, and the wait before it is sent again. */
  unanswered?: { askedAt: number; backoffMs: number };
  /** The completion or failure report on its way, if one is: stop() lets it end the lease rather than release it. */
  ending?: Promise<unknown>;
  /** Whether that report is on its way now: renewals wait. */
  reporting?: boolean;
  /** Set once a completion or failure report has been answered: the lease is over, nothing to give back. */
  ended?: true;
}

/** The server says the lease is gone (expired, canceled, another's): nothing more may be written under it. */
export const leaseLost = (e: unknown) => e instanceof QuittanceClientError && e.code === 'QUITTANCE_ERR_LEASE_LOST';
/** The server will renew this lease no more (its renewal count or lifetime is spent): it ends at its expiry. */
const renewalsSpent = (e: unknown) => e instanceof QuittanceClientError
  && (e.code === 'QUITTANCE_ERR_LEASE_RENEWAL_LIMIT' || e.code === 'QUITTANCE_ERR_LEASE_LIFETIME_LIMIT');

/** A server from before `renewal` refusing it as a property it does not know. */
const renewalUnknown = (e: unknown) => e instanceof QuittanceClientError && e.code === 'QUITTANCE_ERR_VALIDATION'
  && /renewal|additional propert/.test(e.message);

/** The longest error POST /v1/tasks/{id}/fail takes, in characters (code points). */
const FAIL_ERROR_MAX = 8192;

/**
 * The error text a failure reports, as the server takes it: at most 8192 characters, no U+0000, no unpaired
 * surrogate. A message the route refuses (a stack or a response body quoted in it, bytes read as text) made the
 * failure report itself a 400: the task stayed leased until its lease ran out, counted as a crash, not a failure.
 */
function failureText(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e))
    .replace(UNSTORABLE_CHARACTERS, '\uFFFD');
  return atMostCharacters(text, FAIL_ERROR_MAX);
}

export type WorkerErrorReport = (err: unknown, context: { task_id?: string; phase: string }) => void;

export class HeldLeases {
  /** Held leases by lease id. */
  readonly held = new Map<string, Held>();
  readonly stats = { completed: 0, failed: 0, released: 0, lost: 0 };
  /**
   * Whether renewals carry their number: a server from before `renewal` refuses it as an unknown property (a 400), and
   * renewals go without it until a server answers one with its `status` (which such a server does not send): the
   * server upgraded meanwhile, or another node behind the same address. Left unnumbered for good, a worker that once
   * met an old node renewed twice on every lost answer for as long as it ran.
   */
  numbered = true;
  /** Set by the claim loop while it waits: a lease that ends wakes it (a slot is free). */
  wake: (() => void) | undefined;

  constructor(readonly client: QuittanceClient, readonly ttl: number, readonly ttlMax: number, readonly report: WorkerErrorReport) {}

  stopTimers(h: Held) {
    clearTimeout(h.renewTimer);
    clearTimeout(h.expiryTimer);
  }

  finish(g: LeaseGrant) {
    const h = this.held.get(g.lease_id);
    if (h) this.stopTimers(h);
    this.held.delete(g.lease_id);
    this.wake?.();
  }

  /**
   * Sends a report that ends the lease (completion, failure), once the renewal on its way, if any, has been answered:
   * sent beside it, the report could commit first, and the renewal then reached an ended lease, a 409 and a
   * stale_lease_write anomaly on a task its worker had just finished. Renewals due meanwhile wait (scheduleRenewal).
   */
  ending<T>(h: Held, send: () => Promise<T>): Promise<T> {
    const sent = (async () => {
      await h.renewing?.catch(() => undefined);
      h.reporting = true;
      try {
        return await send();
      } finally {
        h.reporting = false;
      }
    })();
    h.ending = sent;
    return sent;
  }

  /**
   * Reports the task failed: retryable unless the error says `retryable: false` (PermanentError). A report that may
   * not have arrived (no answer, a 5xx, a 408 or 429) is sent again, with backoff, while the lease is held, as a
   * completion is (a resend of one that arrived answers the stored one): dropped, it left the task leased and idle
   * until its lease ran out (up to a whole TTL), then run again as a lease expiry, a step towards escalation.
   */
  async fail(h: Held, e: unknown) {
    const { grant: g, controller: { signal } } = h;
    const retryable = !(e && typeof e === 'object' && (e as { retryable?: unknown }).retryable === false);
    const text = failureText(e);
    for (let backoffMs = RESEND_FIRST_MS; !signal.aborted; backoffMs = nextResendMs(backoffMs)) {
      try {
        await this.ending(h, () => this.client.fail(g.task_id, g, text, retryable));
        h.ended = true;
        this.stats.failed++;
        return;
      } catch (e2) {
        // The lease was lost meanwhile (canceled, expired): the task is counted lost, as a lease lost under the job is.
        if (leaseLost(e2)) return this.lose(h, 'lease lost');
        this.report(e2, { task_id: g.task_id, phase: 'fail' });
        if (isRefusal(e2)) return;
        await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /**
   * Delivers the handler's result. One that may not have arrived (no answer, a 5xx, a 408 or 429) is sent again, with backoff,
   * for as long as the lease is held: failing the task instead would burn an attempt on work that succeeded, and a
   * completion that did arrive answers the stored one when resent. Once the lease has run out (the server is
   * unreachable and renewals failed too) it stops: the lease expires and the task is requeued, attempt untouched.
   * One the server refuses (4xx), or stores without closing anything (202: neither artifacts nor delivery_proof),
   * is the handler's fault: the task fails, as it would if the handler had thrown.
   */
  async deliver(h: Held, completion: Completion) {
    const { grant: g, controller: { signal } } = h;
    // Until the lease is lost: armExpiry aborts the signal when it runs out here.
    for (let backoffMs = RESEND_FIRST_MS; !signal.aborted; backoffMs = nextResendMs(backoffMs)) {
      let answer: AppendAnswer;
      try {
        answer = await this.ending(h, () => this.client.complete(g.task_id, g, completion));
      } catch (e) {
        if (leaseLost(e)) return this.lose(h, 'lease lost');
        // Only a refusal fails the task (isRefusal: not a 408 or 429, which burned attempts on work that succeeded).
        if (isRefusal(e)) return this.fail(h, e);
        this.report(e, { task_id: g.task_id, phase: 'complete' });
        // Cut short if the lease is lost or the worker stops (and no listener left behind on the signal).
        await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      if (answer.status === 'not_discharged') return this.fail(h, new Error('the handler returned neither artifacts nor delivery_proof: its completion closes nothing (LOCATABILITY_MISSING)'));
      h.ended = true;
      this.stats.completed++;
      return;
    }
  }

  /**
   * Records the job's progress. A report that may not have arrived (no answer, a 5xx, a 408 or 429) is sent again, with
   * backoff, while the lease is held (a report that did arrive answers the stored one). Thrown at the job, a lost answer
   * failed the task as the job's own error: an attempt burned and the retry's backoff waited for work that was going
   * well. A refusal (a 4xx, the lease lost) is thrown at the job, as is any error once the lease is lost or the
   * worker stops.
   */
  async progress(h: Held, p: Record<string, unknown>) {
    const { grant: g, controller: { signal } } = h;
    for (let backoffMs = RESEND_FIRST_MS; ; backoffMs = nextResendMs(backoffMs)) {
      try {
        await this.client.progress(g.task_id, g, p);
        return;
      } catch (e) {
        if (isRefusal(e) || signal.aborted) throw e;
        this.report(e, { task_id: g.task_id, phase: 'progress' });
        await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw e;
      }
    }
  }

  /** Still held and running: not finished, released, lost or stopped (an answer arriving after that changes nothing). */
  live(h: Held): boolean {
    return this.held.get(h.grant.lease_id) === h && !h.controller.signal.aborted;
  }

  /** The lease is gone (expired, canceled, or run out here): the job is told through its signal and counted lost. */
  lose(h: Held, why: string) {
    if (!this.live(h)) return;
    this.stopTimers(h);
    this.stats.lost++;
    h.controller.abort(new Error(why));
  }

  /**
   * Renews `h`'s lease a third of `current` from now (or `delayMs`), asking `current`; then schedules the next one. A
   * renewal that got no answer (none, a 5xx, a 408 or 429) may have arrived: it is sent again soon, with backoff, with the
   * same number and TTL, for as long as the lease is held, and the server renews once. Left for the next one a third
   * later, a renewal lost now and then left the lease to run out; sent again without its number, it renewed twice and
   * spent the lease's renewals and lifetime twice as fast.
   */
  scheduleRenewal(h: Held, current: number, delayMs = Math.max(1000, (current * 1000) / 3)) {
    h.renewTimer = setTimeout(() => {
      // A completion or failure report on its way may end the lease first (see ending): ask again a third later.
      if (h.reporting) return this.scheduleRenewal(h, current);
      const renewal = h.renewals + 1;
      // A renewal sent again: the lease runs from when it was first sent (the server renewed then, if it got it).
      const asked = h.unanswered?.askedAt ?? Date.now();
      const sentNumbered = this.numbered;
      (h.renewing = this.client.renew(h.grant, current, sentNumbered ? renewal : undefined)).then((answer) => {
        // Finished while the renewal was on its way: renewing on would write to a lease that has ended.
        if (!this.live(h)) return;
        if (!sentNumbered && answer.status !== undefined) this.numbered = true;
        // The server's count: an unnumbered renewal sent again may have renewed twice, and a number counted here from
        // one instead would be taken for the last renewal resent (renewing nothing) or refused as out of order.
        h.renewals = typeof answer.renewals === 'number' ? answer.renewals : renewal;
        h.unanswered = undefined;
        h.heldUntil = asked + current * 1000;
        this.armExpiry(h);
        const next = nextLeaseTtl(this.ttl, current, answer, this.ttlMax);
        if (next !== undefined) this.scheduleRenewal(h, next, nextRenewalDelayMs(next, h.heldUntil - Date.now()));
      }, (e: unknown) => {
        // No more renewals of a lease that is gone: a handler deaf to the signal would otherwise have each one
        // refused, filed as a stale_lease_write anomaly and counted lost again, for as long as it ran.
        if (leaseLost(e)) return this.lose(h, 'lease lost');
        if (!this.live(h)) return;
        // A server from before `renewal`: renew as it takes it, at once (the refusal renewed nothing), unnumbered from now on.
        if (sentNumbered && renewalUnknown(e)) {
          this.numbered = false;
          return this.scheduleRenewal(h, current, 0);
        }
        this.report(e, { task_id: h.grant.task_id, phase: 'renew' });
        if (!isRefusal(e)) {
          // The same renewal again, asking the same TTL (armExpiry stops this once the lease has run out here).
          const backoffMs = h.unanswered?.backoffMs ?? RESEND_FIRST_MS;
          h.unanswered = { askedAt: asked, backoffMs: nextResendMs(backoffMs) };
          return this.scheduleRenewal(h, current, backoffMs);
        }
        // Refused: nothing was renewed.
        h.unanswered = undefined;
        // Limits spent: the lease ends at its expiry (armExpiry tells the job then); asking again changes nothing.
        if (!renewalsSpent(e)) this.scheduleRenewal(h, current);
      });
    }, delayMs);
  }

  /**
   * A lease that runs out on this machine's clock (no renewal arrived: the server unreachable, the limits spent) is
   * lost: the task goes to another worker, so the job is told to stop rather than run on beside it.
   */
  armExpiry(h: Held) {
    clearTimeout(h.expiryTimer);
    h.expiryTimer = setTimeout(() => this.lose(h, 'lease ran out'), Math.max(0, h.heldUntil - Date.now()));
  }
}
