/**
 * The one narrow storage interface. Two implementations (store/sqlite, store/postgres) pass one contract suite.
 *
 * Writes happen only inside `write(fn)`: the function runs atomically (all or nothing), possibly group-committed
 * with other writes in one transaction, and its promise resolves only once the transaction is durable. Domain
 * logic (ledger/append.ts, tasks, stamps, ...) is written once against `Tx` and runs on every backend.
 */
import type { Principal, Receipt } from '../ledger/types.js';
import type { LeaseRow, TaskFilter, TaskRow } from '../tasks/types.js';
import type { LiveStampStatus, SigningKeyRole, SigningKeyRow, StampClose, StampClosing, StampRow, StampStatus, VerificationKeyRow } from '../stamps/types.js';
import type { OrphanFilter, OrphanKey, OrphanRow, SessionEventRow, SessionKey, SessionRow } from '../sessions/types.js';
import type { BlobStore, EvidenceRow } from '../evidence/types.js';
import type { RuntimeInstallRow } from '../runtime/types.js';
import type { ContractFilter, ContractRow, StoredContract } from '../contracts/stored.js';
import type { CapabilityEventRow, CapabilityListFilter, CapabilityRow } from '../capabilities/types.js';
import type { AutomationListFilter, AutomationSessionRow } from '../automation/types.js';
import type { ReceiptTexts } from '../ledger/hashing.js';

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

/** An API key as it may be shown: everything but the hash of its secret. */
export type ApiKeyInfo = Omit<ApiKeyRow, 'secret_hash'>;

/** What revoking a key found: the key, its revoked_at that of the first revocation, and whether this call made it. */
export interface ApiKeyRevocation {
  key: ApiKeyInfo;
  revokedNow: boolean;
}

/** One receipt as JSON text, with what the ledger needs to page and to stamp first deliveries. */
export interface ReceiptText {
  seq: number;
  receipt_id: string;
  delivered: boolean;
  /** Null for an open obligation whose receipt is not there (a damaged database; `quittance verify` reports it). */
  json: string | null;
}

export interface ReceiptRef {
  receipt_id: string;
  type: string;
}

/** Receipt operations inside a write transaction. */
/** What the append rules look up for one receipt before writing it (see LedgerTx.prefetchForAppend). */
export interface AppendLookup {
  hash: string;
  idempotency_key: string | undefined;
  parents: readonly string[];
  /** The receipt names an id generated for this write (see PrepareOptions.fresh): it cannot be stored already. */
  fresh?: true;
}

export interface LedgerTx {
  chainHead(tenantId: string): Promise<ChainHead>;
  setChainHead(tenantId: string, head: ChainHead): Promise<void>;
  receiptByHash(tenantId: string, hash: string): Promise<Receipt | undefined>;
  receiptByIdempotencyKey(tenantId: string, key: string): Promise<Receipt | undefined>;
  receiptsByIds(tenantId: string, ids: readonly string[]): Promise<Receipt[]>;
  /** Just the ids and types of those of `ids` that exist: what the parent-linkage rule needs, without decoding rows. */
  receiptTypes(tenantId: string, ids: readonly string[]): Promise<ReceiptRef[]>;
  /**
   * Optional hint, given before the append rules look up one receipt's hash, idempotency key and parents (with
   * their obligation states): a backend whose every lookup is a network round trip may fetch them in one.
   *
   * 'assumed-new': the backend did not look the hash and idempotency key up and answers "none" for them once: it has
   * bet that the receipt is new and will find out from its unique indexes when it writes it (and then run the whole
   * write again, checked). An append that refuses after such an answer must ask again (the second answer is looked
   * up), since a stored duplicate is answered before any refusal.
   */
  prefetchForAppend?(tenantId: string, lookups: AppendLookup): Promise<void | 'assumed-new'>;
  /**
   * Optional hint before a batch of appends: the same lookups for every receipt of the batch, which a backend may
   * make in one round trip. What it finds present or absent must stay true for the transaction (tenant lock held).
   */
  prefetchForAppends?(tenantId: string, lookups: readonly AppendLookup[]): Promise<void>;
  obligationStates(tenantId: string, ids: readonly string[]): Promise<ObligationState[]>;
  /** `texts`: the canonical body/artifacts/delivery_proof the append path already computed (else recomputed). */
  insertReceipt(receipt: Receipt, texts?: ReceiptTexts): Promise<void>;
  /** Record `receipt` (an obligation type) as open, addressed to its `to` principal. */
  openObligation(receipt: Receipt): Promise<void>;
  closeObligation(tenantId: string, obligationId: string, closedBy: string, closedAt: string): Promise<void>;
  /** Telemetry only: sets delivered_at where it is unset; returns the stored value for every id. */
  markDelivered(tenantId: string, receiptIds: readonly string[], at: string): Promise<Map<string, string>>;
}

