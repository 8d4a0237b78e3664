import type { Pool, QueryResultRow } from 'pg';
import type { CapabilityReads, CapabilityTx } from '../types.js';
import type { CapabilityEventRow, CapabilityListFilter, CapabilityRow } from '../../capabilities/types.js';
import { literal, readableParams, tuple, type PgBatch } from './batch.js';

const COLUMNS = 'tenant_id, capability_ref, declared_by, required_planes, optional_planes, session_ref, planes, effective_state, state_reason, record, receipt_id, events, declared_at, updated_at';
const EVENT_COLUMNS = 'tenant_id, capability_ref, event_no, kind, plane, detail, effective_state, receipt_id, anomaly_receipt_id, at';

/** A capabilities row as PostgreSQL returns it: JSON columns as text. */
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

/** Every column in COLUMNS order. */
function toRow(r: CapabilityRow): unknown[] {
  return [
    r.tenant_id, r.capability_ref, JSON.stringify(r.declared_by), JSON.stringify(r.required_planes), JSON.stringify(r.optional_planes),
    r.session_ref, JSON.stringify(r.planes), r.effective_state, r.state_reason, JSON.stringify(r.record), r.receipt_id, r.events,
    r.declared_at, r.updated_at,
  ];
}

const SQL = {
  byRef: `SELECT ${COLUMNS} FROM capabilities WHERE tenant_id = $1 AND capability_ref = $2`,
  // FOR UPDATE: the interface's promise that reports on one capability serialise, held to COMMIT. The tenant's
  // chain head, taken first, already orders every writer of the tenant; the row lock states the rule where it
  // applies, so it holds whatever else one day writes a capability.
  forUpdate: `SELECT ${COLUMNS} FROM capabilities WHERE tenant_id = $1 AND capability_ref = $2 FOR UPDATE`,
  // capability_ref is COLLATE "C": byte order, as SQLite compares, for the order and the cursor.
  all: `SELECT ${COLUMNS} FROM capabilities WHERE tenant_id = $1 AND capability_ref > $2 ORDER BY capability_ref LIMIT $3`,
  ofState: `SELECT ${COLUMNS} FROM capabilities WHERE tenant_id = $1 AND effective_state = $2 AND capability_ref > $3 ORDER BY capability_ref LIMIT $4`,
  events: `SELECT ${EVENT_COLUMNS} FROM capability_events WHERE tenant_id = $1 AND capability_ref = $2 AND event_no > $3 ORDER BY event_no LIMIT $4`,
} as const;

/**
 * Capability rows of one batch (see PgBatch). The tenant is locked before the row is read, so two servers declaring
 * or reporting on the same capability at once take turns: the second reads what the first committed (an existing
 * capability to update, not a second insert), never a unique violation.
 */
export function pgCapabilityTx(b: PgBatch): CapabilityTx {
  return {
    async capabilityForUpdate(tenantId, ref) {
      await b.lockTenant(tenantId);
      const r = (await b.read<Raw>('q_cap_forUpdate', SQL.forUpdate, [tenantId, ref]))[0];
      return r && fromRaw(r);
    },
    async insertCapability(r) {
      await b.lockTenant(r.tenant_id);
      b.buffer(`INSERT INTO capabilities (${COLUMNS}) VALUES ${tuple(toRow(r))}`, { expectRows: 1, what: `inserting capability ${r.capability_ref}` });
    },
    async updateCapability(r) {
      await b.lockTenant(r.tenant_id);
      // A capability that does not exist is a bug of the caller: the flush fails and undoes the write.
      b.buffer(
        `UPDATE capabilities SET declared_by = ${literal(JSON.stringify(r.declared_by))}, required_planes = ${literal(JSON.stringify(r.required_planes))},
         optional_planes = ${literal(JSON.stringify(r.optional_planes))}, session_ref = ${literal(r.session_ref)}, planes = ${literal(JSON.stringify(r.planes))},
         effective_state = ${literal(r.effective_state)}, state_reason = ${literal(r.state_reason)}, record = ${literal(JSON.stringify(r.record))},
         receipt_id = ${literal(r.receipt_id)}, events = ${literal(r.events)}, updated_at = ${literal(r.updated_at)}
         WHERE tenant_id = ${literal(r.tenant_id)} AND capability_ref = ${literal(r.capability_ref)}`,
        { expectRows: 1, what: `updating capability ${r.capability_ref}` },
      );
    },
    async insertCapabilityEvent(e) {
      await b.lockTenant(e.tenant_id);
      const row = [e.tenant_id, e.capability_ref, e.event_no, e.kind, e.plane, JSON.stringify(e.detail), e.effective_state, e.receipt_id, e.anomaly_receipt_id, e.at];
      b.buffer(`INSERT INTO capability_events (${EVENT_COLUMNS}) VALUES ${tuple(row)}`, { expectRows: 1, what: `inserting event ${e.event_no} of ${e.capability_ref}` });
    },
  };
}

/** Capability reads through the pool (committed data only); each waits for the store's migrations. */
export class PgCapabilityReads implements CapabilityReads {
  constructor(private readonly pool: Pool, private readonly ready: Promise<unknown>) {}

  async capability(tenantId: string, ref: string): Promise<CapabilityRow | undefined> {
    const r = (await this.rows<Raw>('r_cap_byRef', SQL.byRef, [tenantId, ref]))[0];
    return r && fromRaw(r);
  }

  async listCapabilities(tenantId: string, f: CapabilityListFilter): Promise<CapabilityRow[]> {
    const after = f.after_ref ?? '';
    const rows = f.state === undefined
      ? await this.rows<Raw>('r_cap_all', SQL.all, [tenantId, after, f.limit])
      : await this.rows<Raw>('r_cap_ofState', SQL.ofState, [tenantId, f.state, after, f.limit]);
    return rows.map(fromRaw);
  }

  async capabilityEvents(tenantId: string, ref: string, f: { after_no: number; limit: number }): Promise<CapabilityEventRow[]> {
    return (await this.rows<RawEvent>('r_cap_events', SQL.events, [tenantId, ref, f.after_no, f.limit])).map(eventFromRaw);
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    await this.ready;
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
