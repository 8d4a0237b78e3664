import BetterSqlite3, { type Database } from 'better-sqlite3';
import { existsSync, fsync, mkdirSync, open, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GroupCommitter } from '../group-commit.js';
import type { ApiKeyInfo, ApiKeyRevocation, ApiKeyRow, ChainHead, ChainRow, ObligationState, OpenObligationFilter, ReceiptFilter, ReceiptText, Store, TenantRow, Tx } from '../types.js';
import type { Receipt } from '../../ledger/types.js';
import { migrateSqlite } from './migrate.js';
import { SqliteLedgerReads, TxChainHeads, sqliteLedgerTx } from './ledger.js';
import { SqliteTenants } from './tenants.js';
import { SqliteSessionReads, sqliteSessionTx } from './sessions.js';
import { SqliteTaskReads, sqliteTaskTx } from './tasks.js';
import { SqliteStampReads, sqliteStampTx } from './stamps.js';
import { SqliteEvidenceReads, sqliteEvidenceTx } from './evidence.js';
import { SqliteRuntimeInstallReads, sqliteRuntimeTx } from './runtime.js';
import { SqliteContractReads, sqliteContractTx } from './contracts.js';
import { SqliteCapabilityReads, sqliteCapabilityTx } from './capabilities.js';
import { SqliteAutomationReads, sqliteAutomationTx } from './automation.js';
import { FileBlobStore } from './blobs.js';
import { WalCheckpointer } from './checkpointer.js';
import type { LeaseRow, TaskFilter, TaskRow } from '../../tasks/types.js';

export interface SqliteStoreOptions {
  /** Folder holding quittance.db; created if missing. */
  dataDir?: string;
  /** Explicit database file (overrides dataDir). ':memory:' is not supported: the reader needs a file. */
  file?: string;
  groupCommitMaxOps?: number;
  /**
   * WAL pages after which a commit checkpoints them back into the database (default 10,000, ~40 MB) when no
   * checkpoint thread runs (see checkpointIntervalMs). 0 turns checkpoints off altogether (no thread either): the WAL then only grows, which
   * the store bench uses to count pages written.
   */
  walAutocheckpointPages?: number;
  /**
   * When set (> 0), a thread of the store's own checkpoints the WAL this often (see WalCheckpointer; `quittance
   * serve` uses 250 ms), and the writer checkpoints by itself only past 10 × walAutocheckpointPages, as a safety
   * net. Unset or 0 (the default, right for a short-lived store such as a CLI command's): no thread.
   */
  checkpointIntervalMs?: number;
}

/** While the checkpoint thread runs, the writer's own checkpoint threshold is this many times the usual one. */
const SAFETY_NET_FACTOR = 10;

export const SQLITE_FILE_NAME = 'quittance.db';

export function sqliteFileFor(options: SqliteStoreOptions): string {
  return options.file ?? join(options.dataDir ?? '.quittance', SQLITE_FILE_NAME);
}

/**
 * Whether `file` holds a ledger: it exists and has the migrations table. An empty file is a database with no tables
 * (SQLite reads it so), which opening the store would migrate into a new, empty ledger. Reads only: the file is
 * opened without being created, and nothing is written to it. A file that is not a database throws.
 */
export function sqliteLedgerExists(file: string): boolean {
  if (!existsSync(file)) return false;
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
  } finally {
    db.close();
  }
}

/*
 * Every `LIMIT` in this folder is written `LIMIT CAST(? AS INTEGER)`, never `LIMIT ?`: SQLite's planner reads the
 * value bound to a bare `LIMIT ?`, so each new binding re-prepares the statement (measured: ~40 us instead of ~5 us
 * for an indexed claim query). Wrapped in an expression, the value is bound like any other.
 */