/**
 * What every backend filters claim candidates by in its query (the engine re-checks them all). Not optional: a claim
 * scans a bounded number of candidates, so eligible tasks queued behind more than that many ineligible ones would
 * never be found.
 */
export interface ClaimFilter {
  /** Only tasks eligible at this time (next_eligible_at ≤ now). */
  now: number;
  /** Only these task types. */
  types?: readonly string[] | undefined;
  /** Only tasks whose required capabilities are all among these (the claiming worker's). */
  capabilities?: readonly string[] | undefined;
}

/** Task and lease rows (src/tasks). Rows are read and written whole; the engine decides, the store persists. */
export interface TaskTx {
  insertTask(row: TaskRow): Promise<void>;
  updateTask(row: TaskRow): Promise<void>;
  taskById(tenantId: string, taskId: string): Promise<TaskRow | undefined>;
  taskByIdempotencyKey(tenantId: string, key: string): Promise<TaskRow | undefined>;
  /**
   * Queued tasks by priority then age, after the (priority, queue_seq) position given: one page of the queue.
   * The store applies `filter` (time, type); the engine checks capabilities and pages on; on PostgreSQL rows come locked
   * FOR UPDATE SKIP LOCKED so concurrent claimers never see the same task.
   */
  claimCandidates(tenantId: string, after: { priority: number; queue_seq: number } | undefined, limit: number, filter?: ClaimFilter): Promise<TaskRow[]>;
  insertLease(row: LeaseRow): Promise<void>;
  updateLease(row: LeaseRow): Promise<void>;
  leaseById(tenantId: string, leaseId: string): Promise<LeaseRow | undefined>;
  /** The leases a claim with this claim_id of this worker granted, ended ones too, oldest first. */
  leasesOfClaim(tenantId: string, workerId: string, claimId: string): Promise<LeaseRow[]>;
  /**
   * Active leases whose expires_at ≤ now, across tenants: the `limit` that expired longest ago. SQLite returns
   * them by expiry; PostgreSQL locks their tenants in one global order first and may return them grouped by tenant.
   */
  dueLeases(now: number, limit: number): Promise<LeaseRow[]>;
}

/**
 * Stamp rows and the deployment's signing keys (src/stamps). The engine decides; these persist. Conditional
 * changes are checked by the engine on a row it read with stampForUpdate in the same transaction.
 */
