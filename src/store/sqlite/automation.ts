import type { Database, Statement } from 'better-sqlite3';
import type { AutomationReads, AutomationTx } from '../types.js';
import type { AutomationListFilter, AutomationSessionRow } from '../../automation/types.js';
import { AUTOMATION_SESSION_COLUMNS, automationSessionFromRaw, automationSessionValues, type RawAutomationSession } from '../codecs/automation.js';

const PLACEHOLDERS = AUTOMATION_SESSION_COLUMNS.split(',').map(() => '?').join(', ');

/** Automation session writes on the writer connection, inside the group-committed transaction. */
export function sqliteAutomationTx(db: Database): AutomationTx {
  // SQLite has one writer (BEGIN IMMEDIATE): a plain read inside the write transaction is already exclusive, so the
  // row read here is the state every later write in this database will see until this one changes it.
  const byId = db.prepare<[string, string], RawAutomationSession>(`SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = ? AND automation_id = ?`);
  const byRef = db.prepare<[string, string], RawAutomationSession>(`SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = ? AND session_ref = ? ORDER BY start_seq`);
  const activeFor = db.prepare<[string, string], RawAutomationSession>(
    `SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = ? AND capability_ref = ? AND state = 'active' ORDER BY start_seq`,
  );
  const insert = db.prepare(`INSERT INTO automation_sessions (${AUTOMATION_SESSION_COLUMNS}) VALUES (${PLACEHOLDERS})`);
  const update = db.prepare('UPDATE automation_sessions SET state = ?, document = ?, end_receipt_id = ?, ended_at = ? WHERE tenant_id = ? AND automation_id = ?');
  const executed = db.prepare('UPDATE automation_sessions SET actions_executed = actions_executed + 1 WHERE tenant_id = ? AND automation_id = ?');
  const denied = db.prepare('UPDATE automation_sessions SET actions_denied = actions_denied + 1 WHERE tenant_id = ? AND automation_id = ?');
  return {
    async automationSessionForUpdate(tenantId, id) {
      const r = byId.get(tenantId, id);
      return r && automationSessionFromRaw(r);
    },
    async automationSessionsByRef(tenantId, sessionRef) {
      return byRef.all(tenantId, sessionRef).map(automationSessionFromRaw);
    },
    async activeAutomationSessionsForCapability(tenantId, capabilityRef) {
      return activeFor.all(tenantId, capabilityRef).map(automationSessionFromRaw);
    },
    async insertAutomationSession(r) {
      insert.run(...automationSessionValues(r));
    },
    async updateAutomationSession(r) {
      const info = update.run(r.state, JSON.stringify(r.document), r.end_receipt_id, r.ended_at, r.tenant_id, r.automation_id);
      if (info.changes !== 1) throw new Error(`automation session ${r.automation_id} does not exist`);
    },
    async countAutomationAction(tenantId, id, outcome) {
      (outcome === 'executed' ? executed : denied).run(tenantId, id);
    },
  };
}

/** Automation session reads on the reader connection. */
export class SqliteAutomationReads implements AutomationReads {
  private readonly byId: Statement<[string, string], RawAutomationSession>;
  private readonly all: Statement<[string, number, number], RawAutomationSession>;
  private readonly ofState: Statement<[string, string, number, number], RawAutomationSession>;

  constructor(db: Database) {
    this.byId = db.prepare(`SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = ? AND automation_id = ?`);
    this.all = db.prepare(`SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = ? AND start_seq > ? ORDER BY start_seq LIMIT CAST(? AS INTEGER)`);
    this.ofState = db.prepare(`SELECT ${AUTOMATION_SESSION_COLUMNS} FROM automation_sessions WHERE tenant_id = ? AND state = ? AND start_seq > ? ORDER BY start_seq LIMIT CAST(? AS INTEGER)`);
  }

  async automationSession(tenantId: string, id: string): Promise<AutomationSessionRow | undefined> {
    const r = this.byId.get(tenantId, id);
    return r && automationSessionFromRaw(r);
  }

  async listAutomationSessions(tenantId: string, f: AutomationListFilter): Promise<AutomationSessionRow[]> {
    const rows = f.state === undefined ? this.all.all(tenantId, f.after_seq, f.limit) : this.ofState.all(tenantId, f.state, f.after_seq, f.limit);
    return rows.map(automationSessionFromRaw);
  }
}
