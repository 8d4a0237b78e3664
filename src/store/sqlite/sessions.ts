import type { Database, Statement } from 'better-sqlite3';
import type { SessionReads, SessionTx } from '../types.js';
import type { OrphanKey, OrphanRow, SessionEventRow, SessionKey, SessionRow } from '../../sessions/types.js';
import { canonicalize } from '../../ledger/canonical.js';
import {
  ORPHAN_COLUMNS, ORPHAN_KEY_COLUMNS, SESSION_COLUMNS, SESSION_EVENT_COLUMNS, SESSION_KEY_COLUMNS,
  orphanToRow, rowToOrphan, rowToSession, sessionEventToRow, sessionToRow, type RawOrphan, type RawSession,
} from '../codecs/sessions.js';

const marks = (cols: string) => cols.split(',').map(() => '?').join(', ');

/** One prepared statement per key column: a column name cannot be a bound parameter. */
function perKey<K extends string, A extends unknown[], R>(keys: readonly K[], make: (column: K) => Statement<A, R>): Record<K, Statement<A, R>> {
  return Object.fromEntries(keys.map((k) => [k, make(k)])) as Record<K, Statement<A, R>>;
}

/**
 * The partial indexes of 0004_sessions.sql, named explicitly: without statistics the planner ties them with the
 * broader (tenant_id, state) and primary-key indexes and may scan a whole tenant instead.
 */
const SESSION_KEY_INDEX: Record<SessionKey, string> = {
  conversation_id: 'sessions_open_conversation', workspace_ref: 'sessions_open_workspace', task_ref: 'sessions_open_task',
};
const ORPHAN_KEY_INDEX: Record<OrphanKey, string> = {
  session_id: 'orphans_queued_session', parent_id: 'orphans_queued_parent', conversation_id: 'orphans_queued_conversation',
  workspace_ref: 'orphans_queued_workspace', task_ref: 'orphans_queued_task',
};

/** Session writes on the writer connection, inside the group-committed transaction. */
export function sqliteSessionTx(db: Database): SessionTx {
  const s = {
    sessionById: db.prepare<[string, string], RawSession>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE tenant_id = ? AND session_id = ?`),
    insertSession: db.prepare(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (${marks(SESSION_COLUMNS)})`),
    updateSession: db.prepare(
      `UPDATE sessions SET conversation_id = ?, workspace_ref = ?, task_ref = ?, state = ?, closed_receipt_id = ?, last_update_receipt_id = ?,
       updated_at = ?, closed_at = ? WHERE tenant_id = ? AND session_id = ?`,
    ),
    openByKey: perKey(SESSION_KEY_COLUMNS, (c) =>
      db.prepare<[string, string], RawSession>(`SELECT ${SESSION_COLUMNS} FROM sessions INDEXED BY ${SESSION_KEY_INDEX[c]} WHERE tenant_id = ? AND ${c} = ? AND state = 'open' AND ${c} IS NOT NULL`)),
    eventById: db.prepare<[string, string], SessionEventRow>(`SELECT ${SESSION_EVENT_COLUMNS} FROM session_events WHERE tenant_id = ? AND event_id = ?`),
    eventChildren: db.prepare<[string, string, number], { event_id: string }>('SELECT event_id FROM session_events WHERE tenant_id = ? AND parent_id = ? LIMIT ?'),
    insertEvent: db.prepare(`INSERT INTO session_events (${SESSION_EVENT_COLUMNS}) VALUES (${marks(SESSION_EVENT_COLUMNS)})`),
    updateEvent: db.prepare(
      `UPDATE session_events SET deliveries = ?, orphan_id = ?, node_session_id = ?, node_receipt_id = ?, node_seq = ?, attached_at = ?
       WHERE tenant_id = ? AND event_id = ?`,
    ),
    insertOrphan: db.prepare(`INSERT INTO orphans (${ORPHAN_COLUMNS}) VALUES (${marks(ORPHAN_COLUMNS)})`),
    updateOrphan: db.prepare(
      `UPDATE orphans SET state = ?, candidates = ?, resolved_at = ?, resolution_receipt_id = ?, node_receipt_id = ?, recovered_session_id = ?,
       document = ? WHERE tenant_id = ? AND orphan_id = ?`,
    ),
    orphanById: db.prepare<[string, string], RawOrphan>(`SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = ? AND orphan_id = ?`),
    queuedById: db.prepare<[string, string], RawOrphan>(`SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = ? AND orphan_id = ? AND state = 'queued'`),
    queuedByKey: perKey(ORPHAN_KEY_COLUMNS, (c) =>
      db.prepare<[string, string, number], RawOrphan>(
        `SELECT ${ORPHAN_COLUMNS} FROM orphans INDEXED BY ${ORPHAN_KEY_INDEX[c]}
         WHERE tenant_id = ? AND ${c} = ? AND state = 'queued' AND ${c} IS NOT NULL AND expires_at > ? ORDER BY seq`,
      )),
  };
  return {
    async sessionById(tenantId, sessionId) {
      const r = s.sessionById.get(tenantId, sessionId);
      return r && rowToSession(r);
    },
    async insertSession(row) {
      s.insertSession.run(sessionToRow(row));
    },
    async updateSession(r) {
      s.updateSession.run(r.conversation_id, r.workspace_ref, r.task_ref, r.state, r.closed_receipt_id, r.last_update_receipt_id, r.updated_at,
        r.closed_at, r.tenant_id, r.session_id);
    },
    async openSessionsByKey(tenantId, key, value) {
      return s.openByKey[key].all(tenantId, value).map(rowToSession);
    },
    async sessionEventById(tenantId, eventId) {
      return s.eventById.get(tenantId, eventId);
    },
    async sessionEventChildren(tenantId, parentId, limit) {
      return s.eventChildren.all(tenantId, parentId, limit).map((r) => r.event_id);
    },
    async insertSessionEvent(row) {
      s.insertEvent.run(sessionEventToRow(row));
    },
    async updateSessionEvent(e) {
      s.updateEvent.run(e.deliveries, e.orphan_id, e.node_session_id, e.node_receipt_id, e.node_seq, e.attached_at, e.tenant_id, e.event_id);
    },
    async insertOrphan(row) {
      s.insertOrphan.run(orphanToRow(row));
    },
    async updateOrphan(o) {
      s.updateOrphan.run(o.state, JSON.stringify(o.candidates), o.resolved_at, o.resolution_receipt_id, o.node_receipt_id, o.recovered_session_id,
        canonicalize(o.document), o.tenant_id, o.orphan_id);
    },
    async orphanById(tenantId, orphanId) {
      const r = s.orphanById.get(tenantId, orphanId);
      return r && rowToOrphan(r);
    },
    async queuedOrphansByKey(tenantId, key, value, nowMs) {
      return s.queuedByKey[key].all(tenantId, value, nowMs).map(rowToOrphan);
    },
    async lockQueuedOrphan(tenantId, orphanId) {
      // SQLite has one writer (BEGIN IMMEDIATE): a row read inside the write cannot change before it commits.
      const r = s.queuedById.get(tenantId, orphanId);
      return r && rowToOrphan(r);
    },
  };
}

