import { isAbsolute } from 'node:path';
import { QuittanceError } from './errors.js';

/** Every tunable in one place, units in the names. Validated and frozen by resolveConfig(). */
export const DEFAULTS = {
  limits: {
    /** Largest receipt body, measured as canonical JSON. "Receipts are contracts, not chat." */
    receiptBodyMaxBytes: 64 * 1024,
    /** Most parents one receipt may list (prevents mega-chains). */
    parentsMax: 10,
    /** Most artifacts one receipt may list (prevents stuffing). */
    artifactsMax: 100,
    /** Largest HTTP request body for a single-receipt route; the batch route allows batchMaxReceipts of them. */
    httpBodyMaxBytes: 1024 * 1024,
    /** Most receipts in one POST /v1/receipts/batch. */
    batchMaxReceipts: 1000,
    /** Largest HTTP request body for batch routes. */
    httpBatchBodyMaxBytes: 16 * 1024 * 1024,
    /**
     * Deepest nesting of objects and arrays a JSON request body may have. Hashing and schema validation recurse;
     * a few thousand levels overflowed the stack.
     */
    jsonDepthMax: 256,
  },
  /** 'lenient': a success without locatability is stored, closes nothing, and raises an anomaly (202). 'strict': 422. */
  locatability: 'lenient' as 'lenient' | 'strict',
  obligations: {
    /**
     * Page size of the list routes when the caller names none: GET /v1/obligations/open, /v1/receipts,
     * /v1/anomalies, /v1/tasks, /v1/contracts, /v1/capabilities, /v1/automation/sessions, /v1/investigations and the
     * histories of one stamp or capability (GET /v1/tasks/{id} gives up to pageSizeMax of the task's receipts).
     * Sessions and orphans have their own, under sessions.
     */
    pageSizeDefault: 100,
    /** Largest page size a caller may ask for on those routes; a larger `limit` is a 400. */
    pageSizeMax: 1000,
  },
  tasks: {
    /** Lease length when a claim names none. */
    leaseTtlSecondsDefault: 120,
    /** Shortest and longest lease a claim may ask for. */
    leaseTtlSecondsMin: 5,
    leaseTtlSecondsMax: 1800,
    /** How often one lease may be renewed, and how long it may live in total from its grant. */
    leaseRenewalsMax: 10,
    leaseLifetimeSecondsMax: 2 * 3600,
    /** Most tasks one claim may take. */
    claimMaxTasks: 100,
    /** Defaults for a new task. */
    maxAttemptsDefault: 3,
    maxLeaseExpiriesDefault: 5,
    retryBackoffSecondsDefault: 1,
    /** Upper bound on the exponential retry backoff. */
    retryBackoffSecondsCap: 300,
    /** A task requeued after lease expiry waits a random 0..this before it can be claimed again. */
    expiryJitterMsMax: 2000,
    /** Largest task payload, as canonical JSON. */
    payloadMaxBytes: 64 * 1024,
    /** How often the sweeper looks for expired leases. Crash detection is lease TTL + at most this. */
    sweepIntervalMs: 200,
  },
  evidence: {
    /** Largest evidence blob (POST /v1/evidence, a runtime install's manifest as canonical JSON); over it: 413. */
    blobMaxBytes: 16 * 1024 * 1024,
  },
  contracts: {
    /** Most documents one POST /v1/contracts/validate checks together. */
    validateMaxDocuments: 1000,
  },
  sessions: {
    /** How long an event for an unknown session waits in the orphan queue before it is quarantined. */
    orphanTtlSeconds: 300,
    /** How often each server sweeps for orphans whose TTL passed: a quarantine is at most this late. */
    orphanSweepIntervalMs: 1000,
    /** Most orphans one sweep transaction quarantines; the next sweep takes the rest. */
    orphanSweepBatchMax: 500,
    /** Most events in one POST /v1/events batch. */
    eventsBatchMax: 1000,
    /**
     * Most candidate sessions an orphan receipt lists (the first, in session_id order; the receipt then says how
     * many there were). At 256-character session ids, 32 of them take about a quarter of a 64 KiB receipt body;
     * however many this says, a receipt lists no more than 8 KiB of ids in its JSON (fewer ids of wider characters).
     */
    orphanCandidatesListedMax: 32,
    /**
     * Most events, received before it, that may already descend from a new event (name it, or one of them, as their
     * parent). A new event is checked for closing a loop by looking down through them; one with more is refused (400).
     * Events that arrive after their parents have none, however deep their chain.
     */
    eventDescendantsCheckedMax: 10000,
    /** Page size of GET /v1/orphans and of the DAG nodes in GET /v1/sessions/{id} when the caller names none. */
    pageSizeDefault: 500,
    /** Largest page size a caller may ask for on those routes; a larger `limit` is a 400. */
    pageSizeMax: 1000,
  },
  stamps: {
    /** Shortest and longest TTL a stamp may ask for (DESIGN §6: 1 s to 30 days). TTL is only the safety net. */
    ttlSecondsMin: 1,
    ttlSecondsMax: 30 * 24 * 3600,
    /** Most scope tokens one stamp may carry. */
    scopeEntriesMax: 64,
    /** The `iss` claim of stamp tokens and status lists. */
    issuer: 'quittance',
    /** How often each server looks for stamps whose TTL passed with no tombstone (≤ 1000: flagged within a second). */
    sweepIntervalMs: 250,
    /** Most stamps one sweep transaction flags ambiguous; the sweep goes on with the rest. */
    sweepBatchSize: 500,
    /**
     * How long introspection trusts a stamp state it read, before reading it again: the bound on how late this
     * server sees a tombstone or rotation committed by another server. Its own writes are seen at once.
     */
    stateCacheMs: 250,
    /** Entries in the verified-token cache and in the stamp-state cache (oldest evicted first). */
    cacheEntriesMax: 100_000,
    /** How long a built status list is served before it is rebuilt (this server's own tombstones rebuild it at once). */
    statusListCacheMs: 250,
    /** exp − iat of a status list token: a verifier must not use a list older than this (it fails closed). */
    statusListTtlSeconds: 10,
    /** How long the server keeps the JWKS and its key set before reading the keys again. */
    jwksCacheMs: 1000,
    /** Most recent events GET /v1/investigations shows per ambiguous stamp. */
    investigationEventsMax: 5,
  },
  workspace: {
    /**
     * Folders (absolute) under which POST /v1/workspace/git-state may classify paths, resolved with realpath when
     * the server starts. Empty: the route refuses every path, so no API key can probe the server's filesystem.
     * The local `quittance git-state PATH` needs none.
     */
    allowedRoots: [] as string[],
  },
  /** Most receipts one group commit writes in one transaction. */
  groupCommitMaxOps: 2000,
  /** How long a positive API-key lookup is cached in memory (new keys are never cached as missing). */
  apiKeyCacheMs: 1000,
};

