import type { Database, Statement } from 'better-sqlite3';
import type { CapabilityReads, CapabilityTx } from '../types.js';
import type { CapabilityEventRow, CapabilityListFilter, CapabilityRow } from '../../capabilities/types.js';
import {
  CAPABILITY_COLUMNS, CAPABILITY_EVENT_COLUMNS, capabilityEventFromRaw, capabilityEventValues, capabilityFromRaw, capabilityMutableValues,
  type RawCapability, type RawCapabilityEvent,
} from '../codecs/capabilities.js';

/** Capability writes on the writer connection, inside the group-committed transaction. */
export function sqliteCapabilityTx(db: Database): CapabilityTx {
  // SQLite has one writer (BEGIN IMMEDIATE): a plain read inside the write transaction is already exclusive.
  const byRef = db.prepare<[string, string], RawCapability>(`SELECT ${CAPABILITY_COLUMNS} FROM capabilities WHERE tenant_id = ? AND capability_ref = ?`);
  const insert = db.prepare(
    `INSERT INTO capabilities (tenant_id, capability_ref, declared_by, required_planes, optional_planes, session_ref, planes, effective_state, state_reason, record, receipt_id, events, updated_at, declared_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE capabilities SET declared_by = ?, required_planes = ?, optional_planes = ?, session_ref = ?, planes = ?, effective_state = ?,
       state_reason = ?, record = ?, receipt_id = ?, events = ?, updated_at = ? WHERE tenant_id = ? AND capability_ref = ?`,
  );
  const insertEvent = db.prepare(`INSERT INTO capability_events (${CAPABILITY_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  return {
    async capabilityForUpdate(tenantId, ref) {
      const r = byRef.get(tenantId, ref);
      return r && capabilityFromRaw(r);
    },
    async insertCapability(r) {
      // SQLite's INSERT names the mutable columns in update order, then declared_at last.
      insert.run(r.tenant_id, r.capability_ref, ...capabilityMutableValues(r), r.declared_at);
    },
    async updateCapability(r) {
      const info = update.run(...capabilityMutableValues(r), r.tenant_id, r.capability_ref);
      if (info.changes !== 1) throw new Error(`capability ${r.capability_ref} does not exist`);
    },
    async insertCapabilityEvent(e) {
      insertEvent.run(...capabilityEventValues(e));
    },
  };
}

/** Capability reads on the reader connection. */
export class SqliteCapabilityReads implements CapabilityReads {
  private readonly byRef: Statement<[string, string], RawCapability>;
  private readonly all: Statement<[string, string, number], RawCapability>;
  private readonly ofState: Statement<[string, string, string, number], RawCapability>;
  private readonly events: Statement<[string, string, number, number], RawCapabilityEvent>;

  constructor(db: Database) {
    this.byRef = db.prepare(`SELECT ${CAPABILITY_COLUMNS} FROM capabilities WHERE tenant_id = ? AND capability_ref = ?`);
    this.all = db.prepare(`SELECT ${CAPABILITY_COLUMNS} FROM capabilities WHERE tenant_id = ? AND capability_ref > ? ORDER BY capability_ref LIMIT CAST(? AS INTEGER)`);
    this.ofState = db.prepare(
      `SELECT ${CAPABILITY_COLUMNS} FROM capabilities WHERE tenant_id = ? AND effective_state = ? AND capability_ref > ? ORDER BY capability_ref LIMIT CAST(? AS INTEGER)`,
    );
    this.events = db.prepare(
      `SELECT ${CAPABILITY_EVENT_COLUMNS} FROM capability_events WHERE tenant_id = ? AND capability_ref = ? AND event_no > ? ORDER BY event_no LIMIT CAST(? AS INTEGER)`,
    );
  }

  async capability(tenantId: string, ref: string): Promise<CapabilityRow | undefined> {
    const r = this.byRef.get(tenantId, ref);
    return r && capabilityFromRaw(r);
  }

  async listCapabilities(tenantId: string, f: CapabilityListFilter): Promise<CapabilityRow[]> {
    const after = f.after_ref ?? '';
    const rows = f.state === undefined ? this.all.all(tenantId, after, f.limit) : this.ofState.all(tenantId, f.state, after, f.limit);
    return rows.map(capabilityFromRaw);
  }

  async capabilityEvents(tenantId: string, ref: string, f: { after_no: number; limit: number }): Promise<CapabilityEventRow[]> {
    return this.events.all(tenantId, ref, f.after_no, f.limit).map(capabilityEventFromRaw);
  }
}
