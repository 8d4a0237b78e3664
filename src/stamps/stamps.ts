/**
 * The stamps engine (DESIGN §6). Every change is a receipt appended in the same transaction as the stamp row
 * change, so a trace reads: stamp.minted ← stamp.rotated ← stamp.event … ← stamp.tombstoned (or, when nobody closed
 * it, a missing_tombstone anomaly). The in-transaction functions (mintInTx, tombstoneInTx, rotateInTx,
 * recordEventInTx) are what the tasks engine calls; the rest wraps them in their own write or reads.
 */
import type { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { QuittanceError } from '../errors.js';
import { isoTime } from '../clock.js';
import { createUuidV7 } from '../ids.js';
import { appendAnomaly } from '../ledger/append.js';
import { decodeCursor, nextCursor } from '../ledger/cursor.js';
import type { Ledger, Page } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Principal, type Receipt } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import { sweepFailed, sweepWrite } from '../store/sweep-write.js';
import { signJws, signJwsAsync } from './jws.js';
import { KeyRing, ensureSigningKeysInTx, type KeyRotation } from './keys.js';
import { Introspector, answer, effectiveState, judge, type Introspection } from './introspection.js';
import { Published } from './published.js';
import { stampClaims, type StampClaims } from './token.js';
import { checkMint } from './mint-input.js';
import { earlierDecision, earlierMint, earlierRotation, eventKey, mintKey, principal, recordedVerdict, rotateKey, type RotateRetry } from './retries.js';
import {
  CLOSERS, EVENT_OUTCOMES, TOMBSTONE_OUTCOMES, stampView,
  type MintInput, type MintResult, type MintedUnsigned, type PublicJwk, type RotateResult, type SigningKeyRow, type StampEventInput, type StampRow,
  type StampState, type StampView, type Tombstone, type TombstoneInput, type TombstoneResult,
} from './types.js';

export interface Investigation {
  stamp: StampView;
  anomaly_receipt_id: string | null;
  flagged_at: string | null;
  /** The newest receipts about the stamp before and after it was flagged (newest first), anomaly excluded. */
  last_events: Receipt[];
}

export class Stamps {
  private readonly keyRing: KeyRing;
  private readonly introspector: Introspector;
  private readonly published: Published;
  private readonly newId: () => string;

  constructor(private readonly ledger: Ledger, options: { monotonic?: () => number } = {}) {
    // Cache ages are measured on a monotonic clock: they are about this process, not about ledger time.
    const monotonic = options.monotonic ?? (() => performance.now());
    const c = ledger.config.stamps;
    const now = () => ledger.clock.now();
    this.keyRing = new KeyRing(ledger.store.stamps, now, monotonic, c.jwksCacheMs);
    this.introspector = new Introspector(this.keyRing, ledger.store.stamps, now, { entriesMax: c.cacheEntriesMax, stateMs: c.stateCacheMs, monotonic });
    this.published = new Published(ledger.store, this.keyRing, c, now, monotonic);
    this.newId = createUuidV7(ledger.clock);
  }

  private get store() {
    return this.ledger.store;
  }
  private get config() {
    return this.ledger.config.stamps;
  }
  private now(): number {
    return this.ledger.clock.now();
  }

  // ── in-transaction API (the tasks engine calls these) ────────────────────────────────────────────────

  /**
   * Mints a stamp: appends `stamp.minted` (the obligation its tombstone will close). Its token (generation 1) is
   * signed by `sign()`, which the caller runs once its write has committed: on libuv's thread pool, ~26 µs of
   * Ed25519 per token kept off the event loop, and nothing signed for a write that rolls back or runs again.
   */
  async mintInTx(tx: Tx, tenantId: string, input: MintInput): Promise<MintedUnsigned> {
    const m = await this.mintRowInTx(tx, tenantId, input);
    const claims = stampClaims(m.row, this.config.issuer, m.now);
    // The key is loaded here, inside the write: what can fail fails before anything commits.
    const privateKey = this.keyRing.privateKey(m.key);
    return { stamp: this.view(m.row, m.now), receipt: m.receipt, sign: () => this.signAsync(claims, m.key.kid, privateKey) };
  }

