import pg from 'pg';
import { GroupCommitter } from '../group-commit.js';
import type { ApiKeyInfo, ApiKeyRevocation, ApiKeyRow, ChainHead, ChainRow, ObligationState, OpenObligationFilter, ReceiptFilter, ReceiptText, Store, TenantRow, Tx } from '../types.js';
import type { Receipt } from '../../ledger/types.js';
import type { LeaseRow, TaskFilter, TaskRow } from '../../tasks/types.js';
import { currentVersion, migratePostgres } from './migrate.js';
import { ChainHeadBusy, PgBatch } from './batch.js';
import { PgLedgerReads, pgLedgerTx } from './ledger.js';
import { PgTaskReads, pgTaskTx } from './tasks.js';
import { PgTenants } from './tenants.js';
import { PgSessionReads, pgSessionTx } from './sessions.js';
import { PgEvidenceReads, pgEvidenceTx } from './evidence.js';
import { PgBlobStore } from './blobs.js';
import { PgRuntimeInstallReads, pgRuntimeTx } from './runtime.js';
import { PgContractReads, pgContractTx } from './contracts.js';
import { PgCapabilityReads, pgCapabilityTx } from './capabilities.js';
import { PgAutomationReads, pgAutomationTx } from './automation.js';
import { PgStampReads, SigningKeysBusy, pgStampTx } from './stamps.js';
import { PG_TYPES, quoteIdentifier } from './rows.js';
import { unreachableReason } from './unreachable.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database (libpq-style parameters in the query string work too). */
  connectionString: string;
  /** A schema to keep every table in (created if missing); by default the connection's search_path decides. */
  schema?: string;
  /** Most connections this store opens: one writes the current batch, the rest serve reads. */
  poolMax?: number;
  groupCommitMaxOps?: number;
}

/**
 * The scale-out backend: any number of Quittance servers on one PostgreSQL. Writes are group-committed (one pooled
 * connection per batch: BEGIN, the writes, COMMIT; run again with a savepoint per write if one failed); per-tenant
 * chains stay gapless across servers because each batch locks the chain heads it appends to (see PgBatch). Reads go
 * through the pool.
 *
 * The constructor only starts the migration; every method waits for it, so a failure (unreachable database,
 * QUITTANCE_ERR_SCHEMA_TOO_NEW) surfaces on the first call. A migration that failed because PostgreSQL could not be
 * reached runs again on the next call, so a program holding the store recovers once the database is back; any other
 * failure stays. `openPostgresStore` waits for it up front (and `quittance serve` exits when it fails).
 */
