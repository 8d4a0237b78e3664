import { setImmediate as nextTurn } from 'node:timers/promises';
import { QuittanceError, isQuittanceError } from '../errors.js';
import { isoTime, ledgerTimeAtOrAfter, type Clock } from '../clock.js';
import { createUuidV7 } from '../ids.js';
import type { QuittanceConfig } from '../config.js';
import type { Store, Tx } from '../store/types.js';
import { appendInTx, appendLookup, keeperOf, type AppendContext, type AppendResult } from './append.js';
import { prepareReceipt, type PrepareOptions, type PreparedReceipt } from './normalize.js';
import { isObligationType, legalTerminators, receiptTypeSpec } from './registry.js';
import { decodeCursor, encodeCursor, nextCursor } from './cursor.js';
import { ChainVerifier, checkOpenObligations, type ChainCheck } from './verify.js';
import type { Principal, Receipt, ReceiptInput } from './types.js';

export type BatchItemResult = { ok: true; result: AppendResult } | { ok: false; error: QuittanceError };

export interface Page<T> {
  items: T[];
  cursor: string | null;
}

/** An open obligation (a row of the projection) whose receipt is not in the database. */
export interface MissingObligation {
  receipt_id: string;
  seq: number;
}

export interface ReceiptQuery {
  type?: string | undefined;
  task_id?: string | undefined;
  principal?: Pick<Principal, 'kind' | 'id'> | undefined;
  since?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

export interface OpenObligationsQuery {
  principal?: Pick<Principal, 'kind' | 'id'> | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
  /**
   * Only look (a HEAD request): first deliveries are reported with the time a fetch now would stamp, but nothing
   * is written.
   */
  peek?: boolean | undefined;
}

export interface TerminatorCheck {
  parent_receipt_id: string;
  type: string;
  is_obligation: boolean;
  open: boolean;
  legal_terminators: string[];
  closed_by: string | null;
  closed_at: string | null;
  /**
   * The engine that alone closes this obligation, through its own endpoints (a lease, a queued task's
   * task.assigned, a stamp, a session…); null when a receipt appended by anyone may close it.
   */
  closed_only_by: string | null;
  /**
   * When a terminator_type was asked about: would a receipt of that type, appended with POST /v1/receipts, close
   * this parent now? A success type closes it only if it names its product (artifacts or delivery_proof).
   */
  terminator_type?: string;
  would_close?: boolean;
}

/** Receipts a chain check reads and re-hashes between two turns of the event loop (~25 ms of work on SQLite). */
const VERIFY_SEGMENT = 1000;
/** At most this many single appends share one write (see Ledger.append). */
const APPENDS_PER_WRITE = 256;

interface WaitingAppend {
  prepared: PreparedReceipt;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** The receipt ledger: the append pipeline plus the queries over it. Every engine appends through here. */
export class Ledger {
  readonly ctx: AppendContext;
  /** Per tenant: single appends whose write has not started yet, which later ones may join (see append). */
  private readonly waiting = new Map<string, WaitingAppend[]>();

  constructor(readonly store: Store, readonly config: Readonly<QuittanceConfig>, readonly clock: Clock) {
    this.ctx = { clock, newId: createUuidV7(clock), locatability: config.locatability };
  }

  prepare(tenantId: string, input: ReceiptInput, options?: PrepareOptions): PreparedReceipt {
    return prepareReceipt(tenantId, input, this.config.limits, options);
  }

  /** Appends inside a transaction an engine already holds (its projections change in the same transaction). */
  appendInTx(tx: Tx, tenantId: string, input: ReceiptInput, options?: PrepareOptions): Promise<AppendResult> {
    return appendInTx(tx, this.prepare(tenantId, input, options), this.ctx);
  }