export interface StampTx {
  /** The key that signs new tokens. PostgreSQL: FOR SHARE, so a concurrent key rotation waits for this write. */
  currentSigningKey(): Promise<SigningKeyRow | undefined>;
  /** The key published ahead of use, promoted by the next rotation. */
  nextSigningKey(): Promise<SigningKeyRow | undefined>;
  /** A key by kid, whatever its role (a retried mint or rotation signs its token again with the key that signed it). */
  signingKey(kid: string): Promise<SigningKeyRow | undefined>;
  /** Inserts a key; false (nothing written) when its role, current or next, is already taken. */
  insertSigningKey(row: SigningKeyRow): Promise<boolean>;
  setSigningKeyRole(kid: string, role: SigningKeyRole, retiredAt: string | null, verifyUntilMs: number | null): Promise<void>;
  /** The latest expires_ms of active stamps whose current generation `kid` signed; null when there are none. */
  lastActiveExpiry(kid: string): Promise<number | null>;
  insertStamp(row: StampRow): Promise<void>;
  /** The stamp, locked for the rest of this write (PostgreSQL: FOR UPDATE), so concurrent closers serialise. */
  stampForUpdate(tenantId: string, stampId: string): Promise<StampRow | undefined>;
  /** Writes the mutable part of a stamp row (state, generation, kid, tombstone and anomaly fields). */
  updateStamp(row: StampRow): Promise<void>;
  /** stampForUpdate for a tombstone (one per stamp, the hot path): the same lock, only the columns it needs. */
  stampForClose(tenantId: string, stampId: string): Promise<StampClosing | undefined>;
  /** Writes a tombstone onto the stamp (state tombstoned and the tombstone's columns); the stamp must exist. */
  closeStamp(tenantId: string, stampId: string, close: StampClose): Promise<void>;
}

/**
 * Sessions, their DAG nodes and the orphan-event queue (src/sessions). Rows are read and written whole; the
 * engine decides, the store persists. Every lookup reconciliation makes by a correlation key is indexed.
 */
export interface SessionTx {
  sessionById(tenantId: string, sessionId: string): Promise<SessionRow | undefined>;
  insertSession(row: SessionRow): Promise<void>;
  /** Writes the mutable part: correlation keys, state, closing and update receipts, times. */
  updateSession(row: SessionRow): Promise<void>;
  /** Open sessions whose `key` equals `value`: the candidates that key points at. */
  openSessionsByKey(tenantId: string, key: SessionKey, value: string): Promise<SessionRow[]>;
  sessionEventById(tenantId: string, eventId: string): Promise<SessionEventRow | undefined>;
  /** Ids of up to `limit` events received so far that name `parentId` as their parent (its children in the DAG). */
  sessionEventChildren(tenantId: string, parentId: string, limit: number): Promise<string[]>;
  insertSessionEvent(row: SessionEventRow): Promise<void>;
  /** Writes the mutable part: deliveries, orphan_id and the DAG node fields. */
  updateSessionEvent(row: SessionEventRow): Promise<void>;
  insertOrphan(row: OrphanRow): Promise<void>;
  /** Writes the mutable part: state, candidates, resolution fields and the latest document. */
  updateOrphan(row: OrphanRow): Promise<void>;
  orphanById(tenantId: string, orphanId: string): Promise<OrphanRow | undefined>;
  /** Queued orphans whose `key` equals `value` and whose TTL has not passed (expires_at > nowMs), in queue order. */
  queuedOrphansByKey(tenantId: string, key: OrphanKey, value: string, nowMs: number): Promise<OrphanRow[]>;
  /**
   * The orphan if it is still queued, held for the rest of this write so that one server resolves it exactly once
   * (PostgreSQL: FOR UPDATE SKIP LOCKED, so a row another server is resolving is skipped, not waited for).
   */
  lockQueuedOrphan(tenantId: string, orphanId: string): Promise<OrphanRow | undefined>;
}

/** Which tenant holds which evidence blob (src/evidence); the bytes themselves are in Store.blobs. */
export interface EvidenceTx {
  /** Records that a tenant holds a blob; false, writing nothing, when it already did (the first row is kept). */
  recordEvidence(row: EvidenceRow): Promise<boolean>;
}

/** Heads of runtime install chains (src/runtime): one row per runtime on a target. */
export interface RuntimeInstallTx {
  /** The head of a runtime's chain on a target, held for the rest of this write (PostgreSQL: FOR UPDATE). */
  runtimeInstallByTarget(tenantId: string, runtimeRef: string, targetRef: string): Promise<RuntimeInstallRow | undefined>;
  /** Inserts a new chain's head, or moves an existing one (same tenant and install_id). */
  putRuntimeInstall(row: RuntimeInstallRow): Promise<void>;
}