/** `walAutocheckpointPages` applies to the writer only (a read-only connection never checkpoints). */
function openConnection(file: string, readonly: boolean, walAutocheckpointPages = 0): Database {
  const db = new BetterSqlite3(file, { readonly, fileMustExist: readonly });
  // Another process (the CLI creating a key while the server runs) may hold the write lock for a moment.
  db.pragma('busy_timeout = 5000');
  if (!readonly) {
    // WAL: readers never block the writer and the writer never blocks readers.
    db.pragma('journal_mode = WAL');
    // Checkpoint every ~40 MB of WAL instead of every 4 MB: index pages dirtied by many commits are copied back
    // into the database once per checkpoint, not once per 1,000 pages. Measured: ~1.6x more appends/s.
    db.pragma(`wal_autocheckpoint = ${walAutocheckpointPages}`);
  }
  // NORMAL: COMMIT writes the WAL to the OS without fsync; SqliteStore.syncWal() fsyncs it on the thread pool
  // before any write is acknowledged (see group-commit.ts), so an acknowledged append survives power loss
  // while the event loop keeps working during the fsync. Checkpoints still fsync the WAL first.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Savepoints (one per write, one per batch item) keep their undo records in memory, not in a temp file.
  db.pragma('temp_store = MEMORY');
  return db;
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly file: string;
  private readonly writer: Database;
  private readonly reader: Database;
  private readonly tx: Tx;
  private readonly committer: GroupCommitter<Tx>;
  private readonly reads: SqliteLedgerReads;
  private readonly tenants: SqliteTenants;
  private readonly taskReads: SqliteTaskReads;
  readonly stamps: SqliteStampReads;
  readonly sessions: SqliteSessionReads;
  readonly evidence: SqliteEvidenceReads;
  /** Evidence bytes: files under <data dir>/evidence, beside the database. */
  readonly blobs: FileBlobStore;
  readonly runtimeInstalls: SqliteRuntimeInstallReads;
  readonly contracts: SqliteContractReads;
  readonly capabilities: SqliteCapabilityReads;
  readonly automation: SqliteAutomationReads;
  private readonly known: number;
  /** Checkpoints the WAL off the event loop (see WalCheckpointer); undefined when checkpoints are off or inline. */
  readonly checkpointer: WalCheckpointer | undefined;
  private closed = false;

  constructor(options: SqliteStoreOptions = {}) {
    this.file = sqliteFileFor(options);
    mkdirSync(dirname(this.file), { recursive: true });
    const pages = Math.max(0, Math.trunc(options.walAutocheckpointPages ?? 10_000));
    const intervalMs = options.checkpointIntervalMs ?? 0;
    const threaded = pages > 0 && intervalMs > 0;
    this.writer = openConnection(this.file, false, threaded ? pages * SAFETY_NET_FACTOR : pages);
    this.known = migrateSqlite(this.writer);
    // The database and WAL files exist now: make their directory entries durable once.
    const dirFd = openSync(dirname(this.file), 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
    this.reader = openConnection(this.file, true);
    if (threaded) {
      this.checkpointer = new WalCheckpointer(this.file, intervalMs, (error) => {
        if (this.closed) return;
        // The thread is gone: the writer checkpoints by itself again, as it would without one.
        this.writer.pragma(`wal_autocheckpoint = ${pages}`);
        process.emitWarning(`the WAL checkpoint thread stopped (${error.message}); commits checkpoint the WAL again`, 'QuittanceWarning');
      });
    }

    const savepoint = this.writer.prepare('SAVEPOINT q');
    const release = this.writer.prepare('RELEASE q');
    const rollbackTo = this.writer.prepare('ROLLBACK TO q');
    const heads = new TxChainHeads(this.writer);
    const inSavepoint = async <T>(fn: () => Promise<T>): Promise<T> => {
      savepoint.run();
      const before = heads.snapshot();
      try {
        const v = await fn();
        release.run();
        return v;
      } catch (e) {
        rollbackTo.run();
        release.run();
        heads.restore(before);
        throw e;
      }
    };
    this.tx = { ...sqliteLedgerTx(this.writer, heads), ...sqliteTaskTx(this.writer), ...sqliteStampTx(this.writer), ...sqliteSessionTx(this.writer), ...sqliteEvidenceTx(this.writer), ...sqliteRuntimeTx(this.writer), ...sqliteContractTx(this.writer), ...sqliteCapabilityTx(this.writer), ...sqliteAutomationTx(this.writer), atomically: inSavepoint };

    // BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails half-way on a lock upgrade.
    const begin = this.writer.prepare('BEGIN IMMEDIATE');
    const commit = this.writer.prepare('COMMIT');
    const rollback = this.writer.prepare('ROLLBACK');
    this.committer = new GroupCommitter<Tx>(
      {
        transaction: async (body) => {
          begin.run();
          try {
            await body(this.tx);
            heads.flush();
            commit.run();
          } catch (e) {
            heads.discard();
            if (this.writer.inTransaction) rollback.run();
            throw e;
          }
        },
        savepoint: (_tx, fn) => inSavepoint(fn),
        // Every write function here is safe to run again after a rollback: the chain heads roll back with it
        // (heads.discard), and what the engines keep in memory is either re-derived or only ever moves forward.
        savepointsOnlyOnFailure: true,
        sync: () => this.syncWal(),
      },
      options.groupCommitMaxOps ?? 2000,
    );
    this.reads = new SqliteLedgerReads(this.reader);
    this.tenants = new SqliteTenants(this.writer, this.reader);
    this.taskReads = new SqliteTaskReads(this.reader);
    this.stamps = new SqliteStampReads(this.reader);
    this.sessions = new SqliteSessionReads(this.reader);
    this.evidence = new SqliteEvidenceReads(this.reader);
    this.blobs = new FileBlobStore(join(dirname(this.file), 'evidence'));
    this.runtimeInstalls = new SqliteRuntimeInstallReads(this.reader);
    this.contracts = new SqliteContractReads(this.reader);
    this.capabilities = new SqliteCapabilityReads(this.reader);
    this.automation = new SqliteAutomationReads(this.reader);
  }

  /**
   * fsync of the WAL file (fsync covers the file, whichever descriptor asks), on libuv's thread pool. The
   * descriptor stays open: SQLite keeps the same WAL file (checkpoints rewind it, never replace it) for as long
   * as this writer connection is open. An absent WAL means everything is already in the database.
   */
  private walFd: number | undefined;
  private syncWal(): Promise<void> {
    return new Promise((resolve, reject) => {
      const withFd = (fd: number) => fsync(fd, (syncErr) => (syncErr ? reject(syncErr) : resolve()));
      if (this.walFd !== undefined) return withFd(this.walFd);
      open(this.file + '-wal', 'r', (err, fd) => {
        if (err) return err.code === 'ENOENT' ? resolve() : reject(err);
        this.walFd = fd;
        withFd(fd);
      });
    });
  }

  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return this.committer.submit(fn);
  }

  async receipt(tenantId: string, receiptId: string): Promise<Receipt | undefined> {
    return this.reads.receipt(tenantId, receiptId);
  }
  async listReceipts(tenantId: string, filter: ReceiptFilter): Promise<Receipt[]> {
    return this.reads.listReceipts(tenantId, filter);
  }
  async openObligations(tenantId: string, filter: OpenObligationFilter): Promise<Receipt[]> {
    return this.reads.openObligations(tenantId, filter);
  }
  async openObligationRows(tenantId: string, afterSeq: number, limit: number): Promise<{ seq: number; receipt_id: string; type: string }[]> {
    return this.reads.openObligationRows(tenantId, afterSeq, limit);
  }
  async openObligationsText(tenantId: string, filter: OpenObligationFilter): Promise<ReceiptText[]> {
    return this.reads.openObligationsText(tenantId, filter);
  }
  async obligationState(tenantId: string, receiptId: string): Promise<ObligationState | undefined> {
    return this.reads.obligationState(tenantId, receiptId);
  }
  async chainSegment(tenantId: string, fromSeq: number, limit: number): Promise<ChainRow[]> {
    return this.reads.chainSegment(tenantId, fromSeq, limit);
  }
  async chainHeadOf(tenantId: string): Promise<ChainHead> {
    return this.reads.chainHead(tenantId);
  }
  async countReceipts(tenantId?: string): Promise<number> {
    const row = tenantId === undefined
      ? (this.reader.prepare('SELECT count(*) AS n FROM receipts').get() as { n: number })
      : (this.reader.prepare('SELECT count(*) AS n FROM receipts WHERE tenant_id = ?').get(tenantId) as { n: number });
    return row.n;
  }

  async task(tenantId: string, taskId: string): Promise<TaskRow | undefined> {
    return this.taskReads.task(tenantId, taskId);
  }
  async listTasks(tenantId: string, filter: TaskFilter): Promise<TaskRow[]> {
    return this.taskReads.listTasks(tenantId, filter);
  }
  async lease(tenantId: string, leaseId: string): Promise<LeaseRow | undefined> {
    return this.taskReads.leaseById(tenantId, leaseId);
  }
  async anyLeaseDue(now: number): Promise<boolean> {
    return this.taskReads.anyLeaseDue(now);
  }

  /**
   * Tenant and key writes go through the group committer like every other write: acknowledged only once the WAL is
   * fsynced, and never run on the writer while another write's transaction is open (they would commit or roll back
   * with it).
   */
  async createTenant(row: TenantRow, firstKey?: ApiKeyRow): Promise<void> {
    return this.write(async () => {
      this.tenants.createTenant(row);
      if (firstKey) this.tenants.createApiKey(firstKey);
    });
  }
  async tenantByName(name: string): Promise<TenantRow | undefined> {
    return this.tenants.tenantByName(name);
  }
  async tenantById(tenantId: string): Promise<TenantRow | undefined> {
    return this.tenants.tenantById(tenantId);
  }
  async listTenants(): Promise<TenantRow[]> {
    return this.tenants.listTenants();
  }
  async ledgerTenantIds(): Promise<string[]> {
    return this.tenants.ledgerTenantIds();
  }
  async createApiKey(row: ApiKeyRow): Promise<void> {
    return this.write(async () => this.tenants.createApiKey(row));
  }
  async apiKeyById(keyId: string): Promise<ApiKeyRow | undefined> {
    return this.tenants.apiKeyById(keyId);
  }
  async listApiKeys(tenantId: string): Promise<ApiKeyInfo[]> {
    return this.tenants.listApiKeys(tenantId);
  }
  /** Through the group committer too (see createTenant): a revocation lost to power loss would let the key work again. */
  async revokeApiKey(keyId: string, revokedAt: string, tenantId?: string): Promise<ApiKeyRevocation | undefined> {
    return this.write(async () => this.tenants.revokeApiKey(keyId, revokedAt, tenantId));
  }

  /** A file on this machine: there is no connection to lose. */
  unreachable(): undefined {
    return undefined;
  }

  async schemaVersion(): Promise<{ current: number; known: number }> {
    const row = this.reader.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number };
    return { current: row.v, known: this.known };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.committer.drain();
    this.closed = true;
    await this.checkpointer?.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.reader.close();
    this.writer.close();
  }
}

export function openSqliteStore(options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(options);
}