  /**
   * Appends one receipt; resolves once it is durable.
   *
   * Single appends to one tenant that arrive while their write waits for its turn run in that same write, as a
   * batch does: the store looks up all of their hashes, keys and parents at once (on PostgreSQL one round trip
   * instead of one per append) and opens one savepoint for them. Each append still gets its own answer; a coded
   * refusal has written nothing (see appendInTx), so it leaves the others alone. A failure that is not a refusal
   * fails the whole write, as it fails any write.
   */
  append(tenantId: string, input: ReceiptInput, options?: PrepareOptions): Promise<AppendResult> {
    let prepared: PreparedReceipt;
    try {
      // Shape, size and hashing are pure: done before queueing, outside the write transaction.
      prepared = this.prepare(tenantId, input, options);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      const item: WaitingAppend = { prepared, resolve, reject };
      const waiting = this.waiting.get(tenantId);
      if (waiting && waiting.length < APPENDS_PER_WRITE) {
        waiting.push(item);
        return;
      }
      const group = [item];
      this.waiting.set(tenantId, group);
      const close = () => {
        if (this.waiting.get(tenantId) === group) this.waiting.delete(tenantId);
      };
      this.store.write(async (tx) => {
        // Closed to newcomers once it runs; a write deferred to the next batch runs again with the same appends.
        close();
        return this.appendAllInTx(tx, tenantId, group.map((g) => g.prepared));
      }).then(
        (out) => out.forEach((o, i) => (o.ok ? group[i]!.resolve(o.result) : group[i]!.reject(o.error))),
        (e: unknown) => {
          close();
          for (const g of group) g.reject(e);
        },
      );
    });
  }

  /** Receipts of one tenant in order, each refused or appended on its own (see appendInTx for why no savepoints). */
  private async appendAllInTx(tx: Tx, tenantId: string, prepared: readonly PreparedReceipt[]): Promise<BatchItemResult[]> {
    const lookups = prepared.map(appendLookup);
    if (lookups.length > 1) await tx.prefetchForAppends?.(tenantId, lookups);
    const out: BatchItemResult[] = [];
    for (const p of prepared) {
      try {
        out.push({ ok: true, result: await appendInTx(tx, p, this.ctx) });
      } catch (e) {
        if (!isQuittanceError(e)) throw e;
        out.push({ ok: false, error: e });
      }
    }
    return out;
  }

  /** Many receipts in one transaction, in order; each succeeds or fails on its own. */
  async appendBatch(tenantId: string, inputs: readonly ReceiptInput[], options?: PrepareOptions): Promise<BatchItemResult[]> {
    const prepared = inputs.map((input) => {
      try {
        return this.prepare(tenantId, input, options);
      } catch (e) {
        if (isQuittanceError(e)) return e;
        throw e;
      }
    });
    const valid = prepared.filter((p): p is PreparedReceipt => !(p instanceof QuittanceError));
    const appended = valid.length === 0 ? [] : await this.store.write((tx) => this.appendAllInTx(tx, tenantId, valid));
    let next = 0;
    return prepared.map((p) => (p instanceof QuittanceError ? { ok: false, error: p } : appended[next++]!));
  }

  async receipt(tenantId: string, receiptId: string): Promise<Receipt> {
    const r = await this.store.receipt(tenantId, receiptId);
    if (!r) throw new QuittanceError('QUITTANCE_ERR_RECEIPT_NOT_FOUND', [receiptId]);
    return r;
  }