export type QuittanceConfig = typeof DEFAULTS;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type ConfigInput = DeepPartial<QuittanceConfig>;

function merge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  // Lists are replaced whole, not merged index by index.
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (!(k in out)) throw new QuittanceError('QUITTANCE_ERR_CONFIG', [`unknown setting ${k}`]);
    out[k] = merge(out[k], v);
  }
  return out as T;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

function positiveInt(name: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) <= 0) throw new QuittanceError('QUITTANCE_ERR_CONFIG', [`${name} must be a positive integer`]);
}

export function resolveConfig(input: ConfigInput = {}): Readonly<QuittanceConfig> {
  const c = merge(structuredClone(DEFAULTS), input);
  for (const [k, v] of Object.entries(c.limits)) positiveInt(`limits.${k}`, v);
  positiveInt('obligations.pageSizeDefault', c.obligations.pageSizeDefault);
  positiveInt('obligations.pageSizeMax', c.obligations.pageSizeMax);
  positiveInt('groupCommitMaxOps', c.groupCommitMaxOps);
  for (const [k, v] of Object.entries(c.stamps)) if (k !== 'issuer') positiveInt(`stamps.${k}`, v);
  if (c.stamps.ttlSecondsMin > c.stamps.ttlSecondsMax) throw new QuittanceError('QUITTANCE_ERR_CONFIG', ['stamps.ttlSecondsMin must not exceed stamps.ttlSecondsMax']);
  if (c.stamps.sweepIntervalMs > 1000) throw new QuittanceError('QUITTANCE_ERR_CONFIG', ['stamps.sweepIntervalMs must be at most 1000: an ambiguous stamp is flagged within a second']);
  if (typeof c.stamps.issuer !== 'string' || c.stamps.issuer.length === 0) throw new QuittanceError('QUITTANCE_ERR_CONFIG', ['stamps.issuer must be a non-empty string']);
  for (const [k, v] of Object.entries(c.sessions)) positiveInt(`sessions.${k}`, v);
  for (const section of ['obligations', 'sessions'] as const) {
    if (c[section].pageSizeDefault > c[section].pageSizeMax) throw new QuittanceError('QUITTANCE_ERR_CONFIG', [`${section}.pageSizeDefault must not exceed ${section}.pageSizeMax`]);
  }
  for (const [k, v] of Object.entries(c.tasks)) positiveInt(`tasks.${k}`, v);
  if (c.tasks.leaseTtlSecondsMin > c.tasks.leaseTtlSecondsDefault || c.tasks.leaseTtlSecondsDefault > c.tasks.leaseTtlSecondsMax) {
    throw new QuittanceError('QUITTANCE_ERR_CONFIG', ['tasks.leaseTtlSecondsDefault must lie between the min and the max']);
  }
  positiveInt('evidence.blobMaxBytes', c.evidence.blobMaxBytes);
  positiveInt('contracts.validateMaxDocuments', c.contracts.validateMaxDocuments);
  const roots: unknown = c.workspace.allowedRoots;
  if (!Array.isArray(roots) || !roots.every((r) => typeof r === 'string' && isAbsolute(r) && !r.includes('\0'))) {
    throw new QuittanceError('QUITTANCE_ERR_CONFIG', ['workspace.allowedRoots must be a list of absolute folder paths']);
  }
  if (c.locatability !== 'lenient' && c.locatability !== 'strict') {
    throw new QuittanceError('QUITTANCE_ERR_CONFIG', ['locatability must be lenient or strict']);
  }
  return deepFreeze(c);
}