  /**
   * A stamp's token as its mint answered it, for that answer given again (a lease's claim sent again, its answer
   * lost): generation 1 issued at the mint, signed by the key that signed it (the same bytes: Ed25519 is
   * deterministic). A stamp rotated since has its current generation signed, issued now: the old one is dead.
   */
  async mintedAgainInTx(tx: Tx, tenantId: string, stampId: string): Promise<Omit<MintedUnsigned, 'receipt'>> {
    const row = await tx.stampForUpdate(tenantId, stampId);
    if (!row) throw new QuittanceError('QUITTANCE_ERR_STAMP_NOT_FOUND', [stampId]);
    const now = this.now();
    const sign = await this.signingAgain(tx, row, row.generation, row.kid, row.generation === 1 ? Date.parse(row.issued_at) : now);
    return { stamp: this.view(row, now), sign };
  }

  /**
   * `sign()` for a token given out before, made again: generation `generation` of the stamp, issued at `issuedMs`,
   * signed by the key `kid` names (the current key if that one is gone). Ed25519 is deterministic, so with the same
   * key the bytes are those first given. The key is loaded here, inside the write (as in mintInTx).
   */
  private async signingAgain(tx: Tx, row: StampRow, generation: number, kid: unknown, issuedMs: number): Promise<() => Promise<string>> {
    const signer = await this.signerOf(tx, kid);
    const claims = stampClaims({ ...row, generation }, this.config.issuer, issuedMs);
    const privateKey = this.keyRing.privateKey(signer);
    return () => this.signAsync(claims, signer.kid, privateKey);
  }

  private async mintRowInTx(tx: Tx, tenantId: string, input: MintInput): Promise<{ row: StampRow; key: SigningKeyRow; receipt: Receipt; now: number }> {
    checkMint(input, this.config);
    const now = this.now();
    const key = (await tx.currentSigningKey()) ?? (await ensureSigningKeysInTx(tx, now));
    const stampId = this.newId();
    const expiresMs = now + input.ttl_seconds * 1000;
    const subject = principal(input.subject);
    const scope = [...input.scope];
    const body: Record<string, unknown> = {
      // Issued at the receipt's created_at.
      stamp_id: stampId, subject, task_ref: input.task_ref, scope, generation: 1, kid: key.kid,
      expires_at: isoTime(expiresMs), ttl_seconds: input.ttl_seconds,
    };
    if (input.worker !== undefined) body['worker'] = input.worker;
    const r = await this.ledger.appendInTx(tx, tenantId, {
      type: 'stamp.minted', from: LEDGER_PRINCIPAL, to: subject, stamp_id: stampId,
      ...(input.task_id !== undefined && { task_id: input.task_id }),
      ...(input.lease_id !== undefined && { lease_id: input.lease_id }),
      parents: [...(input.parents ?? [])],
      ...(input.idempotency_key !== undefined && { idempotency_key: mintKey(input.idempotency_key) }),
      body,
    }, { writer: 'stamps' });
    const row: StampRow = {
      tenant_id: tenantId, stamp_id: stampId, subject, task_ref: input.task_ref, scope,
      task_id: input.task_id ?? null, lease_id: input.lease_id ?? null, worker: input.worker ?? null,
      minted_receipt_id: r.receipt.receipt_id, status_idx: r.receipt.seq, generation: 1, kid: key.kid,
      issued_at: isoTime(now), expires_at: isoTime(expiresMs), expires_ms: expiresMs, state: 'active',
      outcome: null, closed_by: null, closed_reason: null, tombstoned_at: null, tombstone_receipt_id: null, late: false,
      ambiguous_at: null, anomaly_receipt_id: null, anomaly_seq: null,
    };
    await tx.insertStamp(row);
    return { row, key, receipt: r.receipt, now };
  }

