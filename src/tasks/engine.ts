import { QuittanceError, isQuittanceError } from '../errors.js';
import { isoTime } from '../clock.js';
import { canonicalize } from '../ledger/canonical.js';
import { appendAnomaly, type AppendResult } from '../ledger/append.js';
import type { Ledger } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Principal, type Receipt } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import { sweepFailed, sweepWrite } from '../store/sweep-write.js';
import { afterFailure, afterLeaseExpiry, expiryJitterMs, retryDelayMs } from './policy.js';
import { FINAL_STATUSES, type ClaimInput, type CompleteInput, type Created, type FailInput, type LeaseProof, type LeaseRow, type Grant, type LeaseRenewal, type TaskCreateInput, type TaskRow } from './types.js';
import { completion, progressed, released, renewed, started, workerOf, type Resent } from './receipts.js';
import { createInTx, prepareCreate } from './create.js';
import { tokenMatches } from './tokens.js';
import { claimInTx, signedGrants, type LeaseStamps } from './claim.js';
import { endLease, heartbeat, setTaskStatus } from './steps.js';

export type { ClaimInput, CompleteInput, Created, FailInput, Grant, LeaseProof, TaskCreateInput };
export type { LeaseStamp, LeaseStamps } from './claim.js';

/** An outcome of a lease-bound write: the result, or a refusal whose anomaly must still be committed. */
type Fenced<T> = { ok: true; value: T } | { ok: false; error: QuittanceError };

/**
 * The work queue of DESIGN §5. Every change is a receipt appended in the same transaction as the row change, so
 * a task's trace reads as a chain: task.assigned ← lease.granted ← task.started ← … ← task.completed.
 * Lease expiry is lost authority, never a burned attempt.
 */
export class TaskEngine {
  stamps: LeaseStamps | undefined;

  constructor(private readonly ledger: Ledger) {}

  private get store() {
    return this.ledger.store;
  }
  private get config() {
    return this.ledger.config.tasks;
  }
  private now(): number {
    return this.ledger.clock.now();
  }

  // ── creating ─────────────────────────────────────────────────────────────────────────────────────────

  async create(tenantId: string, input: TaskCreateInput, defaultCreator: Principal): Promise<Created> {
    const prepared = prepareCreate(this.config, this.ledger.ctx.newId, input, defaultCreator);
    return this.store.write((tx) => createInTx(this.ledger, tx, tenantId, prepared));
  }

  /** Many tasks in one transaction; each is created (or found, or refused) on its own. */
  async createBatch(tenantId: string, inputs: TaskCreateInput[], defaultCreator: Principal): Promise<({ ok: true; result: Created } | { ok: false; error: QuittanceError })[]> {
    const prepared = inputs.map((input) => {
      try {
        return prepareCreate(this.config, this.ledger.ctx.newId, input, defaultCreator);
      } catch (e) {
        if (isQuittanceError(e)) return e;
        throw e;
      }
    });
    return this.store.write(async (tx) => {
      const out: ({ ok: true; result: Created } | { ok: false; error: QuittanceError })[] = [];
      for (const p of prepared) {
        if (p instanceof QuittanceError) {
          out.push({ ok: false, error: p });
          continue;
        }
        try {
          out.push({ ok: true, result: await tx.atomically(() => createInTx(this.ledger, tx, tenantId, p)) });
        } catch (e) {
          if (!isQuittanceError(e)) throw e;
          out.push({ ok: false, error: e });
        }
      }
      return out;
    });
  }

  // ── claiming ─────────────────────────────────────────────────────────────────────────────────────────

