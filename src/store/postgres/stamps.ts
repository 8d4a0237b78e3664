import type { Pool, QueryResult, QueryResultRow } from 'pg';
import type { Receipt } from '../../ledger/types.js';
import type { LiveStampStatus, SigningKeyRole, SigningKeyRow, StampClosing, StampRow, StampStatus, VerificationKeyRow } from '../../stamps/types.js';
import type { StampReads, StampTx } from '../types.js';
import {
  SIGNING_KEY_COLUMNS, STAMP_CLOSING_COLUMNS, STAMP_COLUMNS, STAMP_STATUS_COLUMNS, rowToSigningKey, stampClosingFromColumns, signingKeyToRow, stampFromColumns, stampToRow, type SigningKeyDbRow, type StampColumns,
} from '../codecs/stamps.js';
import { type PgBatch } from './batch.js';
import { literal, readableParams, tuple } from './values.js';
import { RECEIPT_COLUMNS, rowToReceipt, type PgReceiptRow } from './rows.js';

/**
 * A write could not have a signing key now: its lock was not granted within KEY_LOCK_WAIT_MS, PostgreSQL found the
 * wait in a lock cycle, or another rotation has the turn. Its savepoint is rolled back and the group committer runs
 * it again first in the next batch (ChainHeadBusy's deferral, for the one lock that is not a tenant's). Domain code
 * must let it propagate.
 */
export class SigningKeysBusy extends Error {
  /** `what`: the key (or role) that was busy. */
  constructor(readonly what: string, options?: { cause?: unknown }) {
    super(`signing key ${what} is being changed by another transaction`, options);
    this.name = 'SigningKeysBusy';
  }
}

/**
 * How long a write that changes signing keys waits for one. Well under PostgreSQL's default deadlock_timeout (1 s):
 * when such a wait is part of a lock cycle (a rotation batched after writes holding tenants, and a mint holding the
 * key FOR SHARE while it waits for one of those tenants), the key change gives up first and is deferred, instead
 * of the deadlock detector failing a user's write. Waits that end normally take one batch of the writers holding it.
 */
const KEY_LOCK_WAIT_MS = 250;

/** A stamps row as the store's pool returns it (bigint as a number: see PG_TYPES; `late` a PostgreSQL boolean). */
type StampDbRow = StampColumns<boolean>;

/** What verifiers may see: the private key is never selected by the reads. */
const PUBLIC_KEY_COLUMNS = 'kid, alg, public_jwk, role, created_at, retired_at, verify_until_ms';

function rowToStamp(r: StampDbRow): StampRow {
  return stampFromColumns(r, r.late);
}

function rowToVerificationKey(r: Omit<SigningKeyDbRow, 'private_pkcs8'>): VerificationKeyRow {
  return { ...r, alg: 'EdDSA', public_jwk: JSON.parse(r.public_jwk) as SigningKeyRow['public_jwk'], role: r.role as SigningKeyRole };
}

