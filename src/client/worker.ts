import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { QuittanceClient, type AppendAnswer, type Completion, type LeaseGrant } from './client.js';
import { QuittanceClientError, isRefusal } from './http.js';
import { UNSTORABLE_CHARACTERS, atMostCharacters } from '../text.js';
import { firstRenewalDelayMs, nextLeaseTtl, nextRenewalDelayMs } from './lease-timing.js';

export { nextLeaseTtl };

export interface Job {
  task_id: string;
  type: string;
  payload: Record<string, unknown> | null;
  payload_ref: string | null;
  attempt: number;
  /** The task-scoped credential minted with the lease, when the server has stamps. */
  stamp?: LeaseGrant['stamp'];
  /** Aborted when the lease is lost (expired, canceled) or the worker stops: stop and drop the result. */
  signal: AbortSignal;
  /**
   * Records a task.progress receipt (also counts as a heartbeat). One that gets no answer is sent again while the lease
   * is held; a refusal, or the lease lost meanwhile, is thrown.
   */
  progress(p: Record<string, unknown>): Promise<void>;
}

/** Throw one of these (or any error with `retryable: false`) to fail the task for good. */
export class PermanentError extends Error {
  readonly retryable = false;
}

export interface WorkerOptions {
  url: string;
  key: string;
  /** How many tasks run at once (a whole number, at least 1); claims ask for the free slots in one call. */
  concurrency?: number;
  capabilities?: string[];
  acceptTypes?: string[];
  workerId?: string;
  leaseTtlSeconds?: number;
  /**
   * The longest TTL a renewal asks for (default: no limit of the worker's own; the server's longest applies). Renewals
   * grow the TTL so that a long job keeps its lease (see nextLeaseTtl), which slows crash detection for it; set this to
   * leaseTtlSeconds to keep detection at that TTL, and a job then has the server's renewals (10) to finish in.
   */
  leaseTtlMaxSeconds?: number;
  /** Idle wait between empty claims (grows ×2 up to 1 s). */
  pollMs?: number;
  /** Release held leases and stop on SIGTERM/SIGINT, then end the process as the signal does (default true). */
  handleSignals?: boolean;
  handler: (job: Job) => Promise<Completion>;
  onError?: (err: unknown, context: { task_id?: string; phase: string }) => void;
}

export interface Worker {
  readonly workerId: string;
  /** Stops claiming; releases (default) or finishes the leases held; resolves when nothing is held. */
  stop(options?: { release?: boolean }): Promise<void>;
  /**
   * Resolves when the worker has stopped; rejects, once it has given back what it held, when the server refused a
   * claim (a wrong key or scope, a lease TTL or concurrency outside the server's limits): asking again would be
   * refused again, and a worker that idled on reporting it looked like one with nothing to do.
   */
  readonly done: Promise<void>;
  /** Tasks completed, failed and released so far. */
  readonly stats: { completed: number; failed: number; released: number; lost: number };
}

