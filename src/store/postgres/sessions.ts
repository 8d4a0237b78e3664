import type { Pool, QueryResultRow } from 'pg';
import type { SessionReads, SessionTx } from '../types.js';
import type { OrphanFilter, OrphanRow, SessionEventRow, SessionRow } from '../../sessions/types.js';
import { canonicalize } from '../../ledger/canonical.js';
import {
  ORPHAN_COLUMNS, ORPHAN_KEY_COLUMNS, SESSION_COLUMNS, SESSION_EVENT_COLUMNS, SESSION_KEY_COLUMNS,
  orphanToRow, rowToOrphan, rowToSession, sessionEventToRow, sessionToRow, type RawOrphan, type RawSession,
} from '../codecs/sessions.js';
import { type PgBatch } from './batch.js';
import { literal, readableParams, tuple } from './values.js';

/** One statement per key column (a column name cannot be a parameter), each matching a partial index of 0004. */
function perKey<K extends string>(keys: readonly K[], make: (column: K) => string): Record<K, string> {
  return Object.fromEntries(keys.map((k) => [k, make(k)])) as Record<K, string>;
}

const SQL = {
  sessionById: `SELECT ${SESSION_COLUMNS} FROM sessions WHERE tenant_id = $1 AND session_id = $2`,
  eventById: `SELECT ${SESSION_EVENT_COLUMNS} FROM session_events WHERE tenant_id = $1 AND event_id = $2`,
  eventChildren: 'SELECT event_id FROM session_events WHERE tenant_id = $1 AND parent_id = $2 LIMIT $3',
  orphanById: `SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = $1 AND orphan_id = $2`,
  // SKIP LOCKED: a sweeper never waits for (or resolves a second time) an orphan another transaction is resolving.
  lockQueued: `SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = $1 AND orphan_id = $2 AND state = 'queued' FOR UPDATE SKIP LOCKED`,
  // session_id order: the order SQLite's partial index (whose rows end with the primary key) returns them in.
  openByKey: perKey(SESSION_KEY_COLUMNS, (c) =>
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE tenant_id = $1 AND ${c} = $2 AND state = 'open' AND ${c} IS NOT NULL ORDER BY session_id`),
  queuedByKey: perKey(ORPHAN_KEY_COLUMNS, (c) =>
    `SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = $1 AND ${c} = $2 AND state = 'queued' AND ${c} IS NOT NULL AND expires_at > $3 ORDER BY seq`),
  nodes: `SELECT ${SESSION_EVENT_COLUMNS} FROM session_events WHERE tenant_id = $1 AND node_session_id = $2 AND node_seq > $3 ORDER BY node_seq LIMIT $4`,
  events: `SELECT ${SESSION_EVENT_COLUMNS} FROM session_events WHERE tenant_id = $1 AND event_id = ANY($2::text[])`,
  orphansAll: `SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
  orphansIn: `SELECT ${ORPHAN_COLUMNS} FROM orphans WHERE tenant_id = $1 AND state = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
  // Ties in expiry come in key order, as from SQLite's index.
  due: `SELECT tenant_id, orphan_id FROM orphans WHERE state = 'queued' AND expires_at <= $1 ORDER BY expires_at, tenant_id, orphan_id LIMIT $2`,
} as const;

/**
 * Session, event and orphan rows of one batch (see PgBatch). Every method takes the tenant first, like the ledger's:
 * what the engine reads (is this session_id or event_id known? which sessions and orphans carry this key?) cannot
 * change under it until COMMIT, on this server or any other. So the same session_id or event_id arriving on two
 * servers at once is decided one after the other: the second write waits for the tenant, then finds the first's
 * row and answers from it (the stored session, the duplicate delivery), never a unique violation. Writes are
 * buffered; every read flushes first, so it sees them.
 */
export function pgSessionTx(b: PgBatch): SessionTx {
  const read = <R extends QueryResultRow>(name: string, text: string, values: unknown[]) => b.read<R>(`q_ses_${name}`, text, values);
  return {
    async sessionById(tenantId, sessionId) {
      await b.lockTenant(tenantId);
      const r = (await read<RawSession>('byId', SQL.sessionById, [tenantId, sessionId]))[0];
      return r && rowToSession(r);
    },
    async insertSession(row) {
      await b.lockTenant(row.tenant_id);
      b.buffer(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES ${tuple(sessionToRow(row))}`, { expectRows: 1, what: `inserting session ${row.session_id}` });
    },
    async updateSession(r) {
      await b.lockTenant(r.tenant_id);
      b.buffer(
        `UPDATE sessions SET conversation_id = ${literal(r.conversation_id)}, workspace_ref = ${literal(r.workspace_ref)}, task_ref = ${literal(r.task_ref)},
         state = ${literal(r.state)}, closed_receipt_id = ${literal(r.closed_receipt_id)}, last_update_receipt_id = ${literal(r.last_update_receipt_id)},
         updated_at = ${literal(r.updated_at)}, closed_at = ${literal(r.closed_at)}
         WHERE tenant_id = ${literal(r.tenant_id)} AND session_id = ${literal(r.session_id)}`,
      );
    },
    async openSessionsByKey(tenantId, key, value) {
      await b.lockTenant(tenantId);
      return (await read<RawSession>(`open_${key}`, SQL.openByKey[key], [tenantId, value])).map(rowToSession);
    },
    async sessionEventById(tenantId, eventId) {
      await b.lockTenant(tenantId);
      return (await read<SessionEventRow>('eventById', SQL.eventById, [tenantId, eventId]))[0];
    },
    async sessionEventChildren(tenantId, parentId, limit) {
      await b.lockTenant(tenantId);
      return (await read<{ event_id: string }>('eventChildren', SQL.eventChildren, [tenantId, parentId, limit])).map((r) => r.event_id);
    },
    async insertSessionEvent(row) {
      await b.lockTenant(row.tenant_id);
      b.buffer(`INSERT INTO session_events (${SESSION_EVENT_COLUMNS}) VALUES ${tuple(sessionEventToRow(row))}`, { expectRows: 1, what: `inserting event ${row.event_id}` });
    },
    async updateSessionEvent(e) {
      await b.lockTenant(e.tenant_id);
      b.buffer(
        `UPDATE session_events SET deliveries = ${literal(e.deliveries)}, orphan_id = ${literal(e.orphan_id)}, node_session_id = ${literal(e.node_session_id)},
         node_receipt_id = ${literal(e.node_receipt_id)}, node_seq = ${literal(e.node_seq)}, attached_at = ${literal(e.attached_at)}
         WHERE tenant_id = ${literal(e.tenant_id)} AND event_id = ${literal(e.event_id)}`,
      );
    },
    async insertOrphan(row) {
      await b.lockTenant(row.tenant_id);
      b.buffer(`INSERT INTO orphans (${ORPHAN_COLUMNS}) VALUES ${tuple(orphanToRow(row))}`, { expectRows: 1, what: `inserting orphan ${row.orphan_id}` });
    },
    async updateOrphan(o) {
      await b.lockTenant(o.tenant_id);
      b.buffer(
        `UPDATE orphans SET state = ${literal(o.state)}, candidates = ${literal(JSON.stringify(o.candidates))}, resolved_at = ${literal(o.resolved_at)},
         resolution_receipt_id = ${literal(o.resolution_receipt_id)}, node_receipt_id = ${literal(o.node_receipt_id)},
         recovered_session_id = ${literal(o.recovered_session_id)}, document = ${literal(canonicalize(o.document))}
         WHERE tenant_id = ${literal(o.tenant_id)} AND orphan_id = ${literal(o.orphan_id)}`,
      );
    },
    async orphanById(tenantId, orphanId) {
      await b.lockTenant(tenantId);
      const r = (await read<RawOrphan>('orphanById', SQL.orphanById, [tenantId, orphanId]))[0];
      return r && rowToOrphan(r);
    },
    async queuedOrphansByKey(tenantId, key, value, nowMs) {
      await b.lockTenant(tenantId);
      return (await read<RawOrphan>(`queued_${key}`, SQL.queuedByKey[key], [tenantId, value, nowMs])).map(rowToOrphan);
    },
    /**
     * The tenant first (every writer of its orphans holds it, so this is where two sweepers take turns), then the
     * row FOR UPDATE SKIP LOCKED: a queued orphan held by anyone else is skipped, never resolved twice.
     */
    async lockQueuedOrphan(tenantId, orphanId) {
      await b.lockTenant(tenantId);
      const r = (await read<RawOrphan>('lockQueued', SQL.lockQueued, [tenantId, orphanId]))[0];
      return r && rowToOrphan(r);
    },
  };
}