export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  readonly schema: string | undefined;
  private readonly pool: pg.Pool;
  /** The migration this store's calls wait for; undefined once one failed for want of the database. */
  private migration: Promise<number> | undefined;
  private readonly committer: GroupCommitter<PgTx>;
  private readonly reads: PgLedgerReads;
  private readonly taskReads: PgTaskReads;
  private readonly tenants: PgTenants;
  readonly stamps: PgStampReads;
  readonly sessions: PgSessionReads;
  readonly evidence: PgEvidenceReads;
  /** Evidence bytes: the evidence_blobs table, which every server shares. */
  readonly blobs: PgBlobStore;
  readonly runtimeInstalls: PgRuntimeInstallReads;
  readonly contracts: PgContractReads;
  readonly capabilities: PgCapabilityReads;
  readonly automation: PgAutomationReads;
  private closed = false;
  private receiptsWritten = 0;
  private nextAnalyzeAt = 1000;

  constructor(options: PostgresStoreOptions) {
    this.schema = options.schema;
    const settings = [
      // COMMIT returns only once the commit record is flushed to disk: an acknowledged append is durable, so the
      // group committer needs no separate sync step. Set here so a server-wide `off` cannot weaken it.
      '-c synchronous_commit=on',
      ...(options.schema !== undefined ? [`-c search_path=${quoteIdentifier(options.schema)}`] : []),
    ];
    const { connectionString, urlOptions } = splitOptions(options.connectionString);
    this.pool = new pg.Pool({ connectionString, max: options.poolMax ?? 10, types: PG_TYPES, options: [urlOptions, ...settings].filter(Boolean).join(' ') });
    // An idle pooled connection that breaks (server restart) is dropped by the pool; the next query opens another.
    this.pool.on('error', () => undefined);
    this.migration = this.migrate();

    this.committer = new GroupCommitter<PgTx>(
      {
        transaction: (body) => this.transaction(body),
        savepoint: (tx, fn) => tx.batch.op(fn),
        deferred: (e) => e instanceof ChainHeadBusy || e instanceof SigningKeysBusy,
        // A batch first runs without savepoints, each write's statements riding with the next one's first read
        // (PgBatch.unguarded); if anything fails, it runs again with a savepoint per write (PgBatch.op).
        savepointsOnlyOnFailure: true,
        unguarded: (tx, fn) => tx.batch.unguarded(fn),
        unguardedFailureIsFinal: false,
      },
      options.groupCommitMaxOps ?? 2000,
    );
    this.reads = new PgLedgerReads(this.pool);
    this.taskReads = new PgTaskReads(this.pool);
    this.tenants = new PgTenants(this.pool);
    this.stamps = new PgStampReads(this.pool, this.ready);
    this.sessions = new PgSessionReads(this.pool, this.ready);
    this.evidence = new PgEvidenceReads(this.pool, this.ready);
    this.blobs = new PgBlobStore(this.pool, this.ready);
    this.runtimeInstalls = new PgRuntimeInstallReads(this.pool, this.ready);
    this.contracts = new PgContractReads(this.pool, this.ready);
    this.capabilities = new PgCapabilityReads(this.pool, this.ready);
    this.automation = new PgAutomationReads(this.pool, this.ready);
  }

  /** Resolves once migrations are applied (or rejects with why they could not be). */
  async opened(): Promise<this> {
    await this.ready();
    return this;
  }

  /** The migration, started again when the last one could not reach PostgreSQL (what every call waits for). */
  private readonly ready = (): Promise<number> => (this.migration ??= this.migrate());

  private migrate(): Promise<number> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    const m = migratePostgres(this.pool, this.schema);
    // Reported to whoever calls first (this handler runs before theirs); not an unhandled rejection when nobody does.
    m.catch((e: unknown) => {
      if (this.migration === m && unreachableReason(e) !== undefined) this.migration = undefined;
    });
    return m;
  }

  /** One batch: one pooled connection, BEGIN ... COMMIT. READ COMMITTED: each statement sees what committed before it. */
  private async transaction(body: (tx: PgTx) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // The pool listens for 'error' only on idle clients: a connection that breaks while this batch holds it emits
    // one here, which unheard would end the process (and every request in flight). The statement that was running
    // fails by itself; this only keeps the broken connection out of the pool.
    const onError = (e: Error) => (broken ??= e);
    client.on('error', onError);
    try {
      try {
        // BEGIN travels with the batch's first statement, and the chain-head write-back with COMMIT (PgBatch).
        const batch = new PgBatch(client);
        await body(batchTx(batch));
        const done = await batch.commit();
        // COMMIT of a transaction that an error aborted answers ROLLBACK instead of failing: never acknowledge that.
        if (done !== 'COMMIT') throw new Error(`quittance: transaction was rolled back (${done})`);
        this.keepStatisticsFresh(batch.rowsInserted);
      } catch (e) {
        await client.query('ROLLBACK').catch((re: Error) => (broken = re));
        throw e;
      }
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /**
   * A young database has no planner statistics, and a plan a connection caches then (every index here starts with
   * tenant_id, so at a few rows they all cost the same) can scan a whole tenant per lookup once the tables are big.
   * Autovacuum fixes that within a minute or so; until then this store ANALYZEs the busy tables itself each time it
   * has written ten times more receipts (1k, 10k, ... 1M), which also makes every session re-plan. In the
   * background: nothing waits for it.
   */
  private keepStatisticsFresh(receipts: number): void {
    this.receiptsWritten += receipts;
    if (this.receiptsWritten < this.nextAnalyzeAt || this.nextAnalyzeAt > 1_000_000) return;
    this.nextAnalyzeAt *= 10;
    this.pool.query('ANALYZE receipts, obligations, chain_heads, tasks, leases').catch(() => undefined);
  }

  async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    await this.ready();
    return this.committer.submit(fn);
  }

  async receipt(tenantId: string, receiptId: string): Promise<Receipt | undefined> {
    await this.ready();
    return this.reads.receipt(tenantId, receiptId);
  }
  async listReceipts(tenantId: string, filter: ReceiptFilter): Promise<Receipt[]> {
    await this.ready();
    return this.reads.listReceipts(tenantId, filter);
  }
  async openObligations(tenantId: string, filter: OpenObligationFilter): Promise<Receipt[]> {
    await this.ready();
    return this.reads.openObligations(tenantId, filter);
  }
  async openObligationRows(tenantId: string, afterSeq: number, limit: number): Promise<{ seq: number; receipt_id: string; type: string }[]> {
    await this.ready;
    return this.reads.openObligationRows(tenantId, afterSeq, limit);
  }
  async openObligationsText(tenantId: string, filter: OpenObligationFilter): Promise<ReceiptText[]> {
    await this.ready();
    return this.reads.openObligationsText(tenantId, filter);
  }
  async obligationState(tenantId: string, receiptId: string): Promise<ObligationState | undefined> {
    await this.ready();
    return this.reads.obligationState(tenantId, receiptId);
  }
  async chainSegment(tenantId: string, fromSeq: number, limit: number): Promise<ChainRow[]> {
    await this.ready();
    return this.reads.chainSegment(tenantId, fromSeq, limit);
  }
  async chainHeadOf(tenantId: string): Promise<ChainHead> {
    await this.ready();
    return this.reads.chainHead(tenantId);
  }
  async countReceipts(tenantId?: string): Promise<number> {
    await this.ready();
    return this.reads.countReceipts(tenantId);
  }

  async task(tenantId: string, taskId: string): Promise<TaskRow | undefined> {
    await this.ready();
    return this.taskReads.task(tenantId, taskId);
  }
  async listTasks(tenantId: string, filter: TaskFilter): Promise<TaskRow[]> {
    await this.ready();
    return this.taskReads.listTasks(tenantId, filter);
  }
  async lease(tenantId: string, leaseId: string): Promise<LeaseRow | undefined> {
    await this.ready();
    return this.taskReads.leaseById(tenantId, leaseId);
  }
  async anyLeaseDue(now: number): Promise<boolean> {
    await this.ready();
    return this.taskReads.anyLeaseDue(now);
  }

  async createTenant(row: TenantRow, firstKey?: ApiKeyRow): Promise<void> {
    await this.ready();
    return this.tenants.createTenant(row, firstKey);
  }
  async tenantByName(name: string): Promise<TenantRow | undefined> {
    await this.ready();
    return this.tenants.tenantByName(name);
  }
  async tenantById(tenantId: string): Promise<TenantRow | undefined> {
    await this.ready();
    return this.tenants.tenantById(tenantId);
  }
  async listTenants(): Promise<TenantRow[]> {
    await this.ready();
    return this.tenants.listTenants();
  }
  async ledgerTenantIds(): Promise<string[]> {
    await this.ready;
    return this.tenants.ledgerTenantIds();
  }
  async createApiKey(row: ApiKeyRow): Promise<void> {
    await this.ready();
    return this.tenants.createApiKey(row);
  }
  async apiKeyById(keyId: string): Promise<ApiKeyRow | undefined> {
    await this.ready();
    return this.tenants.apiKeyById(keyId);
  }
  async listApiKeys(tenantId: string): Promise<ApiKeyInfo[]> {
    await this.ready();
    return this.tenants.listApiKeys(tenantId);
  }
  async revokeApiKey(keyId: string, revokedAt: string, tenantId?: string): Promise<ApiKeyRevocation | undefined> {
    await this.ready();
    return this.tenants.revokeApiKey(keyId, revokedAt, tenantId);
  }

  unreachable(err: unknown): string | undefined {
    return unreachableReason(err);
  }

  async schemaVersion(): Promise<{ current: number; known: number }> {
    const known = await this.ready();
    return { current: await currentVersion(this.pool), known };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.migration?.catch(() => undefined);
    await this.committer.drain();
    await this.pool.end();
  }
}