/** Stored contracts (src/contracts/stored.ts): contract id → the contract.object receipt carrying the document. */
export interface ContractTx {
  contractById(tenantId: string, contractId: string): Promise<ContractRow | undefined>;
  /** A second row for the same tenant and contract id is a bug of the caller, who checked first in this write. */
  insertContract(row: ContractRow): Promise<void>;
  /**
   * The stored contract that first claimed the session (a sessionRef's one owner, DESIGN §7), and whether it named
   * `ownerRef` as the owner; undefined when no stored contract claims it.
   */
  sessionOwnerClaim(tenantId: string, sessionRef: string, ownerRef: string): Promise<{ contract_id: string; same_owner: boolean } | undefined>;
  /** Records the first claim of a session; the caller found none in this write. */
  insertSessionOwnerClaim(row: SessionOwnerClaim): Promise<void>;
}

/** A stored contract's claim that `owner_ref` owns `session_ref`. */
export interface SessionOwnerClaim {
  tenant_id: string;
  session_ref: string;
  owner_ref: string;
  contract_id: string;
}

/** Capabilities and their history (src/capabilities). The engine computes the effective state; these persist. */
export interface CapabilityTx {
  /** The capability, held for the rest of this write (PostgreSQL: FOR UPDATE), so reports on it serialise. */
  capabilityForUpdate(tenantId: string, capabilityRef: string): Promise<CapabilityRow | undefined>;
  insertCapability(row: CapabilityRow): Promise<void>;
  /** Writes the mutable part: declaration, planes, effective state, record, receipt, event count, updated_at. */
  updateCapability(row: CapabilityRow): Promise<void>;
  insertCapabilityEvent(row: CapabilityEventRow): Promise<void>;
}

/**
 * Browser automation sessions (src/automation). Every decision reads the row with automationSessionForUpdate in
 * the write that records it, never a cache: that is what makes a revocation hold for the very next action.
 */
export interface AutomationTx {
  /** The session, held for the rest of this write (PostgreSQL: FOR UPDATE), so a revoke and an action serialise. */
  automationSessionForUpdate(tenantId: string, automationId: string): Promise<AutomationSessionRow | undefined>;
  /** Every session (any state) started under a SourceOS sessionRef, oldest first: one session, one owner. */
  automationSessionsByRef(tenantId: string, sessionRef: string): Promise<AutomationSessionRow[]>;
  /** Active sessions running on a capability (ended by the gate when it leaves enabled). */
  activeAutomationSessionsForCapability(tenantId: string, capabilityRef: string): Promise<AutomationSessionRow[]>;
  insertAutomationSession(row: AutomationSessionRow): Promise<void>;
  /** Writes the mutable part: state, document, end_receipt_id, ended_at. */
  updateAutomationSession(row: AutomationSessionRow): Promise<void>;
  /** Adds one to actions_executed or actions_denied. */
  countAutomationAction(tenantId: string, automationId: string, outcome: 'executed' | 'denied'): Promise<void>;
}

export interface Tx extends LedgerTx, TaskTx, StampTx, SessionTx, EvidenceTx, RuntimeInstallTx, ContractTx, CapabilityTx, AutomationTx {
  /** Runs fn in a nested savepoint: if it throws, its writes are undone and the enclosing transaction goes on. */
  atomically<T>(fn: () => Promise<T>): Promise<T>;
}

