import type { Database, Statement } from 'better-sqlite3';
import type { Receipt } from '../../ledger/types.js';
import type { LiveStampStatus, StampClosing, StampRow, StampStatus, VerificationKeyRow } from '../../stamps/types.js';
import type { StampReads, StampTx } from '../types.js';
import {
  SIGNING_KEY_COLUMNS, STAMP_CLOSING_COLUMNS, STAMP_COLUMNS, STAMP_STATUS_COLUMNS, rowToSigningKey, stampClosingFromColumns, signingKeyToRow, stampFromColumns, stampToRow, type SigningKeyDbRow, type StampColumns,
} from '../codecs/stamps.js';
import { RECEIPT_COLUMNS, rowToReceipt, type ReceiptRow } from './rows.js';

/** A stamps row as SQLite returns it: SQLite has no boolean, so `late` is 0 or 1. */
type StampDbRow = StampColumns<number>;

const STAMP_PLACEHOLDERS = STAMP_COLUMNS.split(', ').map(() => '?').join(', ');

function rowToStamp(r: StampDbRow): StampRow {
  return stampFromColumns(r, r.late === 1);
}

/** Stamp and signing-key writes on the writer connection, inside the group-committed transaction. */
export function sqliteStampTx(db: Database): StampTx {
  const s = {
    keyByRole: db.prepare<[string], SigningKeyDbRow>(`SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys WHERE role = ?`),
    keyByKid: db.prepare<[string], SigningKeyDbRow>(`SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys WHERE kid = ?`),
    // OR IGNORE: the partial unique index on role makes a second current (or next) key a no-op, not an error.
    insertKey: db.prepare(`INSERT OR IGNORE INTO signing_keys (${SIGNING_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    setRole: db.prepare('UPDATE signing_keys SET role = ?, retired_at = ?, verify_until_ms = ? WHERE kid = ?'),
    lastExpiry: db.prepare<[string], { m: number | null }>("SELECT max(expires_ms) AS m FROM stamps WHERE state = 'active' AND kid = ?"),
    insertStamp: db.prepare(`INSERT INTO stamps (${STAMP_COLUMNS}) VALUES (${STAMP_PLACEHOLDERS})`),
    stamp: db.prepare<[string, string], StampDbRow>(`SELECT ${STAMP_COLUMNS} FROM stamps WHERE tenant_id = ? AND stamp_id = ?`),
    closing: db.prepare<[string, string], Omit<StampClosing, 'subject'> & { subject: string }>(`SELECT ${STAMP_CLOSING_COLUMNS} FROM stamps WHERE tenant_id = ? AND stamp_id = ?`),
    close: db.prepare(
      `UPDATE stamps SET state = 'tombstoned', outcome = ?, closed_by = ?, closed_reason = ?, tombstoned_at = ?, tombstone_receipt_id = ?, late = ?
       WHERE tenant_id = ? AND stamp_id = ?`,
    ),
    update: db.prepare(
      `UPDATE stamps SET generation = ?, kid = ?, state = ?, outcome = ?, closed_by = ?, closed_reason = ?, tombstoned_at = ?,
       tombstone_receipt_id = ?, late = ?, ambiguous_at = ?, anomaly_receipt_id = ?, anomaly_seq = ? WHERE tenant_id = ? AND stamp_id = ?`,
    ),
  };
  return {
    async currentSigningKey() {
      const r = s.keyByRole.get('current');
      return r && rowToSigningKey(r);
    },
    async nextSigningKey() {
      const r = s.keyByRole.get('next');
      return r && rowToSigningKey(r);
    },
    async signingKey(kid) {
      const r = s.keyByKid.get(kid);
      return r && rowToSigningKey(r);
    },
    async insertSigningKey(k) {
      const info = s.insertKey.run(...signingKeyToRow(k));
      return info.changes === 1;
    },
    async setSigningKeyRole(kid, role, retiredAt, verifyUntilMs) {
      s.setRole.run(role, retiredAt, verifyUntilMs, kid);
    },
    async lastActiveExpiry(kid) {
      return s.lastExpiry.get(kid)?.m ?? null;
    },
    async insertStamp(row) {
      s.insertStamp.run(stampToRow(row, row.late ? 1 : 0));
    },
    async stampForUpdate(tenantId, stampId) {
      // SQLite has one writer (BEGIN IMMEDIATE): the row cannot change under this transaction.
      const r = s.stamp.get(tenantId, stampId);
      return r && rowToStamp(r);
    },
    async updateStamp(row) {
      const info = s.update.run(
        row.generation, row.kid, row.state, row.outcome, row.closed_by, row.closed_reason, row.tombstoned_at,
        row.tombstone_receipt_id, row.late ? 1 : 0, row.ambiguous_at, row.anomaly_receipt_id, row.anomaly_seq,
        row.tenant_id, row.stamp_id,
      );
      if (info.changes !== 1) throw new Error(`stamp ${row.stamp_id} does not exist`);
    },
    async stampForClose(tenantId, stampId) {
      const r = s.closing.get(tenantId, stampId);
      return r && stampClosingFromColumns(r);
    },
    async closeStamp(tenantId, stampId, c) {
      const info = s.close.run(c.outcome, c.closed_by, c.closed_reason, c.tombstoned_at, c.tombstone_receipt_id, c.late ? 1 : 0, tenantId, stampId);
      if (info.changes !== 1) throw new Error(`stamp ${stampId} does not exist`);
    },
  };
}

/** Stamp reads on the reader connection (WAL: committed data only, never blocks the writer). */
export class SqliteStampReads implements StampReads {
  private readonly s: {
    stamp: Statement<[string, string], StampDbRow>;
    status: Statement<[string, string], StampStatus>;
    history: Statement<[string, string, number, number], ReceiptRow>;
    historyOfType: Statement<[string, string, string, number, number], ReceiptRow>;
    newest: Statement<[string, string, number], ReceiptRow>;
    newestOfType: Statement<[string, string, string, number], ReceiptRow>;
    ambiguous: Statement<[string, number, number], StampDbRow>;
    expired: Statement<[number, number], { tenant_id: string; stamp_id: string }>;
    live: Statement<[string, number], LiveStampStatus>;
    keys: Statement<[number], SigningKeyDbRow>;
  };

  constructor(db: Database) {
    this.s = {
      stamp: db.prepare(`SELECT ${STAMP_COLUMNS} FROM stamps WHERE tenant_id = ? AND stamp_id = ?`),
      status: db.prepare(`SELECT ${STAMP_STATUS_COLUMNS} FROM stamps WHERE tenant_id = ? AND stamp_id = ?`),
      history: db.prepare(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = ? AND stamp_id = ? AND seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)`),
      historyOfType: db.prepare(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = ? AND stamp_id = ? AND type = ? AND seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)`),
      newest: db.prepare(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = ? AND stamp_id = ? ORDER BY seq DESC LIMIT CAST(? AS INTEGER)`),
      newestOfType: db.prepare(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = ? AND stamp_id = ? AND type = ? ORDER BY seq DESC LIMIT CAST(? AS INTEGER)`),
      ambiguous: db.prepare(`SELECT ${STAMP_COLUMNS} FROM stamps WHERE tenant_id = ? AND state = 'ambiguous' AND anomaly_seq > ? ORDER BY anomaly_seq LIMIT CAST(? AS INTEGER)`),
      expired: db.prepare("SELECT tenant_id, stamp_id FROM stamps WHERE state = 'active' AND expires_ms <= ? ORDER BY expires_ms LIMIT CAST(? AS INTEGER)"),
      // In slot order, as PostgreSQL's: a status list's generations come out alike from either backend.
      live: db.prepare('SELECT stamp_id, status_idx, state, generation FROM stamps WHERE tenant_id = ? AND expires_ms > ? ORDER BY status_idx'),
      keys: db.prepare(`SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys WHERE role <> 'retired' OR verify_until_ms > ? ORDER BY created_at, kid`),
    };
  }

  async stamp(tenantId: string, stampId: string): Promise<StampRow | undefined> {
    const r = this.s.stamp.get(tenantId, stampId);
    return r && rowToStamp(r);
  }

  async stampStatus(tenantId: string, stampId: string): Promise<StampStatus | undefined> {
    // The CHECK constraints keep state and outcome to their enums: no decoding needed.
    return this.s.status.get(tenantId, stampId);
  }

  async stampReceipts(tenantId: string, stampId: string, f: { after_seq: number; limit: number; type?: string; newest_first?: boolean }): Promise<Receipt[]> {
    const rows = f.newest_first
      ? f.type === undefined ? this.s.newest.all(tenantId, stampId, f.limit) : this.s.newestOfType.all(tenantId, stampId, f.type, f.limit)
      : f.type === undefined ? this.s.history.all(tenantId, stampId, f.after_seq, f.limit) : this.s.historyOfType.all(tenantId, stampId, f.type, f.after_seq, f.limit);
    return rows.map(rowToReceipt);
  }

  async ambiguousStamps(tenantId: string, f: { after_seq: number; limit: number }): Promise<StampRow[]> {
    return this.s.ambiguous.all(tenantId, f.after_seq, f.limit).map(rowToStamp);
  }

  async expiredActiveStamps(nowMs: number, limit: number): Promise<{ tenant_id: string; stamp_id: string }[]> {
    return this.s.expired.all(nowMs, limit);
  }

  async liveStamps(tenantId: string, nowMs: number): Promise<LiveStampStatus[]> {
    return this.s.live.all(tenantId, nowMs);
  }

  async verificationKeys(nowMs: number): Promise<VerificationKeyRow[]> {
    return this.s.keys.all(nowMs).map((r) => {
      const { private_pkcs8: _secret, ...pub } = rowToSigningKey(r);
      return pub;
    });
  }
}
