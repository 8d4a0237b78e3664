import { randomUUID } from 'node:crypto';
import { QuittanceClient, type Completion, type LeaseGrant } from './client.js';
import { isRefusal } from './http.js';
import { RESEND_FIRST_MS, firstRenewalDelayMs, nextLeaseTtl, nextResendMs } from './lease-timing.js';
import { HeldLeases, leaseLost, type Held } from './held-leases.js';

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

/** Every worker's listener for SIGTERM and SIGINT (see createWorker): any other listener is the program's own. */
const workerSignalListeners = new Set<(signal: 'SIGTERM' | 'SIGINT') => void>();
/** Workers still stopping on a signal: the last of them to stop ends the process. */
let stoppingOnSignal = 0;
const programListeners = (signal: 'SIGTERM' | 'SIGINT') => process.listeners(signal).filter((l) => !workerSignalListeners.has(l as never)).length;

/** Most tasks one claim may ask for (POST /v1/leases/claim, max_tasks ≤ 100): a claim for more is a 400. */
const CLAIM_MAX_TASKS = 100;
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
  const report = options.onError ?? (() => undefined);
  const leases = new HeldLeases(client, ttl, ttlMax, report);
  const { held, stats } = leases;
  let stopping = false;
  let releaseOnStop = true;
  /** The refusal of a claim that stopped the worker (see Worker.done). */
  let refused: { error: unknown } | undefined;

  const run = async (g: LeaseGrant, claimedAt: number) => {
    const controller = new AbortController();
    const h: Held = { grant: g, controller, heldUntil: claimedAt + ttl * 1000, renewals: 0 };
    leases.scheduleRenewal(h, ttl, firstRenewalDelayMs(ttl, h.heldUntil - Date.now()));
    leases.armExpiry(h);
    held.set(g.lease_id, h);
    try {
      try {
        await client.start(g.task_id, g);
      } catch (e) {
        if (leaseLost(e)) return leases.lose(h, 'lease lost');
        if (isRefusal(e)) return void (await leases.fail(h, e));
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
        leases.stopTimers(h);
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
          progress: (p) => leases.progress(h, p),
        });
      } catch (e) {
        // A handler's error, or one of its progress reports'.
        if (leaseLost(e)) leases.lose(h, 'lease lost');
        else if (!controller.signal.aborted) await leases.fail(h, e);
        return;
      }
      await leases.deliver(h, completion);
    } finally {
      leases.finish(g);
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
        await new Promise<void>((r) => (leases.wake = r));
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
      for (let backoffMs = RESEND_FIRST_MS; ; backoffMs = nextResendMs(backoffMs)) {
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
              leases.wake = () => (clearTimeout(t), r());
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
          leases.wake = () => (clearTimeout(t), r());
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
        leases.stopTimers(h);
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
    while (held.size > 0) await new Promise<void>((r) => (leases.wake = r));
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
      leases.wake?.();
      // A worker a refused claim stopped has stopped: done says why, stop() does not throw it again.
      await done.catch(() => undefined);
    },
  };
  return worker;
}