export interface ReceiptFilter {
  type?: string;
  task_id?: string;
  /** Receipts sent by or addressed to this principal (kind and id). */
  principal?: Pick<Principal, 'kind' | 'id'>;
  /** Lower bound on created_at (inclusive), in the ledger's own form (ledgerTimeAtOrAfter): compared as text. */
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

/** Stamp reads (committed data only), kept together so the introspection hot path has one narrow seam. */
export interface StampReads {
  stamp(tenantId: string, stampId: string): Promise<StampRow | undefined>;
  /** Only the columns introspection judges by (state, generation, expiry, outcome): the hot refresh of its cache. */
  stampStatus(tenantId: string, stampId: string): Promise<StampStatus | undefined>;
  /** Receipts that name the stamp (stamp_id), by seq: ascending after `after_seq`, or the newest first. */
  stampReceipts(tenantId: string, stampId: string, filter: { after_seq: number; limit: number; type?: string; newest_first?: boolean }): Promise<Receipt[]>;
  /** Ambiguous stamps of a tenant in the order they were flagged (anomaly_seq > after_seq). */
  ambiguousStamps(tenantId: string, filter: { after_seq: number; limit: number }): Promise<StampRow[]>;
  /**
   * Active stamps whose TTL has passed (expires_ms ≤ nowMs), across tenants: the `limit` that expired longest ago,
   * grouped by tenant in the order tenants are locked (so sweeps on several servers cannot deadlock).
   */
  expiredActiveStamps(nowMs: number, limit: number): Promise<{ tenant_id: string; stamp_id: string }[]>;
  /** A tenant's stamps whose TTL has not passed (expires_ms > nowMs): what the status list covers. */
  liveStamps(tenantId: string, nowMs: number): Promise<LiveStampStatus[]>;
  /** Keys a verifier may need: current, next, and retired ones whose verify_until_ms is after nowMs. */
  verificationKeys(nowMs: number): Promise<VerificationKeyRow[]>;
}

/** Session and orphan reads (committed data only). */
export interface SessionReads {
  session(tenantId: string, sessionId: string): Promise<SessionRow | undefined>;
  /** The session's DAG nodes in the order they were attached (node_seq > after_seq). */
  sessionNodes(tenantId: string, sessionId: string, filter: { after_seq: number; limit: number }): Promise<SessionEventRow[]>;
  /** The events among `eventIds` that exist (whatever their session), to resolve DAG edges. */
  sessionEvents(tenantId: string, eventIds: readonly string[]): Promise<SessionEventRow[]>;
  /** Orphans in queue order (seq > after_seq), optionally of one state. */
  orphans(tenantId: string, filter: OrphanFilter): Promise<OrphanRow[]>;
  /** Queued orphans whose TTL has passed (expires_at ≤ nowMs), across tenants, soonest expiry first. */
  dueOrphans(nowMs: number, limit: number): Promise<{ tenant_id: string; orphan_id: string }[]>;
}

/** Evidence rows (committed data only). */
export interface EvidenceReads {
  /** The tenant's row for a blob; undefined when the tenant does not hold it (whoever else does). */
  evidenceRow(tenantId: string, digest: string): Promise<EvidenceRow | undefined>;
}

/** Runtime install heads (committed data only). */
export interface RuntimeInstallReads {
  runtimeInstall(tenantId: string, installId: string): Promise<RuntimeInstallRow | undefined>;
  runtimeInstallByTarget(tenantId: string, runtimeRef: string, targetRef: string): Promise<RuntimeInstallRow | undefined>;
}

/** Stored contracts with the receipts carrying them (committed data only). */
export interface ContractReads {
  contract(tenantId: string, contractId: string): Promise<StoredContract | undefined>;
  /** By receipt seq, after `after_seq`, optionally of one document type. */
  listContracts(tenantId: string, filter: ContractFilter): Promise<StoredContract[]>;
}

/** Capability reads (committed data only): one capability, its history, the matrix. */
export interface CapabilityReads {
  capability(tenantId: string, capabilityRef: string): Promise<CapabilityRow | undefined>;
  /** By capability_ref, after `after_ref`, optionally of one effective state. */
  listCapabilities(tenantId: string, filter: CapabilityListFilter): Promise<CapabilityRow[]>;
  /** A capability's history in order (event_no > after_no). */
  capabilityEvents(tenantId: string, capabilityRef: string, filter: { after_no: number; limit: number }): Promise<CapabilityEventRow[]>;
}

/** Automation session reads (committed data only). */
export interface AutomationReads {
  automationSession(tenantId: string, automationId: string): Promise<AutomationSessionRow | undefined>;
  /** By start_seq, after `after_seq`, optionally of one state (active: what the user sees). */
  listAutomationSessions(tenantId: string, filter: AutomationListFilter): Promise<AutomationSessionRow[]>;
}

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  readonly stamps: StampReads;
  readonly sessions: SessionReads;
  readonly evidence: EvidenceReads;
  /** The bytes of evidence, addressed by digest; tenant visibility is the evidence rows. */
  readonly blobs: BlobStore;
  readonly runtimeInstalls: RuntimeInstallReads;
  readonly contracts: ContractReads;
  readonly capabilities: CapabilityReads;
  readonly automation: AutomationReads;

  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;