/** Session and orphan reads through the pool (committed data only); each waits for the store's migrations. */
export class PgSessionReads implements SessionReads {
  constructor(private readonly pool: Pool, private readonly ready: () => Promise<unknown>) {}

  async session(tenantId: string, sessionId: string): Promise<SessionRow | undefined> {
    const r = (await this.rows<RawSession>('r_ses_session', SQL.sessionById, [tenantId, sessionId]))[0];
    return r && rowToSession(r);
  }

  async sessionNodes(tenantId: string, sessionId: string, f: { after_seq: number; limit: number }): Promise<SessionEventRow[]> {
    return this.rows<SessionEventRow>('r_ses_nodes', SQL.nodes, [tenantId, sessionId, f.after_seq, f.limit]);
  }

  /** In the order asked (a repeated id answered again), as SQLite's one lookup per id answers. */
  async sessionEvents(tenantId: string, eventIds: readonly string[]): Promise<SessionEventRow[]> {
    if (eventIds.length === 0) return [];
    const found = new Map((await this.rows<SessionEventRow>('r_ses_events', SQL.events, [tenantId, [...eventIds]])).map((e) => [e.event_id, e]));
    return eventIds.flatMap((id) => {
      const e = found.get(id);
      return e ? [{ ...e }] : [];
    });
  }

  async orphans(tenantId: string, f: OrphanFilter): Promise<OrphanRow[]> {
    const rows = f.state === undefined
      ? await this.rows<RawOrphan>('r_ses_orphans', SQL.orphansAll, [tenantId, f.after_seq, f.limit])
      : await this.rows<RawOrphan>('r_ses_orphans_in', SQL.orphansIn, [tenantId, f.state, f.after_seq, f.limit]);
    return rows.map(rowToOrphan);
  }

  async dueOrphans(nowMs: number, limit: number): Promise<{ tenant_id: string; orphan_id: string }[]> {
    return this.rows('r_ses_due', SQL.due, [nowMs, limit]);
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    await this.ready();
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
