/**
 * The one narrow storage interface. Two implementations (store/sqlite, store/postgres) pass one contract suite.
 *
 * Writes happen only inside `write(fn)`: the function runs atomically (all or nothing), possibly group-committed
 * with other writes in one transaction, and its promise resolves only once the transaction is durable. Domain
 * logic (ledger/append.ts, tasks, stamps, ...) is written once against `Tx` and runs on every backend.
 */
import type { Principal, Receipt } from '../ledger/types.js';
import type { LeaseRow, TaskFilter, TaskRow } from '../tasks/types.js';

export interface ChainRow {
  seq: number;
  receipt?: Receipt;
  defect?: string;
}

export interface ChainHead {
  seq: number;
  chain_hash: string;
}

export interface ObligationState {
  receipt_id: string;
  type: string;
  open: boolean;
  closed_by?: string;
  closed_at?: string;
}

export interface TenantRow {
  tenant_id: string;
  name: string;
  created_at: string;
}

export interface ApiKeyRow {
  key_id: string;
  tenant_id: string;
  secret_hash: string;
  scopes: string[];
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** Receipt operations inside a write transaction. */
export interface LedgerTx {
  chainHead(tenantId: string): Promise<ChainHead>;
  setChainHead(tenantId: string, head: ChainHead): Promise<void>;
  receiptByHash(tenantId: string, hash: string): Promise<Receipt | undefined>;
  receiptByIdempotencyKey(tenantId: string, key: string): Promise<Receipt | undefined>;
  receiptsByIds(tenantId: string, ids: readonly string[]): Promise<Receipt[]>;
  obligationStates(tenantId: string, ids: readonly string[]): Promise<ObligationState[]>;
  insertReceipt(receipt: Receipt): Promise<void>;
  /** Record `receipt` (an obligation type) as open, addressed to its `to` principal. */
  openObligation(receipt: Receipt): Promise<void>;
  closeObligation(tenantId: string, obligationId: string, closedBy: string, closedAt: string): Promise<void>;
  /** Telemetry only: sets delivered_at where it is unset; returns the stored value for every id. */
  markDelivered(tenantId: string, receiptIds: readonly string[], at: string): Promise<Map<string, string>>;
}

/** Task and lease rows (src/tasks). Rows are read and written whole; the engine decides, the store persists. */
export interface TaskTx {
  insertTask(row: TaskRow): Promise<void>;
  updateTask(row: TaskRow): Promise<void>;
  taskById(tenantId: string, taskId: string): Promise<TaskRow | undefined>;
  taskByIdempotencyKey(tenantId: string, key: string): Promise<TaskRow | undefined>;
  /**
   * Queued tasks by priority then age, after the (priority, queue_seq) position given: one page of the queue.
   * The engine filters eligibility (time, type, capabilities) and pages on; on PostgreSQL rows come locked
   * FOR UPDATE SKIP LOCKED so concurrent claimers never see the same task.
   */
  claimCandidates(tenantId: string, after: { priority: number; queue_seq: number } | undefined, limit: number): Promise<TaskRow[]>;
  insertLease(row: LeaseRow): Promise<void>;
  updateLease(row: LeaseRow): Promise<void>;
  leaseById(tenantId: string, leaseId: string): Promise<LeaseRow | undefined>;
  /** Active leases whose expires_at ≤ now, across tenants, oldest expiry first. */
  dueLeases(now: number, limit: number): Promise<LeaseRow[]>;
}

export interface Tx extends LedgerTx, TaskTx {
  /** Runs fn in a nested savepoint: if it throws, its writes are undone and the enclosing transaction goes on. */
  atomically<T>(fn: () => Promise<T>): Promise<T>;
}

export interface ReceiptFilter {
  type?: string;
  task_id?: string;
  /** Receipts sent by or addressed to this principal (kind and id). */
  principal?: Pick<Principal, 'kind' | 'id'>;
  /** Lower bound on created_at (inclusive), RFC 3339. */
  since?: string;
  /** Only receipts with seq greater than this (the cursor). */
  after_seq: number;
  limit: number;
}

export interface OpenObligationFilter {
  principal?: Pick<Principal, 'kind' | 'id'>;
  after_seq: number;
  limit: number;
}

export interface Store {
  readonly backend: 'sqlite' | 'postgres';

  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;

  // ── reads (see committed data only) ──
  receipt(tenantId: string, receiptId: string): Promise<Receipt | undefined>;
  listReceipts(tenantId: string, filter: ReceiptFilter): Promise<Receipt[]>;
  openObligations(tenantId: string, filter: OpenObligationFilter): Promise<Receipt[]>;
  obligationState(tenantId: string, receiptId: string): Promise<ObligationState | undefined>;
  /**
   * Receipts of one tenant in seq order from `fromSeq` (inclusive), for chain verification. A stored row that
   * cannot be read back exactly (not valid JSON, or not in the canonical form the ledger wrote) comes back as a
   * defect instead of a receipt.
   */
  chainSegment(tenantId: string, fromSeq: number, limit: number): Promise<ChainRow[]>;
  chainHeadOf(tenantId: string): Promise<ChainHead>;
  countReceipts(tenantId?: string): Promise<number>;

  task(tenantId: string, taskId: string): Promise<TaskRow | undefined>;
  listTasks(tenantId: string, filter: TaskFilter): Promise<TaskRow[]>;
  lease(tenantId: string, leaseId: string): Promise<LeaseRow | undefined>;

  // ── tenants and keys (administrative, not on the hot path) ──
  createTenant(row: TenantRow): Promise<void>;
  tenantByName(name: string): Promise<TenantRow | undefined>;
  tenantById(tenantId: string): Promise<TenantRow | undefined>;
  listTenants(): Promise<TenantRow[]>;
  createApiKey(row: ApiKeyRow): Promise<void>;
  apiKeyById(keyId: string): Promise<ApiKeyRow | undefined>;

  /** Current schema version and the newest this code knows. */
  schemaVersion(): Promise<{ current: number; known: number }>;
  close(): Promise<void>;
}