  /**
   * Closes a stamp with its one tombstone: appends `stamp.tombstoned` (body: the task_tombstone event) closing
   * `stamp.minted`. The same tombstone again (outcome, closed_by and reason) answers the stored one; a different one
   * is 409. After the TTL (ambiguous, or not yet swept) the tombstone still closes it, marked `late: true`; an anomaly
   * already written stays in the history.
   */
  async tombstoneInTx(tx: Tx, tenantId: string, stampId: string, input: TombstoneInput): Promise<TombstoneResult> {
    if (!TOMBSTONE_OUTCOMES.includes(input.outcome)) throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`outcome must be one of ${TOMBSTONE_OUTCOMES.join(', ')}`]);
    if (!CLOSERS.includes(input.closed_by)) throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`closed_by must be one of ${CLOSERS.join(', ')}`]);
    const row = await tx.stampForClose(tenantId, stampId);
    if (!row) throw new QuittanceError('QUITTANCE_ERR_STAMP_NOT_FOUND', [stampId]);
    if (row.state === 'tombstoned') {
      const [stored] = await tx.receiptsByIds(tenantId, [row.tombstone_receipt_id!]);
      if (!stored) throw new Error(`tombstone receipt of stamp ${stampId} is missing`);
      // The same tombstone: the same outcome, closer and reason (a retry); any other is a second tombstone.
      if (row.outcome === input.outcome && row.closed_by === input.closed_by && stored.body['reason'] === input.reason) {
        return { status: 'duplicate', tombstone: stored.body as unknown as Tombstone, receipt: stored };
      }
      throw new QuittanceError('QUITTANCE_ERR_STAMP_TOMBSTONED', [stampId, row.outcome, row.closed_by], {
        details: { tombstone: stored.body, tombstone_receipt_id: stored.receipt_id },
      });
    }
    const now = this.now();
    const late = row.state === 'ambiguous' || now >= row.expires_ms;
    const tombstone: Tombstone = { stamp_id: stampId, outcome: input.outcome, timestamp: isoTime(now), closed_by: input.closed_by };
    if (input.reason !== undefined) tombstone.reason = input.reason;
    if (late) tombstone.late = true;
    const bySubject = input.closed_by === 'subject';
    const r = await this.ledger.appendInTx(tx, tenantId, {
      type: 'stamp.tombstoned',
      from: input.by ?? (bySubject ? row.subject : LEDGER_PRINCIPAL),
      to: bySubject ? LEDGER_PRINCIPAL : row.subject,
      stamp_id: stampId,
      ...(row.task_id !== null && { task_id: row.task_id }),
      ...(row.lease_id !== null && { lease_id: row.lease_id }),
      parents: [row.minted_receipt_id],
      body: tombstone as unknown as Record<string, unknown>,
    }, { writer: 'stamps' });
    this.changing(tenantId, stampId, { state: 'tombstoned', generation: row.generation });
    await tx.closeStamp(tenantId, stampId, {
      outcome: input.outcome, closed_by: input.closed_by, closed_reason: input.reason ?? null,
      tombstoned_at: tombstone.timestamp, tombstone_receipt_id: r.receipt.receipt_id, late,
    });
    return { status: 'created', tombstone, receipt: r.receipt };
  }

  /**
   * The next generation of the stamp's credential. The previous generation stops being valid in this same
   * transaction: there is no instant at which two generations introspect active.
   */
  async rotateInTx(tx: Tx, tenantId: string, stampId: string, by?: Principal, retry: RotateRetry = {}): Promise<RotateResult> {
    const row = await tx.stampForUpdate(tenantId, stampId);
    if (!row) throw new QuittanceError('QUITTANCE_ERR_STAMP_NOT_FOUND', [stampId]);
    const key = retry.idempotency_key;
    const before = key === undefined ? undefined : await earlierRotation(tx, row, key, retry.from);
    if (before) {
      // Answered as it was: the stamp as it is now, and the token of the generation that rotation made, signed again
      // by the same key (see mint).
      const token = this.sign({ ...row, generation: before.generation }, await this.signerOf(tx, before.receipt.body['kid']), before.rotatedMs);
      return { status: 'duplicate', stamp: this.view(row, this.now()), token, receipt: before.receipt };
    }
    const now = this.now();
    const state = effectiveState(row, now);
    if (state !== 'active') throw new QuittanceError('QUITTANCE_ERR_STAMP_NOT_ACTIVE', [stampId, state, 'be rotated']);
    // A token's exp is the TTL rounded down to the second (stampClaims): past it, the next generation would be
    // expired when issued, and the one in use would be superseded for nothing.
    if (Math.floor(row.expires_ms / 1000) * 1000 <= now) {
      throw new QuittanceError('QUITTANCE_ERR_STAMP_NOT_ACTIVE', [stampId, 'in the last second of its TTL (a new token would be expired)', 'be rotated']);
    }
    const signer = (await tx.currentSigningKey()) ?? (await ensureSigningKeysInTx(tx, now));
    const previous = row.generation;
    row.generation = previous + 1;
    row.kid = signer.kid;
    const r = await this.ledger.appendInTx(tx, tenantId, {
      type: 'stamp.rotated', from: by ?? LEDGER_PRINCIPAL, to: row.subject, stamp_id: stampId,
      ...(row.task_id !== null && { task_id: row.task_id }),
      ...(row.lease_id !== null && { lease_id: row.lease_id }),
      parents: [row.minted_receipt_id],
      ...(key !== undefined && { idempotency_key: rotateKey(stampId, key) }),
      body: { stamp_id: stampId, generation: row.generation, previous_generation: previous, kid: signer.kid, rotated_at: isoTime(now) },
    }, { writer: 'stamps' });
    this.changing(tenantId, stampId, { state: 'active', generation: row.generation });
    await tx.updateStamp(row);
    return { status: 'created', stamp: this.view(row, now), token: this.sign(row, signer, now), receipt: r.receipt };
  }

  /** A gate decision about an action under the stamp (`stamp.event`): executed, denied or error. */
  async recordEventInTx(tx: Tx, tenantId: string, stampId: string, input: StampEventInput): Promise<{ status: 'created' | 'duplicate'; receipt: Receipt }> {
    const row = await tx.stampForUpdate(tenantId, stampId);
    if (!row) throw new QuittanceError('QUITTANCE_ERR_STAMP_NOT_FOUND', [stampId]);
    // A token of a later generation is handed out only once its rotation has committed.
    if (input.generation !== undefined && input.generation > row.generation) {
      throw new QuittanceError('QUITTANCE_ERR_STAMP_GENERATION', [stampId, row.generation, input.generation]);
    }
    return this.appendEvent(tx, tenantId, row, input, undefined);
  }

  // ── own-transaction wrappers ─────────────────────────────────────────────────────────────────────────

  /**
   * A standalone mint in its own write; the token is signed after the commit, off the event loop. With an
   * idempotency_key, the same request again answers the stamp it minted (retries.ts): the stamp as it is now, its
   * stamp.minted receipt, and the generation-1 token issued then, signed again by the key that signed it (the same
   * bytes: Ed25519 is deterministic; a retired key stays published until the stamps it signed end).
   */
  async mint(tenantId: string, input: MintInput): Promise<MintResult> {
    const m = await this.store.write(async (tx) => {
      const stored = input.idempotency_key === undefined ? undefined : await this.mintedBefore(tx, tenantId, input, input.idempotency_key);
      return stored ?? { status: 'created' as const, ...(await this.mintInTx(tx, tenantId, input)) };
    });
    return { status: m.status, stamp: m.stamp, token: await m.sign(), receipt: m.receipt };
  }

  private async mintedBefore(tx: Tx, tenantId: string, input: MintInput, key: string): Promise<(MintedUnsigned & { status: 'duplicate' }) | undefined> {
    checkMint(input, this.config);
    const before = await earlierMint(tx, tenantId, input, key);
    if (!before) return undefined;
    const { row, receipt } = before;
    const sign = await this.signingAgain(tx, row, 1, receipt.body['kid'], Date.parse(row.issued_at));
    return { status: 'duplicate', stamp: this.view(row, this.now()), receipt, sign };
  }

  /** The key that signed a token a receipt records (its body's kid); the current key if that one is gone. */
  private async signerOf(tx: Tx, kid: unknown): Promise<SigningKeyRow> {
    const key = typeof kid === 'string' ? await tx.signingKey(kid) : undefined;
    return key ?? (await tx.currentSigningKey()) ?? (await ensureSigningKeysInTx(tx, this.now()));
  }

  async tombstone(tenantId: string, stampId: string, input: TombstoneInput): Promise<TombstoneResult> {
    const r = await this.store.write((tx) => this.tombstoneInTx(tx, tenantId, stampId, input));
    this.published.changed(tenantId);
    return r;
  }

  async rotate(tenantId: string, stampId: string, by?: Principal, retry: RotateRetry = {}): Promise<RotateResult> {
    const r = await this.store.write((tx) => this.rotateInTx(tx, tenantId, stampId, by, retry));
    this.published.changed(tenantId);
    return r;
  }

  recordEvent(tenantId: string, stampId: string, input: StampEventInput): Promise<{ status: 'created' | 'duplicate'; receipt: Receipt }> {
    return this.store.write((tx) => this.recordEventInTx(tx, tenantId, stampId, input));
  }

  // ── introspection ────────────────────────────────────────────────────────────────────────────────────

  /**
   * RFC 7662 introspection of a stamp token for the caller's tenant. With `record`, the decision is recorded as a
   * `stamp.event` (executed when active, denied otherwise) in one transaction that re-reads the stamp, so a
   * recorded "executed" never follows a committed tombstone. With an `event_id`, the same request again (its answer
   * lost) answers the decision recorded under it, writing nothing.
   */
  async introspect(tenantId: string, token: string, record?: { action: string; by: Principal; event_id?: string | undefined }): Promise<Introspection> {
    if (!record) return this.introspector.introspect(tenantId, token);
    const checked = await this.introspector.checkToken(token);
    const claims = checked.claims;
    const own = claims !== undefined && claims.tenant === tenantId ? claims : undefined;

    // Recording: decide inside the write, on the row as it is now.
    const claimed = claims?.stamp_id ?? checked.claimedStampId;
    return this.store.write(async (tx) => {
      const row = claimed === undefined ? undefined : await tx.stampForUpdate(tenantId, claimed);
      const now = this.now();
      const eventId = record.event_id;
      const earlier = eventId === undefined ? undefined : await earlierDecision(tx, tenantId, row?.stamp_id, eventId, record);
      if (own && row) {
        const verdict = earlier ? recordedVerdict(earlier, effectiveState(row, now)) : judge(own, row, now);
        const ev = earlier ?? (await this.appendEvent(tx, tenantId, row, {
          action: record.action, outcome: verdict.active ? 'executed' : 'denied', by: record.by, generation: own.gen, event_id: eventId,
          ...(verdict.reason !== undefined && { gate_reason: verdict.reason }),
        }, undefined)).receipt;
        return { ...answer(own, row, verdict), event_receipt_id: ev.receipt_id } as Introspection;
      }
      if (earlier) return { active: false, event_receipt_id: earlier.receipt_id };
      // Not a valid token of this tenant: denied, recorded against the stamp it names if this tenant has one.
      const denial = { action: record.action, outcome: 'denied' as const, by: record.by, event_id: eventId, gate_reason: claims === undefined ? checked.reason ?? 'invalid_token' : 'unknown_stamp' };
      const ev = await this.appendEvent(tx, tenantId, row, denial, row ? undefined : claimed);
      return { active: false, event_receipt_id: ev.receipt.receipt_id };
    });
  }

  /** introspect() without recording, as the JSON text of the answer; a gate's hot path answers synchronously. */
  introspectText(tenantId: string, token: string): string | Promise<string> {
    return this.introspector.introspectText(tenantId, token);
  }

  // ── reads ────────────────────────────────────────────────────────────────────────────────────────────

  async get(tenantId: string, stampId: string, q: { cursor?: string | undefined; limit?: number | undefined } = {}): Promise<{ stamp: StampView; history: Receipt[]; cursor: string | null }> {
    const row = await this.store.stamps.stamp(tenantId, stampId);
    if (!row) throw new QuittanceError('QUITTANCE_ERR_STAMP_NOT_FOUND', [stampId]);
    const limit = Math.min(q.limit ?? this.ledger.config.obligations.pageSizeDefault, this.ledger.config.obligations.pageSizeMax);
    const history = await this.store.stamps.stampReceipts(tenantId, stampId, { after_seq: decodeCursor(q.cursor), limit });
    return { stamp: this.view(row, this.now()), history, cursor: nextCursor(history, limit, (x) => x.seq) };
  }

  /** Ambiguous stamps (TTL passed, no tombstone) in the order they were flagged, with their last known events. */
  async investigations(tenantId: string, q: { cursor?: string | undefined; limit?: number | undefined } = {}): Promise<Page<Investigation>> {
    const limit = Math.min(q.limit ?? this.ledger.config.obligations.pageSizeDefault, this.ledger.config.obligations.pageSizeMax);
    const rows = await this.store.stamps.ambiguousStamps(tenantId, { after_seq: decodeCursor(q.cursor), limit });
    const now = this.now();
    const n = this.config.investigationEventsMax;
    const items: Investigation[] = [];
    for (const row of rows) {
      const recent = await this.store.stamps.stampReceipts(tenantId, row.stamp_id, { after_seq: 0, limit: n + 1, newest_first: true });
      items.push({
        stamp: this.view(row, now),
        anomaly_receipt_id: row.anomaly_receipt_id,
        flagged_at: row.ambiguous_at,
        last_events: recent.filter((r) => r.receipt_id !== row.anomaly_receipt_id).slice(0, n),
      });
    }
    return { items, cursor: nextCursor(rows, limit, (x) => x.anomaly_seq!) };
  }

  // ── keys, JWKS, status list ──────────────────────────────────────────────────────────────────────────

  /** Creates the first signing keys if there are none (every server may call this at start). */
  ensureKeys(): Promise<void> {
    return this.published.ensureKeys();
  }

  /** `quittance keys rotate`: new tokens use the next key at once; the old one verifies until its stamps end. */
  rotateSigningKeys(): Promise<KeyRotation> {
    return this.published.rotateSigningKeys();
  }

  /** The public JWKS: next, current and still-needed retired keys. */
  jwks(): Promise<{ keys: Required<PublicJwk>[] }> {
    return this.published.jwks();
  }

  /** The tenant's signed status list (format: status-list.ts). */
  statusList(tenantId: string): Promise<string> {
    return this.published.statusList(tenantId);
  }

  // ── TTL sweep ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * TTL is only the safety net: an active stamp whose TTL has passed with no tombstone becomes `ambiguous` and gets
   * a `missing_tombstone` anomaly. Never `timeout` — that would erase the forensic signal. Idempotent per stamp
   * (the row is re-read and locked in the write), so every server may run it. Returns how many were flagged.
   */
  async sweepStamps(nowMs: number = this.now()): Promise<number> {
    const batch = this.config.sweepBatchSize;
    let flagged = 0;
    for (let round = 0; round < 20; round++) {
      const due = await this.store.stamps.expiredActiveStamps(nowMs, batch);
      if (due.length === 0) break;
      const page = await sweepWrite(this.store, async () => due, (tx, d) => this.flagAmbiguousInTx(tx, d.tenant_id, d.stamp_id, nowMs));
      flagged += page.done;
      for (const d of due) this.published.changed(d.tenant_id);
      // A stamp that could not be flagged is still due: reading on would find it again. The next sweep retries it.
      if (page.failed.length > 0) throw sweepFailed('expired stamps', page.failed, (d) => `${d.tenant_id}/${d.stamp_id}`);
      if (due.length < batch) break;
    }
    return flagged;
  }

  private async flagAmbiguousInTx(tx: Tx, tenantId: string, stampId: string, nowMs: number): Promise<boolean> {
    const row = await tx.stampForUpdate(tenantId, stampId);
    if (!row || row.state !== 'active' || row.expires_ms > nowMs) return false;
    const anomaly = await appendAnomaly(tx, this.ledger.ctx, tenantId, 'missing_tombstone', {
      to: row.subject,
      parents: [row.minted_receipt_id],
      body: {
        stamp_id: stampId, subject: row.subject, task_ref: row.task_ref, generation: row.generation, expires_at: row.expires_at,
        message: 'The stamp TTL passed with no tombstone: completed, crashed or still running is unknown. Investigate; a late tombstone resolves it.',
      },
      task_id: row.task_id ?? undefined, lease_id: row.lease_id ?? undefined, stamp_id: stampId,
    });
    this.changing(tenantId, stampId, { state: 'ambiguous', generation: row.generation });
    Object.assign(row, { state: 'ambiguous', ambiguous_at: isoTime(nowMs), anomaly_receipt_id: anomaly.receipt_id, anomaly_seq: anomaly.seq } satisfies Partial<StampRow>);
    await tx.updateStamp(row);
    return true;
  }

  // ── small steps ──────────────────────────────────────────────────────────────────────────────────────

  private async appendEvent(tx: Tx, tenantId: string, row: StampRow | undefined, input: StampEventInput, claimedStampId: string | undefined): Promise<{ status: 'created' | 'duplicate'; receipt: Receipt }> {
    if (!EVENT_OUTCOMES.includes(input.outcome)) throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`outcome must be one of ${EVENT_OUTCOMES.join(', ')}`]);
    const body: Record<string, unknown> = { stamp_id: row?.stamp_id ?? null, event_id: input.event_id ?? this.newId(), action: input.action, outcome: input.outcome };
    if (input.gate_reason !== undefined) body['gate_reason'] = input.gate_reason;
    if (input.generation !== undefined) body['generation'] = input.generation;
    if (!row && claimedStampId !== undefined) body['claimed_stamp_id'] = claimedStampId;
    const r = await this.ledger.appendInTx(tx, tenantId, {
      type: 'stamp.event', from: input.by ?? LEDGER_PRINCIPAL, to: row?.subject ?? LEDGER_PRINCIPAL,
      ...(row && { stamp_id: row.stamp_id, parents: [row.minted_receipt_id] }),
      // A caller's event_id names one decision: its retry answers the stored receipt, other content under it is 409.
      ...(input.event_id !== undefined && { idempotency_key: eventKey(row?.stamp_id, input.event_id) }),
      ...(row?.task_id != null && { task_id: row.task_id }),
      ...(row?.lease_id != null && { lease_id: row.lease_id }),
      body,
    }, { writer: 'stamps' });
    return { status: r.status === 'duplicate' ? 'duplicate' : 'created', receipt: r.receipt };
  }

  private sign(row: StampRow, key: SigningKeyRow, nowMs: number): string {
    const claims = stampClaims(row, this.config.issuer, nowMs);
    const token = signJws({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' }, claims as unknown as Record<string, unknown>, this.keyRing.privateKey(key));
    this.introspector.signed(token, claims);
    return token;
  }

  /** The same, on the thread pool (see mintInTx). */
  private async signAsync(claims: StampClaims, kid: string, privateKey: KeyObject): Promise<string> {
    const token = await signJwsAsync({ alg: 'EdDSA', kid, typ: 'JWT' }, claims as unknown as Record<string, unknown>, privateKey);
    this.introspector.signed(token, claims);
    return token;
  }

  private view(row: StampRow, nowMs: number): StampView {
    const v = stampView(row);
    v.state = effectiveState(row, nowMs);
    return v;
  }

  private changing(tenantId: string, stampId: string, expect: { state: StampState; generation: number }): void {
    this.introspector.changing(tenantId, stampId, expect);
    this.published.changing(tenantId, stampId, expect);
  }
}