  // ── reads (see committed data only) ──
  receipt(tenantId: string, receiptId: string): Promise<Receipt | undefined>;
  listReceipts(tenantId: string, filter: ReceiptFilter): Promise<Receipt[]>;
  openObligations(tenantId: string, filter: OpenObligationFilter): Promise<Receipt[]>;
  /**
   * Optional: the same page with each receipt as the JSON text of its Receipt (exactly JSON.stringify of what
   * openObligations returns), for serving it without decoding and re-encoding. Ledger falls back without it.
   * Unlike openObligations (which leaves such rows out), it gives every row of the projection, an obligation whose
   * receipt is missing with `json: null`, so the ledger can page past it and report it.
   */
  openObligationsText?(tenantId: string, filter: OpenObligationFilter): Promise<ReceiptText[]>;
  obligationState(tenantId: string, receiptId: string): Promise<ObligationState | undefined>;
  /**
   * The open-obligations projection itself, in seq order from `afterSeq`: the obligations rows with no closer,
   * receipts or not (`quittance verify` holds them to the chain; openObligations serves the receipts).
   */
  openObligationRows(tenantId: string, afterSeq: number, limit: number): Promise<{ seq: number; receipt_id: string; type: string }[]>;
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
  /**
   * Whether any active lease (of any tenant) has expires_at <= now, from committed data and without locks: the
   * sweeper asks before opening a write, so an idle server does not commit (and fsync) an empty transaction
   * several times a second. A lease found here is still expired only by TaskTx.dueLeases, inside a write.
   */
  anyLeaseDue(now: number): Promise<boolean>;

  // ── tenants and keys (administrative, not on the hot path) ──
  /** Creates a tenant, and with `firstKey` its first API key in the same transaction (never one without the other). */
  createTenant(row: TenantRow, firstKey?: ApiKeyRow): Promise<void>;
  tenantByName(name: string): Promise<TenantRow | undefined>;
  tenantById(tenantId: string): Promise<TenantRow | undefined>;
  listTenants(): Promise<TenantRow[]>;
  /**
   * Every tenant id that holds receipts or a chain head, whether or not its tenants row exists: `quittance verify`
   * checks these too, so a deleted tenants row cannot hide a chain (and whatever was done to it) from the check.
   */
  ledgerTenantIds(): Promise<string[]>;
  createApiKey(row: ApiKeyRow): Promise<void>;
  apiKeyById(keyId: string): Promise<ApiKeyRow | undefined>;
  /** A tenant's keys, revoked ones included, oldest first (created_at, then key_id); never the secrets' hashes. */
  listApiKeys(tenantId: string): Promise<ApiKeyInfo[]>;
  /**
   * Sets revoked_at on a key that has none; a key already revoked keeps its first revoked_at (revokedNow false).
   * With `tenantId`, a key of another tenant is not found. Undefined (nothing written) when no such key exists.
   * Acknowledged only once durable: a revocation lost to a crash would let the key work again.
   */
  revokeApiKey(keyId: string, revokedAt: string, tenantId?: string): Promise<ApiKeyRevocation | undefined>;

  /** Current schema version and the newest this code knows. */
  schemaVersion(): Promise<{ current: number; known: number }>;
  /**
   * When an error this store threw says its database cannot be reached now (an outage: not a bug, not bad input),
   * why, in a few words fit for a client to read; else undefined. The HTTP layer answers such errors 503
   * QUITTANCE_ERR_STORE_UNAVAILABLE.
   */
  unreachable(err: unknown): string | undefined;
  close(): Promise<void>;
}
