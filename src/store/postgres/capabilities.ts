import type { Pool, QueryResultRow } from 'pg';
import type { CapabilityReads, CapabilityTx } from '../types.js';
import type { CapabilityEventRow, CapabilityListFilter, CapabilityRow } from '../../capabilities/types.js';
import {
  CAPABILITY_COLUMNS, CAPABILITY_EVENT_COLUMNS, capabilityEventFromRaw, capabilityEventValues, capabilityFromRaw, capabilityValues,
  type RawCapability, type RawCapabilityEvent,
} from '../codecs/capabilities.js';
import { type PgBatch } from './batch.js';
import { literal, readableParams, tuple } from './values.js';

const SQL = {
  byRef: `SELECT ${CAPABILITY_COLUMNS} FROM capabilities WHERE tenant_id = $1 AND capability_ref = $2`,
  // FOR UPDATE: the interface's promise that reports on one capability serialise, held to COMMIT. The tenant's
  // chain head, taken first, already orders every writer of the tenant; the row lock states the rule where it
  // applies, so it holds whatever else one day writes a capability.
  forUpdate: `SELECT ${CAPABILITY_COLUMNS} FROM capabilities WHERE tenant_id = $1 AND capability_ref = $2 FOR UPDATE`,
  // capability_ref is COLLATE "C": byte order, as SQLite compares, for the order and the cursor.
  all: `SELECT ${CAPABILITY_COLUMNS} FROM capabilities WHERE tenant_id = $1 AND capability_ref > $2 ORDER BY capability_ref LIMIT $3`,
  ofState: `SELECT ${CAPABILITY_COLUMNS} FROM capabilities WHERE tenant_id = $1 AND effective_state = $2 AND capability_ref > $3 ORDER BY capability_ref LIMIT $4`,
  events: `SELECT ${CAPABILITY_EVENT_COLUMNS} FROM capability_events WHERE tenant_id = $1 AND capability_ref = $2 AND event_no > $3 ORDER BY event_no LIMIT $4`,
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
      const r = (await b.read<RawCapability>('q_cap_forUpdate', SQL.forUpdate, [tenantId, ref]))[0];
      return r && capabilityFromRaw(r);
    },
    async insertCapability(r) {
      await b.lockTenant(r.tenant_id);
      b.buffer(`INSERT INTO capabilities (${CAPABILITY_COLUMNS}) VALUES ${tuple(capabilityValues(r))}`, { expectRows: 1, what: `inserting capability ${r.capability_ref}` });
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
      b.buffer(`INSERT INTO capability_events (${CAPABILITY_EVENT_COLUMNS}) VALUES ${tuple(capabilityEventValues(e))}`, { expectRows: 1, what: `inserting event ${e.event_no} of ${e.capability_ref}` });
    },
  };
}

/** Capability reads through the pool (committed data only); each waits for the store's migrations. */
export class PgCapabilityReads implements CapabilityReads {
  constructor(private readonly pool: Pool, private readonly ready: () => Promise<unknown>) {}

  async capability(tenantId: string, ref: string): Promise<CapabilityRow | undefined> {
    const r = (await this.rows<RawCapability>('r_cap_byRef', SQL.byRef, [tenantId, ref]))[0];
    return r && capabilityFromRaw(r);
  }

  async listCapabilities(tenantId: string, f: CapabilityListFilter): Promise<CapabilityRow[]> {
    const after = f.after_ref ?? '';
    const rows = f.state === undefined
      ? await this.rows<RawCapability>('r_cap_all', SQL.all, [tenantId, after, f.limit])
      : await this.rows<RawCapability>('r_cap_ofState', SQL.ofState, [tenantId, f.state, after, f.limit]);
    return rows.map(capabilityFromRaw);
  }

  async capabilityEvents(tenantId: string, ref: string, f: { after_no: number; limit: number }): Promise<CapabilityEventRow[]> {
    return (await this.rows<RawCapabilityEvent>('r_cap_events', SQL.events, [tenantId, ref, f.after_no, f.limit])).map(capabilityEventFromRaw);
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    await this.ready();
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
