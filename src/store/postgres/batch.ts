import pg, { type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
import { CommitOutcomeUnknown } from '../group-commit.js';
import { isQuittanceError } from '../../errors.js';
import { GENESIS_HASH } from '../../ledger/types.js';
import type { ChainHead } from '../types.js';
import { assertStorable, inlineParams, literal, readableParams, tuple } from './values.js';

/**
 * A later write in a batch met a chain head that another transaction holds. Waiting for it while this transaction
 * holds other tenants' heads could deadlock with a server doing the same in the other order, so the write is
 * undone and runs again first in the next batch, where it holds nothing while it waits. Domain code must let it
 * propagate (catch coded QuittanceErrors only).
 */
export class ChainHeadBusy extends Error {
  constructor(readonly tenantId: string) {
    super(`chain head of tenant ${tenantId} is held by another transaction`);
    this.name = 'ChainHeadBusy';
  }
}

/**
 * A head lock that rode with another statement (PgBatch.lockTenant) found no chain_heads row, so that statement ran
 * without the tenant's lock. The write is undone and run again at once, checked (its locks taken one by one).
 */
class HeadNotLocked extends Error {
  constructor(readonly tenantId: string) {
    super(`chain head of tenant ${tenantId} was not there to lock`);
    this.name = 'HeadNotLocked';
  }
}

/** A unique index of receipts that an append assumed new (PgBatch.assumeNew) ran into: the receipt was not new. */
function isReceiptUniqueViolation(e: unknown): boolean {
  const { code, constraint } = e as { code?: unknown; constraint?: unknown };
  return code === '23505' && (constraint === 'receipts_hash' || constraint === 'receipts_idempotency');
}

interface HeadEntry {
  head: ChainHead;
  /** Advanced in this transaction and not yet written back. */
  dirty: boolean;
}

/** A write waiting for the next flush: SQL with its values inlined, and the row count it must report, if checked. */
interface PendingWrite {
  sql: string;
  expectRows?: number;
  what?: string;
  /** For a write several calls add to (bufferMerged): its items so far, and how they become its SQL. */
  merged?: { items: string[]; render: (items: readonly string[]) => string };
}

const HEAD_WAIT = 'SELECT seq, chain_hash FROM chain_heads WHERE tenant_id = $1 FOR UPDATE';
const HEAD_TRY = 'SELECT seq, chain_hash FROM chain_heads WHERE tenant_id = $1 FOR UPDATE SKIP LOCKED';
const HEAD_EXISTS = 'SELECT 1 FROM chain_heads WHERE tenant_id = $1';
const HEAD_CREATE = 'INSERT INTO chain_heads (tenant_id, seq, chain_hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING';

/**
 * One group-committed batch on one pooled connection. Two ideas keep PostgreSQL correct with writers on several
 * servers, and fast although every statement is a network round trip:
 *
 * The sequencer. The first time the batch touches a tenant it locks the tenant's chain_heads row
 * (SELECT ... FOR UPDATE) and keeps the head in memory, to COMMIT. Everything the batch then reads about the tenant
 * stays true until it commits; other servers' batches for the tenant wait, then (READ COMMITTED: a fresh snapshot
 * per statement) see what it committed. Receipts advance the head in memory; the row is written once per tenant,
 * before COMMIT. Only the batch's first write may wait for a head; a later one, which may hold other tenants'
 * heads, only tries (SKIP LOCKED) and is deferred to the next batch when it is busy: no lock cycles.
 *
 * Buffered writes. Writes are not sent one by one: they wait, values inlined, and go in one round trip (a simple
 * query of several statements) at the end of the write, or before any statement that must see them. That round
 * trip also opens the write's savepoint, so in a run with savepoints a write costs its reads plus one round trip.
 * Reads that the append rules make on every receipt (by hash, idempotency key, ids; obligation states) answer from
 * the buffer and from what the transaction already knows instead of flushing. A write that reads and writes nothing
 * never opens a savepoint at all: undoing it means forgetting its buffer.
 *
 * Savepoints undo a failed write alone. PostgreSQL also releases the locks taken inside a savepoint it rolls back,
 * so the in-memory heads are journalled per savepoint and restored with it (a tenant first locked by an undone
 * write is locked again when next touched), and cached obligation states are dropped.
 *
 * A batch first runs without savepoints (unguarded): a write's buffered statements then wait for the next write's
 * first read, or go on their own before COMMIT, about one round trip per write in all. If anything fails, the whole
 * transaction is rolled back and the group committer runs the batch again, each write in its savepoint (op).
 *
 * A read that rides in a simple query with other statements runs as EXECUTE of the connection's prepared copy
 * (parsed once per connection; planned as PostgreSQL's plan cache decides); a connection that has not prepared it
 * yet sends what is buffered first and runs the read alone, prepared.
 */
/** The statements each connection has prepared (by name) through a batch: PostgreSQL keeps them per session. */
const prepared = new WeakMap<PoolClient, Set<string>>();
function preparedOn(client: PoolClient): Set<string> {
  let names = prepared.get(client);
  if (!names) prepared.set(client, (names = new Set()));
  return names;
}

export class PgBatch {
  private heads = new Map<string, HeadEntry>();
  /** Heads as they were when the current write and each open nested savepoint began (innermost last). */
  private readonly journal: Map<string, HeadEntry>[] = [];
  private opsStarted = 0;
  private inOp = false;
  /** Whether the current write runs in a savepoint of its own (op) or in the batch's run without them (unguarded). */
  private guarded = true;
  /** Whether the current write has opened its savepoint (it does so with its first flush). */
  private opSavepoint = false;
  /** The previous write's savepoint, not yet released: released by the next SAVEPOINT op, or by COMMIT. */
  private releasePending = false;
  private pending: PendingWrite[] = [];
  /** Merged writes in `pending`, by group (see bufferMerged). */
  private readonly mergedWrites = new Map<string, PendingWrite>();
  /** Statements owed before anything else: BEGIN, sent with the batch's first statement (see PostgresStore). */
  private prefix: string[] = ['BEGIN'];
  /** Buffered rows to insert, by INSERT head (`INSERT INTO t (cols)`), then by key: sent as one multi-row INSERT each. */
  private readonly pendingRows = new Map<string, Map<string, unknown[]>>();
  /**
   * Per-domain answers about rows that are buffered and not yet sent (e.g. the ledger's pending receipts by hash).
   * Emptied whenever the buffer is: flushed (the rows are in the database now) or forgotten (the write was undone).
   */
  private readonly pendingViews = new Map<string, Map<string, unknown>>();
  /** Tenants locked by lockTenant whose lock has not been sent yet: it goes first in the next round trip. */
  private owedHeads: string[] = [];
  /** The current write runs again after a failed optimistic attempt: take nothing for granted (see op). */
  private checkedAttempt = false;
  /** The current write assumed an append new without looking (see assumeNew). */
  private assumedNew = false;
  /** Receipts this batch wrote (see PostgresStore.keepStatisticsFresh). */
  rowsInserted = 0;
  /**
   * Per-domain state that lives for the transaction and is dropped whenever a savepoint is rolled back (e.g. the
   * ledger's cache of obligation states). Its consistency rests on the tenant locks the batch holds.
   */
  readonly caches = new Map<string, Map<string, unknown>>();

  constructor(readonly client: PoolClient) {}

  // ── statements ──

  /**
   * A read that must see every write made so far in this transaction. Buffered writes travel in the same round
   * trip, ahead of it (a simple query with the read's values inlined); with nothing buffered it runs as a named
   * prepared statement. A parameter that PostgreSQL text cannot hold (U+0000) cannot equal any stored value: such a
   * read finds nothing, as on SQLite.
   */
  async read<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const safe = readableParams(values);
    if (!safe) {
      await this.flush();
      return [];
    }
    return (await this.run<R>(name, text, safe, false)).rows;
  }

  /**
   * A read whose caller merges the buffered writes into its answer itself. It still carries them along when there
   * are any: the round trip is paid anyway, and the end-of-write flush gets smaller.
   */
  async readBuffered<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    return this.read<R>(name, text, values);
  }

  /**
   * One parameterised statement after whatever is buffered, in one round trip: alone as a named prepared statement
   * when nothing is, else inlined at the end of the simple query that sends the buffer. A write opens the current
   * write's savepoint first.
   */
  private async run<R extends QueryResultRow>(name: string, text: string, values: unknown[], isWrite: boolean): Promise<QueryResult<R>> {
    const inlined = this.hasBuffered() || this.prefix.length > 0 || this.owedHeads.length > 0 || (isWrite && this.needsSavepoint())
      ? this.inline(name, values) : undefined;
    if (inlined === undefined) {
      await this.flush();
      // BEGIN (and the write's savepoint) before the statement, which runs alone.
      if (isWrite || this.prefix.length > 0) await this.openSavepoint();
      const result = await this.client.query<R>({ name, text, values });
      preparedOn(this.client).add(name);
      return result;
    }
    return (await this.send([], [inlined], isWrite))[0] as QueryResult<R>;
  }

  /**
   * A parameterised statement as it rides in a simple query: EXECUTE of this connection's prepared copy, so that
   * it is not parsed again (and its plan is kept where PostgreSQL finds a generic one as good). Undefined when the
   * connection has not prepared it yet (it then runs alone once, prepared) or a value has no literal form.
   */
  private inline(name: string, values: readonly unknown[]): string | undefined {
    if (!preparedOn(this.client).has(name)) return undefined;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`quittance: statement name ${JSON.stringify(name)}`);
    const args = values.length === 0 ? '' : `(${values.map((_, i) => `$${i + 1}`).join(', ')})`;
    return inlineParams(`EXECUTE "${name}"${args}`, values);
  }

  /**
   * Buffers a write until the next flush. `sql` takes its values from `literal`. When `expectRows` is given, the
   * flush fails (undoing the write) unless the statement reports exactly that many rows.
   */
  buffer(sql: string, options: { expectRows?: number; what?: string } = {}): void {
    const w: PendingWrite = { sql };
    if (options.expectRows !== undefined) w.expectRows = options.expectRows;
    if (options.what !== undefined) w.what = options.what;
    this.pending.push(w);
  }

  /**
   * Buffers a write that later calls with the same `group`, until the next flush, add items to instead of writing
   * one statement each (e.g. one UPDATE ... WHERE id = ANY(...) closing several rows). It keeps the place of the
   * group's first item, so use it only for statements that commute with the writes buffered between them. The flush
   * expects it to change one row per item.
   */
  bufferMerged(group: string, item: string, render: (items: readonly string[]) => string, what: string): void {
    let w = this.mergedWrites.get(group);
    if (!w) {
      w = { sql: '', merged: { items: [], render }, what };
      this.mergedWrites.set(group, w);
      this.pending.push(w);
    }
    w.merged!.items.push(item);
    w.expectRows = w.merged!.items.length;
  }

  /**
   * Buffers one row for a multi-row INSERT. Buffered rows go before the other buffered writes of the same flush:
   * use it only for tables whose other writes in this batch go through pendingRow.
   */
  bufferRow(insertHead: string, key: string, values: unknown[]): void {
    assertStorable(values);
    let rows = this.pendingRows.get(insertHead);
    if (!rows) this.pendingRows.set(insertHead, (rows = new Map()));
    // The key is the table's primary key: a second row with it is what the database would refuse.
    if (rows.has(key)) throw new Error(`quittance: ${insertHead} twice for the same key ${JSON.stringify(key)}`);
    rows.set(key, values);
  }

  /** The values of a buffered row, to change before it is sent (undefined once it was sent). */
  pendingRow(insertHead: string, key: string): unknown[] | undefined {
    return this.pendingRows.get(insertHead)?.get(key);
  }

  /** A view of buffered rows, by key (see pendingViews). */
  pendingView<V>(name: string): Map<string, V> {
    let v = this.pendingViews.get(name);
    if (!v) this.pendingViews.set(name, (v = new Map()));
    return v as Map<string, V>;
  }

  /** A transaction-long cache (see caches). */
  cache<V>(name: string): Map<string, V> {
    let v = this.caches.get(name);
    if (!v) this.caches.set(name, (v = new Map()));
    return v as Map<string, V>;
  }

  /** A write that runs at once (after the buffer, in the same round trip), inside the current write's savepoint. */
  async writeNow(name: string, text: string, values: unknown[]): Promise<QueryResult> {
    assertStorable(values);
    return this.run(name, text, values, true);
  }

  /** Sends every buffered write in one round trip, opening the current write's savepoint first if needed. */
  async flush(suffix = ''): Promise<void> {
    await this.send(suffix ? [suffix] : [], [], false);
  }

  private hasBuffered(): boolean {
    return this.pending.length > 0 || this.pendingRows.size > 0;
  }

  /**
   * One round trip: the statements still owed from the start of the transaction (BEGIN), the current write's
   * savepoint when anything in it writes or locks, the chain-head locks owed (lockTenant), every buffered write,
   * `after`, and `last`, whose results are returned.
   */
  private async send(after: string[], last: string[], lastWrites: boolean): Promise<QueryResult[]> {
    const writes: PendingWrite[] = [];
    for (const [head, rows] of this.pendingRows) {
      writes.push({ sql: `${head} VALUES ${[...rows.values()].map(tuple).join(', ')}`, expectRows: rows.size, what: head });
    }
    for (const w of this.pending) writes.push(w.merged ? { ...w, sql: w.merged.render(w.merged.items) } : w);
    const owed = this.owedHeads;
    if (writes.length === 0 && after.length === 0 && last.length === 0 && owed.length === 0) return [];
    this.pending = [];
    this.mergedWrites.clear();
    this.pendingRows.clear();
    this.owedHeads = [];
    for (const v of this.pendingViews.values()) v.clear();
    // A head lock can end in a deadlock error like a write: it opens the savepoint too (see selectHead).
    const opensSavepoint = writes.length > 0 || after.length > 0 || lastWrites || owed.length > 0;
    const prefix = [...this.prefix, ...(opensSavepoint ? this.savepointSql() : [])];
    this.prefix = [];
    const locks = owed.map((t) => inlineParams(HEAD_WAIT, [t])!);
    const statements = [...prefix, ...locks, ...writes.map((w) => w.sql), ...after, ...last];
    if (statements.length === 0) return [];
    const out = await this.client.query(statements.join(';\n'));
    const results = (Array.isArray(out) ? out : [out]) as QueryResult[];
    owed.forEach((tenantId, i) => {
      const row = results[prefix.length + i]?.rows[0] as { seq: number; chain_hash: string } | undefined;
      // Without the row nothing was locked, and what ran after the lock ran unprotected: undo it, run it checked.
      if (!row) throw new HeadNotLocked(tenantId);
      this.heads.set(tenantId, { head: { seq: row.seq, chain_hash: row.chain_hash }, dirty: false });
    });
    writes.forEach((w, i) => {
      const r = results[prefix.length + locks.length + i];
      if (w.expectRows !== undefined && r?.rowCount !== w.expectRows) {
        throw new Error(`quittance: ${w.what ?? 'write'} changed ${r?.rowCount} rows, expected ${w.expectRows}`);
      }
    });
    return results.slice(results.length - last.length);
  }

  private needsSavepoint(): boolean {
    return !this.opSavepoint && this.inOp && this.guarded;
  }

  private savepointSql(): string[] {
    if (!this.needsSavepoint()) return [];
    this.opSavepoint = true;
    const sql = this.releasePending ? ['RELEASE SAVEPOINT op', 'SAVEPOINT op'] : ['SAVEPOINT op'];
    this.releasePending = false;
    return sql;
  }

  private async openSavepoint(): Promise<void> {
    const sql = [...this.prefix, ...this.savepointSql()];
    this.prefix = [];
    if (sql.length) await this.client.query(sql.join('; '));
  }

  // ── savepoints ──

  /**
   * The group committer's per-write savepoint: one failing write is undone alone. A write that took something for
   * granted to save round trips (a head lock sent along with its first read, an append assumed new) and was wrong
   * is undone and run again at once, checked: its answer is the one it would have had without the shortcut.
   */
  async op<T>(fn: () => Promise<T>): Promise<T> {
    this.opsStarted++;
    for (let attempt = 0; ; attempt++) {
      this.checkedAttempt = attempt > 0;
      this.assumedNew = false;
      this.inOp = true;
      this.guarded = true;
      this.opSavepoint = false;
      this.journal.push(new Map(this.heads));
      let value: T;
      try {
        value = await fn();
        await this.flush();
      } catch (e) {
        this.forgetPending();
        this.heads = this.journal.pop()!;
        this.caches.clear();
        this.inOp = false;
        if (this.opSavepoint) {
          this.opSavepoint = false;
          await this.client.query('ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op');
        }
        // After an append assumed new, a coded refusal too is answered by the checked run: it might have been
        // answered differently had the receipt been found stored (appendInTx covers its own refusals the same way).
        if (!this.checkedAttempt && (e instanceof HeadNotLocked || (this.assumedNew && (isReceiptUniqueViolation(e) || isQuittanceError(e))))) continue;
        this.checkedAttempt = false;
        throw e;
      }
      this.journal.pop();
      this.inOp = false;
      this.checkedAttempt = false;
      if (this.opSavepoint) this.releasePending = true;
      return value;
    }
  }

  /**
   * One write of the group committer's run without savepoints (GroupBackend.unguarded). Any failure in that run
   * rolls the whole batch back and runs it again with op() (GroupBackend.unguardedFailureIsFinal is false), so it
   * takes every shortcut op takes, and one more: a write's buffered statements are not sent when it ends but with
   * the next write's first statement (or with COMMIT), one round trip fewer per write. A statement that fails
   * there fails the batch, whichever write it came from, and the run with savepoints answers for each.
   */
  async unguarded<T>(fn: () => Promise<T>): Promise<T> {
    this.opsStarted++;
    this.inOp = true;
    this.guarded = false;
    try {
      return await fn();
    } finally {
      this.inOp = false;
      this.guarded = true;
    }
  }

  /**
   * Whether an append may assume its receipt is new without looking up its hash and idempotency key: not in a
   * write's checked run. Saying yes commits the write to being run again, checked, should a unique index of
   * receipts refuse it.
   */
  assumeNew(): boolean {
    if (this.checkedAttempt || !this.inOp) return false;
    this.assumedNew = true;
    return true;
  }

  /** Tx.atomically: a nested savepoint inside the current write. */
  async atomically<T>(fn: () => Promise<T>): Promise<T> {
    const name = `nested_${this.journal.length}`;
    await this.flush(`SAVEPOINT ${name}`);
    this.journal.push(new Map(this.heads));
    let value: T;
    try {
      value = await fn();
      await this.flush(`RELEASE SAVEPOINT ${name}`);
    } catch (e) {
      this.forgetPending();
      this.heads = this.journal.pop()!;
      this.caches.clear();
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`);
      throw e;
    }
    this.journal.pop();
    return value;
  }

  private forgetPending(): void {
    this.owedHeads = [];
    this.pending = [];
    this.mergedWrites.clear();
    this.pendingRows.clear();
    for (const v of this.pendingViews.values()) v.clear();
  }

  /**
   * Writes back every head this batch advanced and commits, in one round trip. Answers the command PostgreSQL
   * reports for the COMMIT: ROLLBACK when an error had aborted the transaction. Throws CommitOutcomeUnknown when
   * COMMIT was sent and no answer from PostgreSQL says it did not run.
   */
  async commit(): Promise<string> {
    // Writes still buffered (the last write of a run without savepoints, see unguarded) go first, on their own:
    // their row counts and head locks are judged once the answer is back, and COMMIT must not have run by then.
    if (this.hasBuffered() || this.owedHeads.length > 0) await this.flush();
    for (const [tenantId, e] of this.heads) {
      if (e.dirty) {
        this.buffer(`UPDATE chain_heads SET seq = ${literal(e.head.seq)}, chain_hash = ${literal(e.head.chain_hash)} WHERE tenant_id = ${literal(tenantId)}`, {
          expectRows: 1, what: `chain head of ${tenantId}`,
        });
      }
    }
    // A batch that never sent anything has no transaction to commit.
    if (this.prefix.length > 0 && !this.hasBuffered()) return 'COMMIT';
    try {
      return (await this.send([], ['COMMIT'], false))[0]!.command;
    } catch (e) {
      // An error PostgreSQL answered aborted the transaction; without one (a broken connection, or a head write-back
      // found wrong after COMMIT ran), the batch may have committed and must not run again.
      throw e instanceof pg.DatabaseError ? e : new CommitOutcomeUnknown(e);
    }
  }

  // ── the sequencer ──

  /**
   * Takes the tenant for the rest of the transaction (once per batch). When the lock may be waited for (the batch's
   * first write), it is not sent on its own: it goes first in the round trip of the next statement, which then runs
   * under it. Everything else of the tenant is read or written after that statement, so nothing is read unlocked.
   */
  async lockTenant(tenantId: string): Promise<void> {
    if (this.heads.has(tenantId) || this.owedHeads.includes(tenantId)) return;
    assertStorable([tenantId]);
    if (this.inOp && this.opsStarted <= 1 && !this.checkedAttempt) this.owedHeads.push(tenantId);
    else await this.chainHead(tenantId);
  }

  /** Locks the tenant now (once per batch) and returns its chain head. */
  async chainHead(tenantId: string): Promise<ChainHead> {
    if (this.owedHeads.includes(tenantId)) await this.flush();
    const held = this.heads.get(tenantId);
    if (held) return held.head;
    assertStorable([tenantId]);
    // The batch's first write holds no other lock yet, so waiting cannot close a cycle; a later one must not wait.
    const wait = this.opsStarted <= 1;
    let row = await this.selectHead(tenantId, wait);
    if (!row) {
      // Tenants get their head row when created; this covers tenants written to before that.
      await this.writeNow('q_head_create', HEAD_CREATE, [tenantId, GENESIS_HASH]);
      row = await this.selectHead(tenantId, wait);
      if (!row) throw new Error(`chain head of tenant ${tenantId} vanished`);
    }
    const head = { seq: row.seq, chain_hash: row.chain_hash };
    this.heads.set(tenantId, { head, dirty: false });
    return head;
  }

  /** Locks several tenants in a fixed order (so two servers locking overlapping sets cannot wait on each other). */
  async lockTenants(tenantIds: Iterable<string>): Promise<void> {
    for (const t of [...new Set(tenantIds)].sort()) await this.chainHead(t);
  }

  setHead(tenantId: string, head: ChainHead): void {
    if (!this.heads.has(tenantId)) throw new Error(`chain head of tenant ${tenantId} set without holding it`);
    this.heads.set(tenantId, { head: { seq: head.seq, chain_hash: head.chain_hash }, dirty: true });
  }

  private async selectHead(tenantId: string, wait: boolean): Promise<{ seq: number; chain_hash: string } | undefined> {
    type Head = { seq: number; chain_hash: string };
    if (wait) {
      // A wait can end in a deadlock error (only with writes that lock tenants in other orders): undo this write only.
      // With its savepoint (and the batch's BEGIN) in the same round trip.
      return (await this.run<Head>('q_head_wait', HEAD_WAIT, [tenantId], true)).rows[0];
    }
    // SKIP LOCKED rather than NOWAIT: a busy head is an empty answer, not an error that would abort the transaction.
    const row = (await this.run<Head>('q_head_try', HEAD_TRY, [tenantId], false)).rows[0];
    if (row) return row;
    const exists = (await this.run('q_head_exists', HEAD_EXISTS, [tenantId], false)).rowCount;
    if (exists) throw new ChainHeadBusy(tenantId);
    return undefined;
  }
}
