import type { Database, Statement } from 'better-sqlite3';
import type { CapabilityReads, CapabilityTx } from '../types.js';
import type { CapabilityEventRow, CapabilityListFilter, CapabilityRow } from '../../capabilities/types.js';

const COLUMNS = 'tenant_id, capability_ref, declared_by, required_planes, optional_planes, session_ref, planes, effective_state, state_reason, record, receipt_id, events, declared_at, updated_at';
const EVENT_COLUMNS = 'tenant_id, capability_ref, event_no, kind, plane, detail, effective_state, receipt_id, anomaly_receipt_id, at';

/** A capabilities row as SQLite returns it: JSON columns as text. */
interface Raw {
  tenant_id: string;
  capability_ref: string;
  declared_by: string;
  required_planes: string;
  optional_planes: string;
  session_ref: string | null;
  planes: string;
  effective_state: string;
  state_reason: string;
  record: string;
  receipt_id: string;
  events: number;
  declared_at: string;
  updated_at: string;
}

interface RawEvent {
  tenant_id: string;
  capability_ref: string;
  event_no: number;
  kind: string;
  plane: string | null;
  detail: string;
  effective_state: string;
  receipt_id: string | null;
  anomaly_receipt_id: string | null;
  at: string;
}

function fromRaw(r: Raw): CapabilityRow {
  return {
    ...r,
    declared_by: JSON.parse(r.declared_by),
    required_planes: JSON.parse(r.required_planes),
    optional_planes: JSON.parse(r.optional_planes),
    planes: JSON.parse(r.planes),
    effective_state: r.effective_state as CapabilityRow['effective_state'],
    record: JSON.parse(r.record),
  };
}

function eventFromRaw(r: RawEvent): CapabilityEventRow {
  return {
    ...r,
    kind: r.kind as CapabilityEventRow['kind'],
    plane: r.plane as CapabilityEventRow['plane'],
    detail: JSON.parse(r.detail),
    effective_state: r.effective_state as CapabilityEventRow['effective_state'],
  };
}

/** The mutable columns in update order, then the key. */
function mutable(r: CapabilityRow): unknown[] {
  return [
    JSON.stringify(r.declared_by), JSON.stringify(r.required_planes), JSON.stringify(r.optional_planes), r.session_ref,
    JSON.stringify(r.planes), r.effective_state, r.state_reason, JSON.stringify(r.record), r.receipt_id, r.events, r.updated_at,
  ];
}

/** Capability writes on the writer connection, inside the group-committed transaction. */
export function sqliteCapabilityTx(db: Database): CapabilityTx {
  // SQLite has one writer (BEGIN IMMEDIATE): a plain read inside the write transaction is already exclusive.
  const byRef = db.prepare<[string, string], Raw>(`SELECT ${COLUMNS} FROM capabilities WHERE tenant_id = ? AND capability_ref = ?`);
  const insert = db.prepare(
    `INSERT INTO capabilities (tenant_id, capability_ref, declared_by, required_planes, optional_planes, session_ref, planes, effective_state, state_reason, record, receipt_id, events, updated_at, declared_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE capabilities SET declared_by = ?, required_planes = ?, optional_planes = ?, session_ref = ?, planes = ?, effective_state = ?,
       state_reason = ?, record = ?, receipt_id = ?, events = ?, updated_at = ? WHERE tenant_id = ? AND capability_ref = ?`,
  );
  const insertEvent = db.prepare(`INSERT INTO capability_events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  return {
    async capabilityForUpdate(tenantId, ref) {
      const r = byRef.get(tenantId, ref);
      return r && fromRaw(r);
    },
    async insertCapability(r) {
      insert.run(r.tenant_id, r.capability_ref, ...mutable(r), r.declared_at);
    },
    async updateCapability(r) {
      const info = update.run(...mutable(r), r.tenant_id, r.capability_ref);
      if (info.changes !== 1) throw new Error(`capability ${r.capability_ref} does not exist`);
    },
    async insertCapabilityEvent(e) {
      insertEvent.run(e.tenant_id, e.capability_ref, e.event_no, e.kind, e.plane, JSON.stringify(e.detail), e.effective_state, e.receipt_id, e.anomaly_receipt_id, e.at);
    },
  };
}

/** Capability reads on the reader connection. */
export class SqliteCapabilityReads implements CapabilityReads {
  private readonly byRef: Statement<[string, string], Raw>;
  private readonly all: Statement<[string, string, number], Raw>;
  private readonly ofState: Statement<[string, string, string, number], Raw>;
  private readonly events: Statement<[string, string, number, number], RawEvent>;

  constructor(db: Database) {
    this.byRef = db.prepare(`SELECT ${COLUMNS} FROM capabilities WHERE tenant_id = ? AND capability_ref = ?`);
    this.all = db.prepare(`SELECT ${COLUMNS} FROM capabilities WHERE tenant_id = ? AND capability_ref > ? ORDER BY capability_ref LIMIT ?`);
    this.ofState = db.prepare(
      `SELECT ${COLUMNS} FROM capabilities WHERE tenant_id = ? AND effective_state = ? AND capability_ref > ? ORDER BY capability_ref LIMIT ?`,
    );
    this.events = db.prepare(
      `SELECT ${EVENT_COLUMNS} FROM capability_events WHERE tenant_id = ? AND capability_ref = ? AND event_no > ? ORDER BY event_no LIMIT ?`,
    );
  }

  async capability(tenantId: string, ref: string): Promise<CapabilityRow | undefined> {
    const r = this.byRef.get(tenantId, ref);
    return r && fromRaw(r);
  }

  async listCapabilities(tenantId: string, f: CapabilityListFilter): Promise<CapabilityRow[]> {
    const after = f.after_ref ?? '';
    const rows = f.state === undefined ? this.all.all(tenantId, after, f.limit) : this.ofState.all(tenantId, f.state, after, f.limit);
    return rows.map(fromRaw);
  }

  async capabilityEvents(tenantId: string, ref: string, f: { after_no: number; limit: number }): Promise<CapabilityEventRow[]> {
    return this.events.all(tenantId, ref, f.after_no, f.limit).map(eventFromRaw);
  }
}