interface Held {
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

/** Every worker's listener for SIGTERM and SIGINT (see createWorker): any other listener is the program's own. */
const workerSignalListeners = new Set<(signal: 'SIGTERM' | 'SIGINT') => void>();
/** Workers still stopping on a signal: the last of them to stop ends the process. */
let stoppingOnSignal = 0;
const programListeners = (signal: 'SIGTERM' | 'SIGINT') => process.listeners(signal).filter((l) => !workerSignalListeners.has(l as never)).length;

/** Most tasks one claim may ask for (POST /v1/leases/claim, max_tasks ≤ 100): a claim for more is a 400. */
const CLAIM_MAX_TASKS = 100;
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

/**
 * A worker: claims in batches (sending a claim again, by its claim_id, until it is answered), renews each lease at about a third of its TTL, completes with the artifacts the
 * handler returns (sending the completion again until it arrives), fails (retryable unless the error says
 * otherwise) when the handler throws, and on SIGTERM releases what it holds so nothing waits for a lease to run out.
 */
export function createWorker(options: WorkerOptions): Worker {
  const client = new QuittanceClient({ url: options.url, key: options.key });
  const concurrency = options.concurrency ?? 1;
  // A concurrency of 0 (or below) never claimed and never said why; a fraction made every claim a 400 (max_tasks).
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number of at least 1, not ${concurrency}`);
  const ttl = options.leaseTtlSeconds ?? 120;
  const ttlMax = options.leaseTtlMaxSeconds ?? Infinity;
  if (!(ttlMax >= ttl)) throw new RangeError(`leaseTtlMaxSeconds must be at least leaseTtlSeconds (${ttl}), not ${options.leaseTtlMaxSeconds}`);
  const workerId = options.workerId ?? `worker-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const held = new Map<string, Held>();
  const stats = { completed: 0, failed: 0, released: 0, lost: 0 };
  const report = options.onError ?? (() => undefined);
  let stopping = false;
  let releaseOnStop = true;
  /** The refusal of a claim that stopped the worker (see Worker.done). */
  let refused: { error: unknown } | undefined;
  let wake: (() => void) | undefined;

  const leaseLost = (e: unknown) => e instanceof QuittanceClientError && e.code === 'QUITTANCE_ERR_LEASE_LOST';
  /** The server will renew this lease no more (its renewal count or lifetime is spent): it ends at its expiry. */
  const renewalsSpent = (e: unknown) => e instanceof QuittanceClientError
    && (e.code === 'QUITTANCE_ERR_LEASE_RENEWAL_LIMIT' || e.code === 'QUITTANCE_ERR_LEASE_LIFETIME_LIMIT');

  /**
   * Whether renewals carry their number: a server from before `renewal` refuses it as an unknown property (a 400), and
   * renewals go without it until a server answers one with its `status` (which such a server does not send): the
   * server upgraded meanwhile, or another node behind the same address. Left unnumbered for good, a worker that once
   * met an old node renewed twice on every lost answer for as long as it ran.
   */
  let numbered = true;
  const renewalUnknown = (e: unknown) => e instanceof QuittanceClientError && e.code === 'QUITTANCE_ERR_VALIDATION'
    && /renewal|additional propert/.test(e.message);

  const stopTimers = (h: Held) => {
    clearTimeout(h.renewTimer);
    clearTimeout(h.expiryTimer);
  };

  const finish = (g: LeaseGrant) => {
    const h = held.get(g.lease_id);
    if (h) stopTimers(h);
    held.delete(g.lease_id);
    wake?.();
  };

  /**
   * Sends a report that ends the lease (completion, failure), once the renewal on its way, if any, has been answered:
   * sent beside it, the report could commit first, and the renewal then reached an ended lease, a 409 and a
   * stale_lease_write anomaly on a task its worker had just finished. Renewals due meanwhile wait (scheduleRenewal).
   */
  const ending = <T>(h: Held, send: () => Promise<T>): Promise<T> => {
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
  };

  /**
   * Reports the task failed: retryable unless the error says `retryable: false` (PermanentError). A report that may
   * not have arrived (no answer, a 5xx, a 408 or 429) is sent again, with backoff, while the lease is held, as a
   * completion is (a resend of one that arrived answers the stored one): dropped, it left the task leased and idle
   * until its lease ran out (up to a whole TTL), then run again as a lease expiry, a step towards escalation.
   */
  const fail = async (h: Held, e: unknown) => {
    const { grant: g, controller: { signal } } = h;
    const retryable = !(e && typeof e === 'object' && (e as { retryable?: unknown }).retryable === false);
    const text = failureText(e);
    for (let backoffMs = 100; !signal.aborted; backoffMs = Math.min(backoffMs * 2, 5000)) {
      try {
        await ending(h, () => client.fail(g.task_id, g, text, retryable));
        h.ended = true;
        stats.failed++;
        return;
      } catch (e2) {
        // The lease was lost meanwhile (canceled, expired): the task is counted lost, as a lease lost under the job is.
        if (leaseLost(e2)) return lose(h, 'lease lost');
        report(e2, { task_id: g.task_id, phase: 'fail' });
        if (isRefusal(e2)) return;
        await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
      }
    }
  };

  /**
   * Delivers the handler's result. One that may not have arrived (no answer, a 5xx, a 408 or 429) is sent again, with backoff,
   * for as long as the lease is held: failing the task instead would burn an attempt on work that succeeded, and a
   * completion that did arrive answers the stored one when resent. Once the lease has run out (the server is
   * unreachable and renewals failed too) it stops: the lease expires and the task is requeued, attempt untouched.
   * One the server refuses (4xx), or stores without closing anything (202: neither artifacts nor delivery_proof),
   * is the handler's fault: the task fails, as it would if the handler had thrown.
   */
  const deliver = async (h: Held, completion: Completion) => {
    const { grant: g, controller: { signal } } = h;
    // Until the lease is lost: armExpiry aborts the signal when it runs out here.
    for (let backoffMs = 100; !signal.aborted; backoffMs = Math.min(backoffMs * 2, 5000)) {
      let answer: AppendAnswer;
      try {
        answer = await ending(h, () => client.complete(g.task_id, g, completion));
      } catch (e) {
        if (leaseLost(e)) return lose(h, 'lease lost');
        // Only a refusal fails the task (isRefusal: not a 408 or 429, which burned attempts on work that succeeded).
        if (isRefusal(e)) return fail(h, e);
        report(e, { task_id: g.task_id, phase: 'complete' });
        // Cut short if the lease is lost or the worker stops (and no listener left behind on the signal).
        await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      if (answer.status === 'not_discharged') return fail(h, new Error('the handler returned neither artifacts nor delivery_proof: its completion closes nothing (LOCATABILITY_MISSING)'));
      h.ended = true;
      stats.completed++;
      return;
    }
  };

  /**
   * Records the job's progress. A report that may not have arrived (no answer, a 5xx, a 408 or 429) is sent again, with
   * backoff, while the lease is held (a report that did arrive answers the stored one). Thrown at the job, a lost answer
   * failed the task as the job's own error: an attempt burned and the retry's backoff waited for work that was going
   * well. A refusal (a 4xx, the lease lost) is thrown at the job, as is any error once the lease is lost or the
   * worker stops.
   */
  const progress = async (h: Held, p: Record<string, unknown>) => {
    const { grant: g, controller: { signal } } = h;
    for (let backoffMs = 100; ; backoffMs = Math.min(backoffMs * 2, 5000)) {
      try {
        await client.progress(g.task_id, g, p);
        return;
      } catch (e) {
        if (isRefusal(e) || signal.aborted) throw e;
        report(e, { task_id: g.task_id, phase: 'progress' });
        await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw e;
      }
    }
  };

  /** Still held and running: not finished, released, lost or stopped (an answer arriving after that changes nothing). */
  const live = (h: Held) => held.get(h.grant.lease_id) === h && !h.controller.signal.aborted;

  /** The lease is gone (expired, canceled, or run out here): the job is told through its signal and counted lost. */
  const lose = (h: Held, why: string) => {
    if (!live(h)) return;
    stopTimers(h);
    stats.lost++;
    h.controller.abort(new Error(why));
  };

  /**
   * Renews `h`'s lease a third of `current` from now (or `delayMs`), asking `current`; then schedules the next one. A
   * renewal that got no answer (none, a 5xx, a 408 or 429) may have arrived: it is sent again soon, with backoff, with the
   * same number and TTL, for as long as the lease is held, and the server renews once. Left for the next one a third
   * later, a renewal lost now and then left the lease to run out; sent again without its number, it renewed twice and
   * spent the lease's renewals and lifetime twice as fast.
   */
  const scheduleRenewal = (h: Held, current: number, delayMs = Math.max(1000, (current * 1000) / 3)) => {
    h.renewTimer = setTimeout(() => {
      // A completion or failure report on its way may end the lease first (see ending): ask again a third later.
      if (h.reporting) return scheduleRenewal(h, current);
      const renewal = h.renewals + 1;
      // A renewal sent again: the lease runs from when it was first sent (the server renewed then, if it got it).
      const asked = h.unanswered?.askedAt ?? Date.now();
      const sentNumbered = numbered;
      (h.renewing = client.renew(h.grant, current, sentNumbered ? renewal : undefined)).then((answer) => {
        // Finished while the renewal was on its way: renewing on would write to a lease that has ended.
        if (!live(h)) return;
        if (!sentNumbered && answer.status !== undefined) numbered = true;
        // The server's count: an unnumbered renewal sent again may have renewed twice, and a number counted here from
        // one instead would be taken for the last renewal resent (renewing nothing) or refused as out of order.
        h.renewals = typeof answer.renewals === 'number' ? answer.renewals : renewal;
        h.unanswered = undefined;
        h.heldUntil = asked + current * 1000;
        armExpiry(h);
        const next = nextLeaseTtl(ttl, current, answer, ttlMax);
        if (next !== undefined) scheduleRenewal(h, next, nextRenewalDelayMs(next, h.heldUntil - Date.now()));
      }, (e: unknown) => {
        // No more renewals of a lease that is gone: a handler deaf to the signal would otherwise have each one
        // refused, filed as a stale_lease_write anomaly and counted lost again, for as long as it ran.
        if (leaseLost(e)) return lose(h, 'lease lost');
        if (!live(h)) return;
        // A server from before `renewal`: renew as it takes it, at once (the refusal renewed nothing), unnumbered from now on.
        if (sentNumbered && renewalUnknown(e)) {
          numbered = false;
          return scheduleRenewal(h, current, 0);
        }
        report(e, { task_id: h.grant.task_id, phase: 'renew' });
        if (!isRefusal(e)) {
          // The same renewal again, asking the same TTL (armExpiry stops this once the lease has run out here).
          const backoffMs = h.unanswered?.backoffMs ?? 100;
          h.unanswered = { askedAt: asked, backoffMs: Math.min(backoffMs * 2, 5000) };
          return scheduleRenewal(h, current, backoffMs);
        }
        // Refused: nothing was renewed.
        h.unanswered = undefined;
        // Limits spent: the lease ends at its expiry (armExpiry tells the job then); asking again changes nothing.
        if (!renewalsSpent(e)) scheduleRenewal(h, current);
      });
    }, delayMs);
  };

  /**
   * A lease that runs out on this machine's clock (no renewal arrived: the server unreachable, the limits spent) is
   * lost: the task goes to another worker, so the job is told to stop rather than run on beside it.
   */
  const armExpiry = (h: Held) => {
    clearTimeout(h.expiryTimer);
    h.expiryTimer = setTimeout(() => lose(h, 'lease ran out'), Math.max(0, h.heldUntil - Date.now()));
  };

  const run = async (g: LeaseGrant, claimedAt: number) => {
    const controller = new AbortController();
    const h: Held = { grant: g, controller, heldUntil: claimedAt + ttl * 1000, renewals: 0 };
    scheduleRenewal(h, ttl, firstRenewalDelayMs(ttl, h.heldUntil - Date.now()));
    armExpiry(h);
    held.set(g.lease_id, h);
    try {
      try {
        await client.start(g.task_id, g);
      } catch (e) {
        if (leaseLost(e)) return lose(h, 'lease lost');
        if (isRefusal(e)) return void (await fail(h, e));
        // Given back by stop() (or lost) while the start was on its way: nothing left to give back.
        if (controller.signal.aborted) return;
        // Nothing ran: give the task back rather than fail it (if this cannot reach the server either, the lease
        // runs out, which burns no attempt either).
        report(e, { task_id: g.task_id, phase: 'start' });
        // Renewed no more (stop() has nothing to give back either), and once the renewal on its way, if any, has been
        // answered: sent beside it, the release could commit first and the renewal land on the released lease, a 409
        // and a stale_lease_write anomaly on a task its worker had just given back in good order.
        // stop() meanwhile waits for this release (h.ending) rather than giving the lease back itself.
        controller.abort(new Error('worker could not start it'));
        stopTimers(h);
        await (h.ending = (async () => {
          await h.renewing?.catch(() => undefined);
          await client.release(g.task_id, g, 'worker could not start it').then(() => void stats.released++, () => undefined);
        })());
        return;
      }
      // Stopped (the lease given back) or lost while the start was on its way: the task is another worker's to run.
      if (controller.signal.aborted) return;
      let completion: Completion;
      try {
        completion = await options.handler({
          task_id: g.task_id, type: g.type, payload: g.payload, payload_ref: g.payload_ref, attempt: g.attempt,
          ...(g.stamp && { stamp: g.stamp }), signal: controller.signal,
          progress: (p) => progress(h, p),
        });
      } catch (e) {
        // A handler's error, or one of its progress reports'.
        if (leaseLost(e)) lose(h, 'lease lost');
        else if (!controller.signal.aborted) await fail(h, e);
        return;
      }
      await deliver(h, completion);
    } finally {
      finish(g);
    }
  };

  const loop = async () => {
    let idle = options.pollMs ?? 200;
    /**
     * A claim that was sent more than once (no answer came at first) and answered with nothing: a send of it that got
     * no answer may still be on its way, overtaken by the resend, and lease tasks when it lands. The next claims reuse
     * its claim_id (for a third of the lease TTL from its first send), so they answer what that one leased. With a new
     * claim_id they did not, and those leases were held by nobody until their TTL ran out.
     */
    let overtaken: { claimId: string; firstSentAt: number } | undefined;
    while (!stopping) {
      const free = concurrency - held.size;
      if (free <= 0) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      let grants: LeaseGrant[] = [];
      const reuse = overtaken && Date.now() - overtaken.firstSentAt < (ttl * 1000) / 3 ? overtaken : undefined;
      overtaken = undefined;
      let resent = false;
      // Before the first send (of the claim_id, when reused): the leases a resend answers were granted no earlier.
      const claimedAt = reuse?.firstSentAt ?? Date.now();
      const ask = {
        // A concurrency over the claim limit fills its slots over several claims.
        worker_id: workerId, max_tasks: Math.min(free, CLAIM_MAX_TASKS), lease_ttl_seconds: ttl, claim_id: reuse?.claimId ?? randomUUID(),
        ...(options.capabilities && { capabilities: options.capabilities }), ...(options.acceptTypes && { accept_types: options.acceptTypes }),
      };
      // A claim that may have been granted with its answer lost (no answer, a 5xx, a 408 or 429) is sent again as it
      // was: its claim_id gets the leases it granted, with new tokens. A new claim instead left them to run out (a
      // whole TTL each, counted as a lease expiry, a step towards escalation).
      for (let backoffMs = 100; ; backoffMs = Math.min(backoffMs * 2, 5000)) {
        try {
          grants = await client.claim(ask);
          break;
        } catch (e) {
          if (isRefusal(e)) {
            refused = { error: e };
            stopping = true;
            break;
          }
          report(e, { phase: 'claim' });
          resent = true;
          if (!stopping) {
            await new Promise<void>((r) => {
              const t = setTimeout(r, backoffMs);
              wake = () => (clearTimeout(t), r());
            });
          }
          // Stopped (while the claim was on its way, or meanwhile): sent once more, so that what it granted is
          // released, not left to run out. Giving up on it at once left those leases for their whole TTL.
          if (stopping) {
            grants = await client.claim(ask).catch(() => []);
            break;
          }
        }
      }
      if (stopping) {
        for (const g of grants) await client.release(g.task_id, g, 'worker stopping').catch(() => undefined);
        break;
      }
      for (const g of grants) void run(g, claimedAt);
      if (grants.length === 0 && (resent || reuse)) overtaken = { claimId: ask.claim_id, firstSentAt: claimedAt };
      if (grants.length === 0) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, idle);
          wake = () => (clearTimeout(t), r());
        });
        idle = Math.min(idle * 2, 1000);
      } else idle = options.pollMs ?? 200;
    }
    // Stopping: give back what is held (or let it finish), then wait until nothing is.
    if (releaseOnStop) {
      await Promise.all([...held.values()].map(async (h) => {
        // A completion or failure report on its way may end the lease: a release beside it would race it (the
        // report refused as LEASE_LOST, the work done for nothing, or the release refused as a stale write).
        if (h.ending) await h.ending.catch(() => undefined);
        // Aborted already: its lease is lost, nothing to give back (a release would be one more stale write).
        // Ended by its report: nothing to give back either.
        const lost = h.controller.signal.aborted || h.ended === true;
        h.controller.abort(new Error('worker stopping'));
        stopTimers(h);
        if (lost) return void held.delete(h.grant.lease_id);
        // A renewal on its way would reach the released lease after the release: a 409 and a stale_lease_write.
        await h.renewing?.catch(() => undefined);
        try {
          await client.release(h.grant.task_id, h.grant, 'worker stopping');
          stats.released++;
        } catch (e) {
          if (!leaseLost(e)) report(e, { task_id: h.grant.task_id, phase: 'release' });
        }
        held.delete(h.grant.lease_id);
      }));
    }
    while (held.size > 0) await new Promise<void>((r) => (wake = r));
    if (refused) throw refused.error;
  };

  /**
   * SIGTERM or SIGINT: stop, giving back what is held, then end the process as the signal would have. Listening took
   * the signal's default away, so the process lived on after the release for as long as anything kept it busy: a job
   * that does not heed job.signal worked on (its result dropped) and held a terminated worker up to its end. A program
   * with its own listener for the signal (before the worker's, or after it, or by the time it has stopped) decides that
   * itself; with several workers in the process, the last of them to stop ends it. A second signal ends it at once.
   */
  const listenedBefore = { SIGTERM: programListeners('SIGTERM'), SIGINT: programListeners('SIGINT') };
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => {
    const programListens = listenedBefore[signal] > 0 || programListeners(signal) > 0;
    stoppingOnSignal++;
    void worker.stop().then(() => {
      if (--stoppingOnSignal === 0 && !programListens && programListeners(signal) === 0) process.kill(process.pid, signal);
    });
  };
  if (options.handleSignals !== false) {
    workerSignalListeners.add(onSignal);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  const done = loop().finally(() => {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    workerSignalListeners.delete(onSignal);
  });

  const worker: Worker = {
    workerId,
    stats,
    done,
    async stop(opts = {}) {
      releaseOnStop = opts.release ?? true;
      stopping = true;
      wake?.();
      // A worker a refused claim stopped has stopped: done says why, stop() does not throw it again.
      await done.catch(() => undefined);
    },
  };
  return worker;
}