  async claim(tenantId: string, input: ClaimInput): Promise<Grant[]> {
    const c = this.config;
    const max = Math.min(input.max_tasks ?? 1, c.claimMaxTasks);
    const ttl = input.lease_ttl_seconds ?? c.leaseTtlSecondsDefault;
    if (ttl < c.leaseTtlSecondsMin || ttl > c.leaseTtlSecondsMax) {
      throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`lease_ttl_seconds must be between ${c.leaseTtlSecondsMin} and ${c.leaseTtlSecondsMax}`]);
    }
    const granted = await this.store.write((tx) => claimInTx(this.ledger, this.stamps, tx, tenantId, input, max, ttl, this.now()));
    return signedGrants(granted);
  }

  // ── work under a lease ───────────────────────────────────────────────────────────────────────────────

  /**
   * Extends a lease. The answer says what is left of its limits (renewals, lifetime, the longest TTL a renewal may ask),
   * so a worker running a long job can space its renewals to reach the lifetime instead of spending them early.
   * With `renewal` (the number this renewal will be: the renewals the worker knows of, plus one), the same renewal sent
   * again because its answer was lost answers as it did (`duplicate`) and writes nothing: renewed twice, it spent two
   * of the lease's renewals and its lifetime twice as fast. Any other number than the next one is a 409.
   */
  async renew(tenantId: string, proof: LeaseProof & { lease_ttl_seconds?: number; renewal?: number }): Promise<LeaseRenewal> {
    const c = this.config;
    const asked = proof.lease_ttl_seconds;
    if (asked !== undefined && (asked < c.leaseTtlSecondsMin || asked > c.leaseTtlSecondsMax)) {
      throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`lease_ttl_seconds must be between ${c.leaseTtlSecondsMin} and ${c.leaseTtlSecondsMax}`]);
    }
    // This very renewal, written before: the lease's last, with this number, asking this TTL (its receipt is stored).
    const resend = async (tx: Tx, lease: LeaseRow) => proof.renewal !== undefined && proof.renewal === lease.renewals
      && (await tx.receiptByHash(tenantId, this.ledger.prepare(tenantId, renewed(lease, asked ?? (await this.grantedTtl(tx, lease))), { writer: 'tasks' }).hash)) !== undefined;
    return this.fenced(tenantId, undefined, proof, 'renew', async (tx, _task, lease, now) => {
      if (proof.renewal !== undefined && proof.renewal !== lease.renewals + 1) {
        if (await resend(tx, lease)) return this.renewalAnswer(lease, 'duplicate');
        throw new QuittanceError('QUITTANCE_ERR_LEASE_RENEWAL_OUT_OF_ORDER', [lease.lease_id, lease.renewals, proof.renewal]);
      }
      if (lease.renewals >= c.leaseRenewalsMax) throw new QuittanceError('QUITTANCE_ERR_LEASE_RENEWAL_LIMIT', [lease.lease_id, lease.renewals]);
      const ttl = asked ?? (await this.grantedTtl(tx, lease));
      const expiresAt = now + ttl * 1000;
      if (expiresAt - lease.granted_at > c.leaseLifetimeSecondsMax * 1000) {
        throw new QuittanceError('QUITTANCE_ERR_LEASE_LIFETIME_LIMIT', [lease.lease_id, c.leaseLifetimeSecondsMax]);
      }
      lease.renewals++;
      lease.expires_at = expiresAt;
      lease.last_heartbeat_at = now;
      await tx.updateLease(lease);
      await this.ledger.appendInTx(tx, tenantId, renewed(lease, ttl), { writer: 'tasks' });
      return this.renewalAnswer(lease, 'renewed');
    }, { renewed: resend });
  }

  /** What a renewal answers: the lease as its last renewal left it, and what is left of its limits. */
  private renewalAnswer(lease: LeaseRow, status: 'renewed' | 'duplicate'): LeaseRenewal {
    const c = this.config;
    return {
      status, lease_id: lease.lease_id, expires_at: isoTime(lease.expires_at), renewals: lease.renewals,
      renewals_left: c.leaseRenewalsMax - lease.renewals,
      renewable_until: isoTime(lease.granted_at + c.leaseLifetimeSecondsMax * 1000),
      lease_ttl_seconds_max: c.leaseTtlSecondsMax,
    };
  }

  /**
   * The TTL a lease was granted with: what a renewal that names none extends it by. The server's default instead
   * cut a lease claimed for 30 minutes down to 2 from the moment of its renewal.
   */
  private async grantedTtl(tx: Tx, lease: LeaseRow): Promise<number> {
    const granted = (await tx.receiptsByIds(lease.tenant_id, [lease.granted_receipt_id]))[0];
    const ttl = granted?.body['ttl_seconds'];
    return typeof ttl === 'number' ? ttl : this.config.leaseTtlSecondsDefault;
  }

  async start(tenantId: string, taskId: string, proof: LeaseProof): Promise<AppendResult> {
    return this.fenced(tenantId, taskId, proof, 'start', async (tx, task, lease, now) => {
      const r = await this.ledger.appendInTx(tx, tenantId, started(task, lease), { writer: 'tasks' });
      if (task.status === 'leased') await setTaskStatus(tx, task, 'running', now, {});
      await heartbeat(tx, lease, now);
      return r;
    }, { writes: started });
  }

  async progress(tenantId: string, taskId: string, proof: LeaseProof & { progress?: Record<string, unknown> }): Promise<AppendResult> {
    return this.fenced(tenantId, taskId, proof, 'progress', async (tx, task, lease, now) => {
      const r = await this.ledger.appendInTx(tx, tenantId, progressed(task, lease, proof.progress), { writer: 'tasks' });
      await heartbeat(tx, lease, now);
      return r;
    }, { writes: (task, lease) => progressed(task, lease, proof.progress) });
  }

  /**
   * Completion closes task.assigned and lease.granted together. Without artifacts or delivery_proof (lenient
   * mode) the receipt is stored but closes nothing: the lease stays held and the task open, so the worker can
   * resend with a locatable product.
   */
  async complete(tenantId: string, taskId: string, input: CompleteInput): Promise<AppendResult> {
    return this.store.write((tx) => this.completeInTx(tx, tenantId, taskId, input)).then(unwrap);
  }

  /** Many completions in one transaction; each succeeds or fails on its own. */
  async completeBatch(tenantId: string, items: (CompleteInput & { task_id: string })[]): Promise<({ ok: true; result: AppendResult } | { ok: false; error: QuittanceError })[]> {
    return this.store.write(async (tx) => {
      const out: ({ ok: true; result: AppendResult } | { ok: false; error: QuittanceError })[] = [];
      for (const item of items) {
        try {
          const f = await tx.atomically(() => this.completeInTx(tx, tenantId, item.task_id, item));
          out.push(f.ok ? { ok: true, result: f.value } : { ok: false, error: f.error });
        } catch (e) {
          if (!isQuittanceError(e)) throw e;
          out.push({ ok: false, error: e });
        }
      }
      return out;
    });
  }

  private async completeInTx(tx: Tx, tenantId: string, taskId: string, input: CompleteInput): Promise<Fenced<AppendResult>> {
    return this.fencedInTx(tx, tenantId, taskId, input, 'complete', async (task, lease, now) => {
      const r = await this.ledger.appendInTx(tx, tenantId, completion(task, lease, input), { writer: 'tasks' });
      if (r.status === 'not_discharged') {
        await heartbeat(tx, lease, now);
        return r;
      }
      await endLease(tx, lease, 'completed', now);
      await this.tombstone(tx, lease, 'completed', 'gate', 'task completed');
      await setTaskStatus(tx, task, 'succeeded', now, { lease_id: null, outcome: { receipt_id: r.receipt.receipt_id } });
      return r;
    }, { ended: (ended, task, lease) => ended.hash === this.ledger.prepare(tenantId, completion(task, lease, input), { writer: 'tasks' }).hash });
  }

  async fail(tenantId: string, taskId: string, input: FailInput): Promise<AppendResult> {
    // The same failure again: the receipt it wrote (retry_scheduled or failed, as the same decision gives) holds the
    // same error. Its retry_at is the first request's, so this compares fields, not hashes.
    const sameFailure = (ended: Receipt, task: TaskRow, lease: LeaseRow) => {
      const retried = afterFailure(lease.attempt, task.max_attempts, input.retryable).status === 'queued';
      return ended.type === (retried ? 'task.retry_scheduled' : 'task.failed') && canonicalize(ended.body['error']) === canonicalize(input.error)
        && (retried || ended.body['retryable'] === input.retryable);
    };
    return this.fenced(tenantId, taskId, input, 'fail', async (tx, task, lease, now) => {
      const decision = afterFailure(lease.attempt, task.max_attempts, input.retryable);
      const worker = workerOf(lease);
      await endLease(tx, lease, decision.status === 'queued' ? 'retry' : 'failed', now);
      await this.tombstone(tx, lease, 'crashed', 'gate', 'worker reported failure');
      if (decision.status === 'queued') {
        const retryAt = now + retryDelayMs(lease.attempt, task.retry_backoff_seconds, this.config.retryBackoffSecondsCap);
        const r = await this.ledger.appendInTx(tx, tenantId, {
          type: 'task.retry_scheduled', from: worker, to: task.created_by, task_id: taskId, lease_id: lease.lease_id,
          parents: [lease.granted_receipt_id],
          body: { attempt: lease.attempt, next_attempt: decision.attempt, error: input.error, retry_at: isoTime(retryAt) },
        }, { writer: 'tasks' });
        await setTaskStatus(tx, task, 'queued', now, { attempt: decision.attempt, lease_id: null, next_eligible_at: retryAt });
        return r;
      }
      const r = await this.ledger.appendInTx(tx, tenantId, {
        type: 'task.failed', from: worker, to: task.created_by, task_id: taskId, lease_id: lease.lease_id,
        parents: [task.assigned_receipt_id, lease.granted_receipt_id],
        body: { attempt: lease.attempt, error: input.error, retryable: input.retryable },
      }, { writer: 'tasks' });
      if (decision.exhausted) {
        await appendAnomaly(tx, this.ledger.ctx, tenantId, 'max_attempts_exceeded', {
          to: task.created_by, parents: [r.receipt.receipt_id], task_id: taskId,
          body: { attempts: lease.attempt, max_attempts: task.max_attempts, error: input.error },
        });
      }
      await setTaskStatus(tx, task, 'failed', now, { lease_id: null, outcome: { receipt_id: r.receipt.receipt_id, error: input.error } });
      return r;
    }, { ended: sameFailure });
  }

  /** Graceful give-back (e.g. worker shutdown): requeued at once, no attempt burned. */
  async release(tenantId: string, taskId: string, proof: LeaseProof & { reason?: string }): Promise<AppendResult> {
    return this.fenced(tenantId, taskId, proof, 'release', async (tx, task, lease, now) => {
      await endLease(tx, lease, 'released', now);
      await this.tombstone(tx, lease, 'revoked', 'subject', 'lease released');
      const r = await this.ledger.appendInTx(tx, tenantId, released(lease, proof.reason), { writer: 'tasks' });
      await setTaskStatus(tx, task, 'queued', now, { lease_id: null, next_eligible_at: now });
      return r;
    }, { ended: (ended, _task, lease) => ended.hash === this.ledger.prepare(tenantId, released(lease, proof.reason), { writer: 'tasks' }).hash });
  }

  // ── cancel, expiry ───────────────────────────────────────────────────────────────────────────────────

  async cancel(tenantId: string, taskId: string, by: Principal, reason?: string): Promise<AppendResult> {
    return this.store.write(async (tx) => {
      const task = await tx.taskById(tenantId, taskId);
      if (!task) throw new QuittanceError('QUITTANCE_ERR_TASK_NOT_FOUND', [taskId]);
      if (FINAL_STATUSES.includes(task.status)) {
        const resent = task.status === 'canceled' ? await this.ownCancel(tx, task, by, reason) : undefined;
        if (resent) return { status: 'duplicate', receipt: resent };
        throw new QuittanceError('QUITTANCE_ERR_TASK_FINISHED', [taskId, task.status]);
      }
      const now = this.now();
      const parents = [task.assigned_receipt_id];
      const lease = task.lease_id ? await tx.leaseById(tenantId, task.lease_id) : undefined;
      if (lease && lease.state === 'active') {
        parents.push(lease.granted_receipt_id);
        await endLease(tx, lease, 'canceled', now);
        await this.tombstone(tx, lease, 'revoked', 'operator', 'task canceled');
      }
      const r = await this.ledger.appendInTx(tx, tenantId, {
        type: 'task.canceled', from: by, to: task.assigned_to, task_id: taskId, parents,
        body: { ...(reason !== undefined && { reason }), status_before: task.status },
      }, { writer: 'tasks' });
      await setTaskStatus(tx, task, 'canceled', now, { lease_id: null, outcome: { receipt_id: r.receipt.receipt_id } });
      return r;
    });
  }

  /**
   * The task.canceled that ended `task`, when it is this cancel's, sent again because its answer was lost: the same
   * principal and reason. Its status_before is the first request's, so this compares fields, not hashes.
   */
  private async ownCancel(tx: Tx, task: TaskRow, by: Principal, reason: string | undefined): Promise<Receipt | undefined> {
    const id = task.outcome?.['receipt_id'];
    if (typeof id !== 'string') return undefined;
    const [canceled] = await tx.receiptsByIds(task.tenant_id, [id]);
    const same = canceled?.type === 'task.canceled' && canonicalize(canceled.from) === canonicalize(by) && canceled.body['reason'] === reason;
    return same ? canceled : undefined;
  }

  /** The sweeper: expires every lease whose time has passed. Returns how many it expired. */
  async expireDue(): Promise<number> {
    // Most sweeps find nothing due: ask the committed data first and open no write (no commit, no fsync) then.
    if (!(await this.store.anyLeaseDue(this.now()))) return 0;
    let total = 0;
    for (;;) {
      let now = 0;
      const page = await sweepWrite(this.store, (tx) => tx.dueLeases((now = this.now()), 500), (tx, lease) => this.expireInTx(tx, lease, now));
      total += page.done;
      // A lease that could not be expired is still due: reading on would find it again. The next sweep retries it.
      if (page.failed.length > 0) throw sweepFailed('due leases', page.failed, (l) => `${l.tenant_id}/${l.lease_id}`);
      if (page.found < 500) return total;
    }
  }

  /** Lost authority, not failure: lease.expired, stamp timeout, requeue with the same attempt (or escalate). */
  private async expireInTx(tx: Tx, lease: LeaseRow, now: number): Promise<void> {
    const tenantId = lease.tenant_id;
    const task = (await tx.taskById(tenantId, lease.task_id))!;
    await endLease(tx, lease, 'expired', now);
    const after = afterLeaseExpiry(task.lease_expiries, task.max_lease_expiries);
    const expired = await this.ledger.appendInTx(tx, tenantId, {
      type: 'lease.expired', from: LEDGER_PRINCIPAL, to: workerOf(lease), task_id: task.task_id, lease_id: lease.lease_id,
      parents: [lease.granted_receipt_id],
      body: {
        attempt: lease.attempt, expired_at: isoTime(lease.expires_at), detected_at: isoTime(now),
        last_heartbeat_at: isoTime(lease.last_heartbeat_at), lease_expiries: after.lease_expiries,
      },
    }, { writer: 'tasks' });
    await this.tombstone(tx, lease, 'timeout', 'gate', 'lease expired');
    if (task.lease_id !== lease.lease_id) return; // an older lease: the task has moved on
    if (after.status === 'escalated') {
      const esc = await this.ledger.appendInTx(tx, tenantId, {
        type: 'task.escalated', from: LEDGER_PRINCIPAL, to: task.created_by, task_id: task.task_id, parents: [task.assigned_receipt_id],
        body: { reason: 'repeated_lease_expiry', lease_expiries: after.lease_expiries, max_lease_expiries: task.max_lease_expiries },
      }, { writer: 'tasks' });
      await appendAnomaly(tx, this.ledger.ctx, tenantId, 'repeated_lease_expiry', {
        to: task.created_by, parents: [expired.receipt.receipt_id], task_id: task.task_id,
        body: { lease_expiries: after.lease_expiries, max_lease_expiries: task.max_lease_expiries },
      });
      await setTaskStatus(tx, task, 'escalated', now, { lease_expiries: after.lease_expiries, lease_id: null, outcome: { receipt_id: esc.receipt.receipt_id } });
      return;
    }
    await setTaskStatus(tx, task, 'queued', now, {
      lease_expiries: after.lease_expiries, lease_id: null,
      next_eligible_at: now + expiryJitterMs(this.config.expiryJitterMsMax, Math.random()),
    });
  }

  // ── fencing ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Runs `fn` only while `proof` names the live lease of the task. A write from an expired or superseded lease
   * is refused with LEASE_LOST and leaves a stale_lease_write anomaly, which is committed even though the
   * request fails: the refusal itself is evidence. With `resent`: a write sent again by the lease's holder (right
   * task, right token) because the answer was lost answers the receipt it stored (`duplicate`), however the lease
   * ended since: a write that ended the lease (complete, fail, release) when `resent` finds the receipt that ended it
   * to be what this request would have written; a write under the lease (start, progress) when the receipt it writes
   * is stored, which it can only be if the lease was live when it was written. A renewal resent once the lease has
   * ended is refused (LEASE_LOST), but with no anomaly: it was written while the lease was live.
   */
  private async fenced<T>(tenantId: string, taskId: string | undefined, proof: LeaseProof, action: string,
    fn: (tx: Tx, task: TaskRow, lease: LeaseRow, now: number) => Promise<T>, resent?: Resent): Promise<T> {
    const f = await this.store.write((tx) => this.fencedInTx(tx, tenantId, taskId, proof, action, (task, lease, now) => fn(tx, task, lease, now), resent));
    return unwrap(f);
  }

  private async fencedInTx<T>(tx: Tx, tenantId: string, taskId: string | undefined, proof: LeaseProof, action: string,
    fn: (task: TaskRow, lease: LeaseRow, now: number) => Promise<T>, resent?: Resent): Promise<Fenced<T>> {
    const now = this.now();
    const lease = await tx.leaseById(tenantId, proof.lease_id);
    // The task the request names, when it names one: a lease of another task must not make a missing task a 409,
    // nor file the refusal on that other task's trace.
    const task = taskId !== undefined ? await tx.taskById(tenantId, taskId) : lease ? await tx.taskById(tenantId, lease.task_id) : undefined;
    if (taskId !== undefined && !task) throw new QuittanceError('QUITTANCE_ERR_TASK_NOT_FOUND', [taskId]);
    let reason: string | undefined;
    if (!lease || (taskId !== undefined && lease.task_id !== taskId)) reason = 'unknown lease';
    else if (!tokenMatches(lease, proof.lease_token)) reason = 'wrong lease token';
    else if (lease.state !== 'active') reason = `lease ${lease.state}`;
    else if (now >= lease.expires_at) {
      await this.expireInTx(tx, lease, now);
      reason = 'lease expired';
    } else if (task!.lease_id !== lease.lease_id) reason = 'lease superseded';
    if (reason === undefined) return { ok: true, value: await fn(task!, lease!, now) };

    // The holder's own lease (right task, right token), ended or superseded: is this request one it sent before?
    const holder = resent && lease && task && reason !== 'unknown lease' && reason !== 'wrong lease token' ? { resent, lease, task } : undefined;
    // Ended by this very request, sent before?
    if (holder && 'ended' in holder.resent && holder.lease.state !== 'active' && reason === `lease ${holder.lease.state}`) {
      const ended = await this.receiptThatEnded(tx, holder.lease);
      if (ended && holder.resent.ended(ended, holder.task, holder.lease)) return { ok: true, value: { status: 'duplicate', receipt: ended } as T };
    }
    // Did this very request write under it while it was live?
    if (holder && 'writes' in holder.resent) {
      const stored = await tx.receiptByHash(tenantId, this.ledger.prepare(tenantId, holder.resent.writes(holder.task, holder.lease), { writer: 'tasks' }).hash);
      if (stored) return { ok: true, value: { status: 'duplicate', receipt: stored } as T };
    }
    const id = taskId ?? lease?.task_id ?? 'unknown';
    const lost = new QuittanceError('QUITTANCE_ERR_LEASE_LOST', [proof.lease_id, id, reason], { details: { reason } });
    // This renewal was written while the lease was live and is sent again. The lease is lost all the same (a renewal
    // cannot answer for a lease that has ended), but this is no stale write.
    if (holder && 'renewed' in holder.resent && await holder.resent.renewed(tx, holder.lease)) return { ok: false, error: lost };
    await appendAnomaly(tx, this.ledger.ctx, tenantId, 'stale_lease_write', {
      to: lease ? workerOf(lease) : LEDGER_PRINCIPAL, task_id: task?.task_id, lease_id: lease?.lease_id,
      body: { action, reason, lease_id: proof.lease_id, task_id: id, task_status: task?.status ?? null, current_lease_id: task?.lease_id ?? null },
    });
    return { ok: false, error: lost };
  }

  /** The receipt that closed the lease's obligation (lease.granted): the write that ended it. */
  private async receiptThatEnded(tx: Tx, lease: LeaseRow): Promise<Receipt | undefined> {
    const [state] = await tx.obligationStates(lease.tenant_id, [lease.granted_receipt_id]);
    return state?.closed_by === undefined ? undefined : (await tx.receiptsByIds(lease.tenant_id, [state.closed_by]))[0];
  }

  // ── small steps ──────────────────────────────────────────────────────────────────────────────────────

  private async tombstone(tx: Tx, lease: LeaseRow, outcome: 'completed' | 'crashed' | 'timeout' | 'revoked', closedBy: 'subject' | 'gate' | 'operator', reason: string): Promise<void> {
    if (this.stamps && lease.stamp_id) await this.stamps.tombstoneForLease(tx, lease.tenant_id, lease.stamp_id, outcome, closedBy, reason);
  }
}

function unwrap<T>(f: Fenced<T>): T {
  if (!f.ok) throw f.error;
  return f.value;
}
