import type { Pool, QueryResultRow } from 'pg';
import type { AutomationReads, AutomationTx } from '../types.js';
import type { AutomationListFilter, AutomationSessionRow } from '../../automation/types.js';
import { AUTOMATION_SESSION_COLUMNS, automationSessionFromRaw, automationSessionValues, type RawAutomationSession } from '../codecs/automation.js';
import { type PgBatch } from './batch.js';
import { literal, readableParams, tuple } from './values.js';

const SQL = {
  byId: `SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = $1 AND automation_id = $2`,
  // FOR UPDATE, held to COMMIT: a revocation and an action on the same session, on any two servers, serialise, and
  // the later one reads what the earlier one committed. No window in which a revoked session still executes.
  forUpdate: `SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = $1 AND automation_id = $2 FOR UPDATE`,
  byRef: `SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = $1 AND session_ref = $2 ORDER BY start_seq`,
  activeFor: `SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = $1 AND capability_ref = $2 AND state = 'active' ORDER BY start_seq`,
  all: `SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = $1 AND start_seq > $2 ORDER BY start_seq LIMIT $3`,
  ofState: `SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = $1 AND state = $2 AND start_seq > $3 ORDER BY start_seq LIMIT $4`,
} as const;

/**
 * Automation session rows of one batch (see PgBatch). Every method takes the tenant first: a start reads the
 * sessions under its sessionRef and inserts one only if none started, and two servers starting the same session at
 * once do so one after the other (the second finds the first's row: the stored session or a refusal, never a
 * unique violation). Writes are buffered; every read flushes first, so it sees them.
 */
export function pgAutomationTx(b: PgBatch): AutomationTx {
  const read = <R extends QueryResultRow>(name: keyof typeof SQL, values: unknown[]) => b.read<R>(`q_auto_${name}`, SQL[name], values);
  return {
    async automationSessionForUpdate(tenantId, id) {
      await b.lockTenant(tenantId);
      const r = (await read<RawAutomationSession>('forUpdate', [tenantId, id]))[0];
      return r && automationSessionFromRaw(r);
    },
    async automationSessionsByRef(tenantId, sessionRef) {
      await b.lockTenant(tenantId);
      return (await read<RawAutomationSession>('byRef', [tenantId, sessionRef])).map(automationSessionFromRaw);
    },
    async activeAutomationSessionsForCapability(tenantId, capabilityRef) {
      await b.lockTenant(tenantId);
      return (await read<RawAutomationSession>('activeFor', [tenantId, capabilityRef])).map(automationSessionFromRaw);
    },
    async insertAutomationSession(r) {
      await b.lockTenant(r.tenant_id);
      b.buffer(`INSERT INTO automation_sessions (${AUTOMATION_SESSION_COLUMNS}) VALUES ${tuple(automationSessionValues(r))}`, { expectRows: 1, what: `inserting automation session ${r.automation_id}` });
    },
    async updateAutomationSession(r) {
      await b.lockTenant(r.tenant_id);
      // A session that does not exist is a bug of the caller: the flush fails and undoes the write.
      b.buffer(
        `UPDATE automation_sessions SET state = ${literal(r.state)}, document = ${literal(JSON.stringify(r.document))},
         end_receipt_id = ${literal(r.end_receipt_id)}, ended_at = ${literal(r.ended_at)}
         WHERE tenant_id = ${literal(r.tenant_id)} AND automation_id = ${literal(r.automation_id)}`,
        { expectRows: 1, what: `updating automation session ${r.automation_id}` },
      );
    },
    async countAutomationAction(tenantId, id, outcome) {
      await b.lockTenant(tenantId);
      const column = outcome === 'executed' ? 'actions_executed' : 'actions_denied';
      b.buffer(`UPDATE automation_sessions SET ${column} = ${column} + 1 WHERE tenant_id = ${literal(tenantId)} AND automation_id = ${literal(id)}`);
    },
  };
}

/** Automation session reads through the pool (committed data only); each waits for the store's migrations. */
export class PgAutomationReads implements AutomationReads {
  constructor(private readonly pool: Pool, private readonly ready: () => Promise<unknown>) {}

  async automationSession(tenantId: string, id: string): Promise<AutomationSessionRow | undefined> {
    const r = (await this.rows<RawAutomationSession>('r_auto_byId', SQL.byId, [tenantId, id]))[0];
    return r && automationSessionFromRaw(r);
  }

  async listAutomationSessions(tenantId: string, f: AutomationListFilter): Promise<AutomationSessionRow[]> {
    const rows = f.state === undefined
      ? await this.rows<RawAutomationSession>('r_auto_all', SQL.all, [tenantId, f.after_seq, f.limit])
      : await this.rows<RawAutomationSession>('r_auto_ofState', SQL.ofState, [tenantId, f.state, f.after_seq, f.limit]);
    return rows.map(automationSessionFromRaw);
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    await this.ready();
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
