import type { Database, Statement } from 'better-sqlite3';
import type { TaskTx } from '../types.js';
import type { LeaseRow, TaskFilter, TaskRow } from '../../tasks/types.js';
import { LEASE_COLUMNS, TASK_COLUMNS, leaseToRow, rowToTask, taskToRow, type RawTask } from '../codecs/tasks.js';

const marks = (cols: string) => cols.split(',').map(() => '?').join(', ');

export function sqliteTaskTx(db: Database): TaskTx {
  const claimStatements = new Map<string, Statement<unknown[], RawTask>>();
  const s = {
    insertTask: db.prepare(`INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${marks(TASK_COLUMNS)})`),
    updateTask: db.prepare(
      `UPDATE tasks SET status = ?, attempt = ?, lease_expiries = ?, claims = ?, next_eligible_at = ?, lease_id = ?, outcome = ?, updated_at = ?
       WHERE tenant_id = ? AND task_id = ?`,
    ),
    taskById: db.prepare<[string, string], RawTask>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = ? AND task_id = ?`),
    taskByKey: db.prepare<[string, string], RawTask>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = ? AND idempotency_key = ?`),
    insertLease: db.prepare(`INSERT INTO leases (${LEASE_COLUMNS}) VALUES (${marks(LEASE_COLUMNS)})`),
    updateLease: db.prepare(
      'UPDATE leases SET token_hash = ?, resent_token_hashes = ?, state = ?, expires_at = ?, last_heartbeat_at = ?, renewals = ?, stamp_id = ?, ended_at = ? WHERE tenant_id = ? AND lease_id = ?',
    ),
    leaseById: db.prepare<[string, string], LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM leases WHERE tenant_id = ? AND lease_id = ?`),
    ofClaim: db.prepare<[string, string, string], LeaseRow>(
      `SELECT ${LEASE_COLUMNS} FROM leases WHERE tenant_id = ? AND worker_id = ? AND claim_id = ? ORDER BY granted_at, lease_id`,
    ),
    due: db.prepare<[number, number], LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM leases WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT CAST(? AS INTEGER)`),
  };
  return {
    async insertTask(t) {
      s.insertTask.run(taskToRow(t));
    },
    async updateTask(t) {
      s.updateTask.run(t.status, t.attempt, t.lease_expiries, t.claims, t.next_eligible_at, t.lease_id,
        t.outcome === null ? null : JSON.stringify(t.outcome), t.updated_at, t.tenant_id, t.task_id);
    },
    async taskById(tenantId, taskId) {
      const r = s.taskById.get(tenantId, taskId);
      return r && rowToTask(r);
    },
    async taskByIdempotencyKey(tenantId, key) {
      const r = s.taskByKey.get(tenantId, key);
      return r && rowToTask(r);
    },
    async claimCandidates(tenantId, after, limit, filter) {
      // Filtering time, type and capabilities in SQL spares parsing rows the engine would drop, and keeps thousands
      // of tasks the worker cannot take from using up the claim's bounded scan before the ones it can. The queue
      // index still gives the order; the filter is checked per index entry.
      const types = filter?.types;
      const capabilities = filter?.capabilities;
      const sql = `SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = ? AND status = 'queued'`
        + (after ? ' AND (priority < ? OR (priority = ? AND queue_seq > ?))' : '')
        + (filter ? ' AND next_eligible_at <= ?' : '')
        + (types ? ` AND type IN (${types.map(() => '?').join(', ')})` : '')
        // Every capability the task requires is one the worker has (a task requiring none, '[]', at once).
        + (capabilities ? " AND (capabilities = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(tasks.capabilities) AS c WHERE c.value NOT IN (SELECT value FROM json_each(?))))" : '')
        + ' ORDER BY priority DESC, queue_seq LIMIT CAST(? AS INTEGER)';
      let stmt = claimStatements.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql) as Statement<unknown[], RawTask>;
        claimStatements.set(sql, stmt);
      }
      const args: unknown[] = [tenantId];
      if (after) args.push(after.priority, after.priority, after.queue_seq);
      if (filter) args.push(filter.now);
      if (types) args.push(...types);
      if (capabilities) args.push(JSON.stringify(capabilities));
      args.push(limit);
      return stmt.all(...args).map(rowToTask);
    },
    async insertLease(l) {
      s.insertLease.run(leaseToRow(l));
    },
    async updateLease(l) {
      s.updateLease.run(l.token_hash, l.resent_token_hashes, l.state, l.expires_at, l.last_heartbeat_at, l.renewals, l.stamp_id, l.ended_at, l.tenant_id, l.lease_id);
    },
    async leaseById(tenantId, leaseId) {
      return s.leaseById.get(tenantId, leaseId);
    },
    async leasesOfClaim(tenantId, workerId, claimId) {
      return s.ofClaim.all(tenantId, workerId, claimId);
    },
    async dueLeases(now, limit) {
      return s.due.all(now, limit);
    },
  };
}

/** Task reads on the reader connection. */
export class SqliteTaskReads {
  private readonly byId: Statement<[string, string], RawTask>;
  private readonly lease: Statement<[string, string], LeaseRow>;
  private readonly due: Statement<[number], unknown>;
  private readonly cache = new Map<string, Statement<unknown[], RawTask>>();

  constructor(private readonly db: Database) {
    this.byId = db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = ? AND task_id = ?`);
    this.lease = db.prepare(`SELECT ${LEASE_COLUMNS} FROM leases WHERE tenant_id = ? AND lease_id = ?`);
    this.due = db.prepare<[number], unknown>(`SELECT 1 FROM leases WHERE state = 'active' AND expires_at <= ? LIMIT 1`).pluck();
  }

  anyLeaseDue(now: number): boolean {
    return this.due.get(now) !== undefined;
  }

  task(tenantId: string, taskId: string): TaskRow | undefined {
    const r = this.byId.get(tenantId, taskId);
    return r && rowToTask(r);
  }

  leaseById(tenantId: string, leaseId: string): LeaseRow | undefined {
    return this.lease.get(tenantId, leaseId);
  }

  listTasks(tenantId: string, f: TaskFilter): TaskRow[] {
    const where = ['tenant_id = ?', 'queue_seq > ?'];
    const args: unknown[] = [tenantId, f.after_seq];
    if (f.status !== undefined) (where.push('status = ?'), args.push(f.status));
    if (f.type !== undefined) (where.push('type = ?'), args.push(f.type));
    args.push(f.limit);
    const sql = `SELECT ${TASK_COLUMNS} FROM tasks WHERE ${where.join(' AND ')} ORDER BY queue_seq LIMIT CAST(? AS INTEGER)`;
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql) as Statement<unknown[], RawTask>;
      this.cache.set(sql, stmt);
    }
    return stmt.all(...args).map(rowToTask);
  }
}