/** The Tx domain code sees for one batch: every backend-specific piece over the batch's connection and locks. */
type PgTx = Tx & { readonly batch: PgBatch };

function batchTx(batch: PgBatch): PgTx {
  return { ...pgLedgerTx(batch), ...pgTaskTx(batch), ...pgStampTx(batch), ...pgSessionTx(batch), ...pgEvidenceTx(batch), ...pgRuntimeTx(batch), ...pgContractTx(batch), ...pgCapabilityTx(batch), ...pgAutomationTx(batch), atomically: (fn) => batch.atomically(fn), batch };
}

export function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  return store.opened().catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
}

/**
 * Takes libpq's `options` parameter (e.g. `?options=-c%20search_path%3Dledger`) out of the URL: node-postgres lets
 * the URL's value replace the store's own settings, so the store passes both together instead, the URL's first.
 */
function splitOptions(url: string): { connectionString: string; urlOptions: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { connectionString: url, urlOptions: '' };
  }
  const urlOptions = u.searchParams.get('options') ?? '';
  if (!urlOptions) return { connectionString: url, urlOptions };
  u.searchParams.delete('options');
  return { connectionString: u.toString(), urlOptions };
}

/**
 * Whether the database and schema a connection string selects hold a Quittance ledger (its schema_migrations
 * table), asked without creating anything: opening a store there would migrate an empty schema into a new ledger.
 */
export async function postgresLedgerExists(url: string): Promise<boolean> {
  const { connectionString, urlOptions } = splitOptions(url);
  const client = new pg.Client({ connectionString, ...(urlOptions && { options: urlOptions }) });
  await client.connect();
  try {
    // to_regclass looks along the search_path (the URL's options may set it) and is null when nothing is there.
    const r = await client.query<{ found: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS found");
    return r.rows[0]!.found;
  } finally {
    await client.end();
  }
}

/** A connection string with its password hidden, for logs and banners. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}