  async listReceipts(tenantId: string, q: ReceiptQuery): Promise<Page<Receipt>> {
    const limit = this.pageSize(q.limit);
    // Stored created_at is compared as text: `since` must be in the same form (UTC, milliseconds) first.
    const since = q.since === undefined ? undefined : ledgerTimeAtOrAfter(q.since);
    if (q.since !== undefined && since === undefined) throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`since must be an RFC 3339 date-time from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z (UTC), without a leap second, not ${JSON.stringify(q.since)}`]);
    const items = await this.store.listReceipts(tenantId, {
      ...(q.type !== undefined && { type: q.type }),
      ...(q.task_id !== undefined && { task_id: q.task_id }),
      ...(q.principal !== undefined && { principal: q.principal }),
      ...(since !== undefined && { since }),
      after_seq: decodeCursor(q.cursor),
      limit,
    });
    return { items, cursor: nextCursor(items, limit, (x) => x.seq) };
  }

  /** An acknowledgement receipt answering `receiptId`, addressed to that receipt's sender. */
  async ack(tenantId: string, receiptId: string, by: Principal, body: Record<string, unknown> = {}): Promise<AppendResult> {
    const target = await this.receipt(tenantId, receiptId);
    return this.append(tenantId, { type: 'receipt.acknowledged', from: by, to: target.from, parents: [receiptId], body });
  }

  /**
   * The unbucketed obligations view: open obligations, oldest first, and a cursor. Serving them stamps
   * delivered_at the first time (telemetry only; nothing reads it to decide anything). `missing`: see openPage.
   */
  async openObligations(tenantId: string, q: OpenObligationsQuery): Promise<Page<Receipt> & { missing: MissingObligation[] }> {
    const page = await this.openPage(tenantId, q);
    return { items: page.texts.map((t) => JSON.parse(t) as Receipt), cursor: page.cursor, missing: page.missing };
  }

  /**
   * The same page as openObligations, already as the JSON text of `{open_obligations, cursor}`. Where the store
   * keeps receipts as JSON (SQLite), the stored text goes out as it is: no decoding and encoding again. The cursor
   * goes out as `cursorOut` makes it (the HTTP layer binds it to the listing).
   */
  async openObligationsJson(tenantId: string, q: OpenObligationsQuery, cursorOut: (c: string | null) => string | null = (c) => c): Promise<{ json: string; missing: MissingObligation[] }> {
    const page = await this.openPage(tenantId, q);
    return { json: `{"open_obligations":[${page.texts.join(',')}],"cursor":${JSON.stringify(cursorOut(page.cursor))}}`, missing: page.missing };
  }

  /**
   * A page of open obligations as JSON texts. An obligation whose receipt is not there (a damaged database: a row
   * deleted or restored apart from the projection, which `quittance verify` reports) is left out of the page and
   * listed in `missing`, for the caller to report; the page serves the rest, and its cursor still moves past it
   * (computed from every row the projection gave), so paging reaches the obligations after it.
   */
  private async openPage(tenantId: string, q: OpenObligationsQuery): Promise<{ texts: string[]; cursor: string | null; missing: MissingObligation[] }> {
    const limit = this.pageSize(q.limit);
    if (!this.store.openObligationsText) {
      const items = await this.store.openObligations(tenantId, this.openFilter(q, limit));
      const undelivered = items.filter((r) => r.delivered_at === undefined);
      const stored = await this.markFirstDeliveries(tenantId, undelivered.map((r) => r.receipt_id), q.peek);
      for (const r of undelivered) r.delivered_at = stored.get(r.receipt_id)!;
      return { texts: items.map((r) => JSON.stringify(r)), cursor: nextCursor(items, limit, (x) => x.seq), missing: [] };
    }
    const rows = await this.store.openObligationsText(tenantId, this.openFilter(q, limit));
    const stored = await this.markFirstDeliveries(tenantId, rows.filter((r) => !r.delivered && r.json !== null).map((r) => r.receipt_id), q.peek);
    const texts: string[] = [];
    const missing: MissingObligation[] = [];
    for (const r of rows) {
      if (r.json === null) missing.push({ receipt_id: r.receipt_id, seq: r.seq });
      // delivered_at is a receipt's last key, so a first delivery appends it to the stored text.
      else texts.push(r.delivered ? r.json : `${r.json.slice(0, -1)},"delivered_at":${JSON.stringify(stored.get(r.receipt_id)!)}}`);
    }
    return { texts, cursor: nextCursor(rows, limit, (x) => x.seq), missing };
  }

  private openFilter(q: OpenObligationsQuery, limit: number) {
    return { ...(q.principal !== undefined && { principal: q.principal }), after_seq: decodeCursor(q.cursor), limit };
  }

  /**
   * Stamps delivered_at (telemetry only) on obligations served for the first time; returns the stored value for
   * each. Awaited (it rides along with the next group commit) and answered with the stored values, so two
   * fetches never report different first-delivery times. Only first deliveries pay for it. A peek writes nothing
   * and reports the time it would have stamped.
   */
  private async markFirstDeliveries(tenantId: string, ids: string[], peek = false): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const at = isoTime(this.clock.now());
    const stored = peek ? new Map<string, string>() : await this.store.write((tx) => tx.markDelivered(tenantId, ids, at));
    for (const id of ids) if (!stored.has(id)) stored.set(id, at);
    return stored;
  }

  async checkTerminator(tenantId: string, parentId: string, terminatorType?: string): Promise<TerminatorCheck> {
    const parent = await this.store.receipt(tenantId, parentId);
    if (!parent) throw new QuittanceError('QUITTANCE_ERR_RECEIPT_NOT_FOUND', [parentId]);
    const obligation = isObligationType(parent.type);
    const state = obligation ? await this.store.obligationState(tenantId, parentId) : undefined;
    const legal = legalTerminators(parent.type);
    const keeper = obligation ? await keeperOf(parent, 'any', async () => parent.task_id === undefined ? undefined : this.store.task(tenantId, parent.task_id)) : 'any';
    const out: TerminatorCheck = {
      parent_receipt_id: parentId,
      type: parent.type,
      is_obligation: obligation,
      open: state?.open ?? false,
      legal_terminators: legal,
      closed_by: state?.closed_by ?? null,
      closed_at: state?.closed_at ?? null,
      closed_only_by: keeper === 'any' ? null : keeper,
    };
    if (terminatorType !== undefined) {
      const spec = receiptTypeSpec(terminatorType);
      if (!spec) throw new QuittanceError('QUITTANCE_ERR_UNKNOWN_RECEIPT_TYPE', [JSON.stringify(terminatorType)]);
      out.terminator_type = terminatorType;
      // As POST /v1/receipts would decide: a reserved obligation (422 OBLIGATION_RESERVED) or a type only an engine
      // writes (400 RECEIPT_TYPE_RESERVED) closes nothing, though the termination table lists it.
      out.would_close = out.open && legal.includes(terminatorType) && keeper === 'any' && spec.writer === 'any';
    }
    return out;
  }

  /** system.anomaly receipts, optionally of one kind, oldest first. */
  async anomalies(tenantId: string, q: { kind?: string | undefined; cursor?: string | undefined; limit?: number | undefined }): Promise<Page<Receipt>> {
    const limit = this.pageSize(q.limit);
    let after = decodeCursor(q.cursor);
    const items: Receipt[] = [];
    // Kind lives in the body; scan type-indexed pages until the page is full or the ledger ends. With a kind, the
    // scan reads the largest pages there are, whatever the caller's page size: read `limit` at a time, a rare kind
    // among many anomalies (limit=1: is there any?) cost one query per anomaly in the ledger.
    const scan = q.kind === undefined ? limit : this.config.obligations.pageSizeMax;
    for (;;) {
      const page = await this.store.listReceipts(tenantId, { type: 'system.anomaly', after_seq: after, limit: scan });
      for (const r of page) {
        if (q.kind === undefined || r.body['kind'] === q.kind) items.push(r);
        after = r.seq;
        if (items.length === limit) return { items, cursor: encodeCursor(r.seq) };
      }
      if (page.length < scan) return { items, cursor: null };
      // A turn for the event loop between pages: SQLite reads are synchronous (see verify).
      await nextTurn();
    }
  }

  /**
   * Re-hashes one tenant's chain from genesis up to the head read first: receipts committed while the check pages
   * through the chain lie past that head and are left to the next check (the head and the receipts up to it were
   * committed together, so they are all there). `offline` (`quittance verify`, which reads the database directly,
   * with the servers stopped or running) also looks past that head: a receipt there that the head, read again, has
   * not reached means the head was altered or a receipt was written outside the ledger. One the head has reached
   * since was committed by a running server meanwhile (a receipt and the head move in one transaction). `offline`
   * also holds the open-obligations projection to the chain (checkOpenObligations): it keeps the chain's open
   * obligations in memory, which a server answering requests should not do for a tenant with millions open.
   */
  async verify(tenantId: string, onProgress?: (checked: number, total: number) => void, options: { segment?: number; offline?: boolean } = {}): Promise<ChainCheck> {
    const segment = options.segment ?? VERIFY_SEGMENT;
    const head = await this.store.chainHeadOf(tenantId);
    const v = new ChainVerifier(tenantId, { obligations: options.offline === true });
    let from = 1;
    let checked = 0;
    for (;;) {
      const want = Math.min(segment, head.seq - from + 1);
      if (want <= 0) break;
      const rows = await this.store.chainSegment(tenantId, from, want);
      v.add(rows);
      checked += rows.length;
      onProgress?.(checked, head.seq);
      if (v.failed || rows.length < want) break;
      from = rows[rows.length - 1]!.seq + 1;
      // One segment at a time, then the event loop's turn: SQLite reads are synchronous, so a check of a long chain
      // would otherwise hold every other request (renewals, claims, appends) until it ends, ~25 µs per receipt.
      await nextTurn();
    }
    const check = v.result(head);
    if (check.ok && options.offline) {
      const past = (await this.store.chainSegment(tenantId, head.seq + 1, 1))[0];
      if (past !== undefined && (await this.store.chainHeadOf(tenantId)).seq < past.seq) {
        return { ...check, ok: false, first_bad_seq: head.seq + 1, reason: 'receipts past the chain head (head altered, or receipts written outside the ledger)' };
      }
    }
    if (check.ok && v.open) {
      const diff = await checkOpenObligations(this.store, tenantId, v.open, head.seq);
      if (diff) return { ...check, ok: false, first_bad_seq: diff.seq, reason: diff.reason };
    }
    return check;
  }

  private pageSize(limit: number | undefined): number {
    return Math.min(limit ?? this.config.obligations.pageSizeDefault, this.config.obligations.pageSizeMax);
  }
}