/** Reads on the reader connection (WAL: committed data only, never blocks the writer). */
export class SqliteSessionReads implements SessionReads {
  private readonly s;

  constructor(db: Database) {
    this.s = {
      session: db.prepare<[string, string], RawSession>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE tenant_id = ? AND session_id = ?`),
      nodes: db.prepare<[string, string, number, number], SessionEventRow>(
        `SELECT ${SESSION_EVENT_COLUMNS} FROM session_events WHERE tenant_id = ? AND node_session_id = ? AND node_seq > ? ORDER BY node_seq LIMIT CAST(? AS INTEGER)`,
      ),
      event: db.prepare<[string, string], SessionEventRow>(`SELECT ${SESSION_EVENT_COLUMNS} FROM session_events WHERE tenant_id = ? AND event_id = ?`),
      orphansAll: db.prepare<[string, number, number], RawOrphan>(`SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)`),
      orphansIn: db.prepare<[string, string, number, number], RawOrphan>(
        `SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = ? AND state = ? AND seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)`,
      ),
      due: db.prepare<[number, number], { tenant_id: string; orphan_id: string }>(
        `SELECT tenant_id, orphan_id FROM orphans WHERE state = 'queued' AND expires_at <= ? ORDER BY expires_at LIMIT CAST(? AS INTEGER)`,
      ),
    };
  }

  async session(tenantId: string, sessionId: string): Promise<SessionRow | undefined> {
    const r = this.s.session.get(tenantId, sessionId);
    return r && rowToSession(r);
  }

  async sessionNodes(tenantId: string, sessionId: string, f: { after_seq: number; limit: number }): Promise<SessionEventRow[]> {
    return this.s.nodes.all(tenantId, sessionId, f.after_seq, f.limit);
  }

  async sessionEvents(tenantId: string, eventIds: readonly string[]): Promise<SessionEventRow[]> {
    const out: SessionEventRow[] = [];
    for (const id of eventIds) {
      const r = this.s.event.get(tenantId, id);
      if (r) out.push(r);
    }
    return out;
  }

  async orphans(tenantId: string, f: { state?: OrphanRow['state']; after_seq: number; limit: number }): Promise<OrphanRow[]> {
    const rows = f.state === undefined ? this.s.orphansAll.all(tenantId, f.after_seq, f.limit) : this.s.orphansIn.all(tenantId, f.state, f.after_seq, f.limit);
    return rows.map(rowToOrphan);
  }

  async dueOrphans(nowMs: number, limit: number): Promise<{ tenant_id: string; orphan_id: string }[]> {
    return this.s.due.all(nowMs, limit);
  }
}