const SQL = {
  stamp: `SELECT ${STAMP_COLUMNS} FROM stamps WHERE tenant_id = $1 AND stamp_id = $2`,
  status: `SELECT ${STAMP_STATUS_COLUMNS} FROM stamps WHERE tenant_id = $1 AND stamp_id = $2`,
  // FOR UPDATE, held to COMMIT: the interface's promise that closers serialise. The tenant, taken first, already
  // orders every writer of its stamps (so this never waits); the row lock states the rule where it applies.
  stampForUpdate: `SELECT ${STAMP_COLUMNS} FROM stamps WHERE tenant_id = $1 AND stamp_id = $2 FOR UPDATE`,
  stampForClose: `SELECT ${STAMP_CLOSING_COLUMNS} FROM stamps WHERE tenant_id = $1 AND stamp_id = $2 FOR UPDATE`,
  // FOR SHARE: writes signing with the key hold it together; a rotation's FOR UPDATE waits until they commit.
  currentKey: `SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys WHERE role = 'current' FOR SHARE`,
  anyCurrent: "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE role = 'current') AS e",
  nextKey: `SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys WHERE role = 'next'`,
  // No lock: a key's private half never changes, and a stamp already written keeps its key published (lastExpiry).
  keyByKid: `SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys WHERE kid = $1`,
  // The loser of two writers creating the same role writes nothing (and waits, at most KEY_LOCK_WAIT_MS, only
  // while the winner has not committed yet).
  insertKey: `INSERT INTO signing_keys (${SIGNING_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (role) WHERE role <> 'retired' DO NOTHING`,
  setRole: 'UPDATE signing_keys SET role = $2, retired_at = $3, verify_until_ms = $4 WHERE kid = $1',
  // Keys are per deployment, and a deployment is a schema: one turn per schema.
  keyChangeTurn: "SELECT pg_try_advisory_xact_lock(hashtext('quittance.signing_keys:' || current_schema())) AS ok",
  lockKey: 'SELECT kid FROM signing_keys WHERE kid = $1 FOR UPDATE',
  lastExpiry: "SELECT max(expires_ms) AS m FROM stamps WHERE state = 'active' AND kid = $1",
  history: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = $1 AND stamp_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
  historyOfType: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = $1 AND stamp_id = $2 AND type = $3 AND seq > $4 ORDER BY seq LIMIT $5`,
  newest: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = $1 AND stamp_id = $2 ORDER BY seq DESC LIMIT $3`,
  newestOfType: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = $1 AND stamp_id = $2 AND type = $3 ORDER BY seq DESC LIMIT $4`,
  ambiguous: `SELECT ${STAMP_COLUMNS} FROM stamps WHERE tenant_id = $1 AND state = 'ambiguous' AND anomaly_seq > $2 ORDER BY anomaly_seq LIMIT $3`,
  expired: "SELECT tenant_id, stamp_id FROM stamps WHERE state = 'active' AND expires_ms <= $1 ORDER BY expires_ms, tenant_id, stamp_id LIMIT $2",
  // status_idx order: the status list's generations come out in mint order, whatever the plan.
  live: 'SELECT stamp_id, status_idx, state, generation FROM stamps WHERE tenant_id = $1 AND expires_ms > $2 ORDER BY status_idx',
  // kid is COLLATE "C": byte order for the tie-break, as SQLite compares.
  keys: `SELECT ${PUBLIC_KEY_COLUMNS} FROM signing_keys WHERE role <> 'retired' OR verify_until_ms > $1 ORDER BY created_at, kid`,
} as const;

type StampClosingDbRow = Omit<StampClosing, 'subject'> & { subject: string };

/** Stamps this transaction locked FOR UPDATE and read for closing, until it writes them (by tenant and stamp id). */
const lockedStamps = (b: PgBatch) => b.cache<StampClosing>('stamps.forClose');
const sk = (tenantId: string, stampId: string) => `${tenantId}\n${stampId}`;

/**
 * Keeps a stamp row that another read locked FOR UPDATE (pgTaskTx's leaseById) for stampForClose, which then
 * needs no round trip. The lock holds to COMMIT; PgBatch drops the row with any undone write (and its lock).
 */
export function lockedForClose(b: PgBatch, row: QueryResultRow | undefined): void {
  if (!row) return;
  const r = stampClosingFromColumns(row as StampClosingDbRow);
  lockedStamps(b).set(sk(r.tenant_id, r.stamp_id), r);
}

/**
 * Runs one statement that changes or locks a signing key, waiting at most KEY_LOCK_WAIT_MS for the lock. The wait
 * runs inside the write's savepoint (opened, with anything buffered, in the round trip that sets the timeout), so
 * giving up undoes this write alone; lock_timeout is put back right after, for the rest of the batch.
 */
async function withKeyLockWait(b: PgBatch, what: string, statement: () => Promise<QueryResult>): Promise<QueryResult> {
  await b.flush(`SET LOCAL lock_timeout = '${KEY_LOCK_WAIT_MS}ms'`);
  let result: QueryResult;
  try {
    result = await statement();
  } catch (e) {
    const code = (e as { code?: string }).code;
    // 55P03: lock_timeout; 40P01: this wait closed a cycle. Either way the write runs again in the next batch.
    if (code === '55P03' || code === '40P01') throw new SigningKeysBusy(what, { cause: e });
    throw e;
  }
  await b.flush('SET LOCAL lock_timeout = DEFAULT');
  return result;
}

/**
 * Stamp rows and signing keys of one batch (see PgBatch). Stamps: like every per-tenant row, each method takes the
 * tenant first, so what the engine reads (the stamp's state and generation) cannot change under it until COMMIT, on
 * this server or any other; stamp writes are buffered and every read flushes first.
 *
 * Signing keys belong to the deployment, so there is no tenant to take. Writes that sign hold the current key
 * FOR SHARE (kept for the batch, so one lookup serves every mint in it); a rotation locks it FOR UPDATE before
 * counting the stamps it signed, so it waits for signers in flight and sees their stamps, and signers after it find
 * the new current key. Every wait for a key a rotation or key creation makes is bounded (withKeyLockWait).
 */
export function pgStampTx(b: PgBatch): StampTx {
  /** The current key this transaction holds FOR SHARE; PgBatch drops it with any undone write (and its lock). */
  const heldKey = () => b.cache<SigningKeyRow>('signing_keys.current');
  return {
    async currentSigningKey() {
      const held = heldKey().get('current');
      if (held) return structuredClone(held);
      // The key a statement finds current may be retired by the rotation its FOR SHARE waited for; READ COMMITTED
      // then leaves the row out. Look again (each statement sees what committed before it) until a key is held or
      // there is none at all: "none" must mean no key, not "rotated meanwhile".
      for (let attempt = 0; attempt < 10; attempt++) {
        const r = (await b.read<SigningKeyDbRow>('q_stamp_currentKey', SQL.currentKey, []))[0];
        if (r) {
          const key = rowToSigningKey(r);
          heldKey().set('current', key);
          return structuredClone(key);
        }
        if (!(await b.read<{ e: boolean }>('q_stamp_anyCurrent', SQL.anyCurrent, []))[0]?.e) return undefined;
      }
      throw new SigningKeysBusy('current');
    },
    async nextSigningKey() {
      const r = (await b.read<SigningKeyDbRow>('q_stamp_nextKey', SQL.nextKey, []))[0];
      return r && rowToSigningKey(r);
    },
    async signingKey(kid) {
      const r = (await b.read<SigningKeyDbRow>('q_stamp_keyByKid', SQL.keyByKid, [kid]))[0];
      return r && rowToSigningKey(r);
    },
    async insertSigningKey(k) {
      heldKey().clear();
      const r = await withKeyLockWait(b, `role ${k.role}`, () => b.writeNow('q_stamp_insertKey', SQL.insertKey, signingKeyToRow(k)));
      return r.rowCount === 1;
    },
    async setSigningKeyRole(kid, role, retiredAt, verifyUntilMs) {
      heldKey().clear();
      const r = await withKeyLockWait(b, kid, () => b.writeNow('q_stamp_setRole', SQL.setRole, [kid, role, retiredAt, verifyUntilMs]));
      if (r.rowCount !== 1) throw new Error(`signing key ${kid} does not exist`);
    },
    /**
     * Locks the key FOR UPDATE first: every write signing with it holds it FOR SHARE, so once this lock is granted
     * their stamps have committed and are counted, and no new stamp can name the key until this write ends.
     *
     * A rotation holds the key FOR SHARE already (it read it with currentSigningKey), so two rotations asking for
     * it FOR UPDATE would each wait for the other. They take turns on a transaction advisory lock instead, tried,
     * not waited for: the others are deferred at once, and their batches, committing, let go of the key.
     */
    async lastActiveExpiry(kid) {
      const turn = await b.writeNow('q_stamp_keyChangeTurn', SQL.keyChangeTurn, []);
      if ((turn.rows[0] as { ok: boolean } | undefined)?.ok !== true) throw new SigningKeysBusy(kid);
      await withKeyLockWait(b, kid, () => b.writeNow('q_stamp_lockKey', SQL.lockKey, [kid]));
      const r = (await b.read<{ m: number | null }>('q_stamp_lastExpiry', SQL.lastExpiry, [kid]))[0];
      return r?.m ?? null;
    },
    async insertStamp(s) {
      lockedStamps(b).delete(sk(s.tenant_id, s.stamp_id));
      await b.lockTenant(s.tenant_id);
      b.buffer(`INSERT INTO stamps (${STAMP_COLUMNS}) VALUES ${tuple(stampToRow(s, s.late))}`, { expectRows: 1, what: `inserting stamp ${s.stamp_id}` });
    },
    async stampForUpdate(tenantId, stampId) {
      await b.lockTenant(tenantId);
      const r = (await b.read<StampDbRow>('q_stamp_forUpdate', SQL.stampForUpdate, [tenantId, stampId]))[0];
      return r && rowToStamp(r);
    },
    async stampForClose(tenantId, stampId) {
      const locked = lockedStamps(b).get(sk(tenantId, stampId));
      if (locked) return structuredClone(locked);
      await b.lockTenant(tenantId);
      const r = (await b.read<StampClosingDbRow>('q_stamp_forClose', SQL.stampForClose, [tenantId, stampId]))[0];
      return r && stampClosingFromColumns(r);
    },
    async closeStamp(tenantId, stampId, c) {
      lockedStamps(b).delete(sk(tenantId, stampId));
      await b.lockTenant(tenantId);
      b.buffer(
        `UPDATE stamps SET state = 'tombstoned', outcome = ${literal(c.outcome)}, closed_by = ${literal(c.closed_by)}, closed_reason = ${literal(c.closed_reason)},
         tombstoned_at = ${literal(c.tombstoned_at)}, tombstone_receipt_id = ${literal(c.tombstone_receipt_id)}, late = ${literal(c.late)}
         WHERE tenant_id = ${literal(tenantId)} AND stamp_id = ${literal(stampId)}`,
        { expectRows: 1, what: `tombstoning stamp ${stampId}` },
      );
    },
    async updateStamp(s) {
      lockedStamps(b).delete(sk(s.tenant_id, s.stamp_id));
      await b.lockTenant(s.tenant_id);
      // A stamp that does not exist is a bug of the caller: the flush fails and undoes the write.
      b.buffer(
        `UPDATE stamps SET generation = ${literal(s.generation)}, kid = ${literal(s.kid)}, state = ${literal(s.state)}, outcome = ${literal(s.outcome)},
         closed_by = ${literal(s.closed_by)}, closed_reason = ${literal(s.closed_reason)}, tombstoned_at = ${literal(s.tombstoned_at)},
         tombstone_receipt_id = ${literal(s.tombstone_receipt_id)}, late = ${literal(s.late)}, ambiguous_at = ${literal(s.ambiguous_at)},
         anomaly_receipt_id = ${literal(s.anomaly_receipt_id)}, anomaly_seq = ${literal(s.anomaly_seq)}
         WHERE tenant_id = ${literal(s.tenant_id)} AND stamp_id = ${literal(s.stamp_id)}`,
        { expectRows: 1, what: `updating stamp ${s.stamp_id}` },
      );
    },
  };
}

/** Stamp reads through the pool (committed data only); each waits for the store's migrations. */
export class PgStampReads implements StampReads {
  constructor(private readonly pool: Pool, private readonly ready: () => Promise<unknown>) {}

  async stamp(tenantId: string, stampId: string): Promise<StampRow | undefined> {
    const r = (await this.rows<StampDbRow>('r_stamp', SQL.stamp, [tenantId, stampId]))[0];
    return r && rowToStamp(r);
  }

  async stampStatus(tenantId: string, stampId: string): Promise<StampStatus | undefined> {
    // bigint arrives as a number (PG_TYPES); the CHECK constraints keep state and outcome to their enums.
    return (await this.rows<StampStatus>('r_stamp_status', SQL.status, [tenantId, stampId]))[0];
  }

  async stampReceipts(tenantId: string, stampId: string, f: { after_seq: number; limit: number; type?: string; newest_first?: boolean }): Promise<Receipt[]> {
    const rows = f.newest_first
      ? f.type === undefined
        ? await this.rows<PgReceiptRow>('r_stamp_newest', SQL.newest, [tenantId, stampId, f.limit])
        : await this.rows<PgReceiptRow>('r_stamp_newestOfType', SQL.newestOfType, [tenantId, stampId, f.type, f.limit])
      : f.type === undefined
        ? await this.rows<PgReceiptRow>('r_stamp_history', SQL.history, [tenantId, stampId, f.after_seq, f.limit])
        : await this.rows<PgReceiptRow>('r_stamp_historyOfType', SQL.historyOfType, [tenantId, stampId, f.type, f.after_seq, f.limit]);
    return rows.map(rowToReceipt);
  }

  async ambiguousStamps(tenantId: string, f: { after_seq: number; limit: number }): Promise<StampRow[]> {
    return (await this.rows<StampDbRow>('r_stamp_ambiguous', SQL.ambiguous, [tenantId, f.after_seq, f.limit])).map(rowToStamp);
  }

  /**
   * The `limit` stamps whose TTL passed longest ago, handed back grouped by tenant, tenants in the order
   * PgBatch.lockTenants takes them (oldest expiry first within a tenant). The sweep locks each stamp's tenant as it
   * goes, in one write: in this order every server's sweep (and dueLeases) takes tenants in one global order, so
   * sweeps on several servers wait for each other but never in a cycle. Anomalies of one tenant still come in
   * expiry order; the order across tenants is not visible (each has its own chain).
   */
  async expiredActiveStamps(nowMs: number, limit: number): Promise<{ tenant_id: string; stamp_id: string }[]> {
    const due = await this.rows<{ tenant_id: string; stamp_id: string }>('r_stamp_expired', SQL.expired, [nowMs, limit]);
    // Stable: expiry order is kept within a tenant. `<` on strings is the comparison Array.prototype.sort uses.
    return due.sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : a.tenant_id > b.tenant_id ? 1 : 0));
  }

  async liveStamps(tenantId: string, nowMs: number): Promise<LiveStampStatus[]> {
    return (await this.rows<{ stamp_id: string; status_idx: number; state: string; generation: number }>('r_stamp_live', SQL.live, [tenantId, nowMs]))
      .map((r) => ({ ...r, state: r.state as LiveStampStatus['state'] }));
  }

  async verificationKeys(nowMs: number): Promise<VerificationKeyRow[]> {
    return (await this.rows<Omit<SigningKeyDbRow, 'private_pkcs8'>>('r_stamp_keys', SQL.keys, [nowMs])).map(rowToVerificationKey);
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    await this.ready();
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
