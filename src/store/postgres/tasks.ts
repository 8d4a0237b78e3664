import type { Pool, QueryResultRow } from 'pg';
import type { TaskTx } from '../types.js';
import type { LeaseRow, TaskFilter, TaskRow } from '../../tasks/types.js';
import { LEASE_COLUMNS, TASK_COLUMNS, leaseToRow, rowToTask, taskToRow, type RawTask } from '../codecs/tasks.js';
import { type PgBatch } from './batch.js';
import { literal, readableParams, tuple } from './values.js';
import { PARENT_COLUMNS_PREFIXED, PARENT_FROM, prefixedParent, rememberParents } from './ledger.js';
import { lockedForClose } from './stamps.js';
import { STAMP_CLOSING_COLUMNS } from '../codecs/stamps.js';
import { prefixedColumns, unprefixed } from './rows.js';

const TASK_COLUMN_LIST = TASK_COLUMNS.split(', ');
const LEASE_COLUMN_LIST = LEASE_COLUMNS.split(', ');
const STAMP_COLUMN_LIST = STAMP_CLOSING_COLUMNS.split(', ');

/**
 * A lease with what every write under it reads next, in one statement (so it can be prepared): its task, its stamp
 * (locked FOR UPDATE, as stampForClose would: a lease's write may tombstone it), and the receipts its appends will
 * name as parents (lease.granted, task.assigned, stamp.minted) with their obligation states, one row per receipt.
 */
const LEASE_WITH = `WITH l AS (SELECT ${LEASE_COLUMNS} FROM leases WHERE tenant_id = $1 AND lease_id = $2),
  t AS (SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = $1 AND task_id = (SELECT task_id FROM l)),
  s AS MATERIALIZED (SELECT ${STAMP_CLOSING_COLUMNS} FROM stamps WHERE tenant_id = $1 AND stamp_id = (SELECT stamp_id FROM l) FOR UPDATE)
  SELECT ${prefixedColumns('l', LEASE_COLUMN_LIST)}, ${prefixedColumns('t', TASK_COLUMN_LIST)}, ${prefixedColumns('s', STAMP_COLUMN_LIST)}, ${PARENT_COLUMNS_PREFIXED}
  FROM l LEFT JOIN t ON TRUE LEFT JOIN s ON TRUE
  LEFT JOIN ${PARENT_FROM} ON r.tenant_id = $1 AND r.receipt_id IN (l.granted_receipt_id, t.assigned_receipt_id, s.minted_receipt_id)`;

/**
 * The task requires no capability the claiming worker lacks (`param`: its capabilities, or NULL for any task). In the
 * query, not only in the engine: a claim scans a bounded number of candidates, and thousands of queued tasks needing
 * a capability the worker lacks must not hide the ones it can take behind them.
 */
const HAS_CAPABILITIES = (param: string) => `(${param}::text[] IS NULL OR capabilities = '[]'
  OR NOT EXISTS (SELECT 1 FROM json_array_elements_text(capabilities::json) AS need(v) WHERE need.v <> ALL(${param}::text[])))`;

const SQL = {
  taskById: `SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = $1 AND task_id = $2`,
  taskByKey: `SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = $1 AND idempotency_key = $2`,
  // SKIP LOCKED: a claimer never waits on (or hands out) a task row another transaction holds. Claims of one tenant
  // already take turns on its chain head (each grant appends lease.granted), so this is the second line of defence.
  // With each eligible task its task.assigned receipt (the parent of the lease.granted a claim appends) and that
  // obligation's state. MATERIALIZED: the rows are locked once, by the query that picks them. Time and type are
  // filtered here, not only by the engine: a claim scans a bounded number of candidates, and a queue headed by
  // thousands of delayed, backing-off or other-type tasks must not hide the eligible ones behind them. So are
  // capabilities (HAS_CAPABILITIES).
  candidates: `WITH c AS MATERIALIZED (SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = $1 AND status = 'queued'
               AND next_eligible_at <= $3 AND ($4::text[] IS NULL OR type = ANY($4::text[])) AND ${HAS_CAPABILITIES('$5')}
               ORDER BY priority DESC, queue_seq LIMIT $2 FOR UPDATE SKIP LOCKED)
               SELECT c.*, ${PARENT_COLUMNS_PREFIXED} FROM c LEFT JOIN ${PARENT_FROM} ON r.tenant_id = c.tenant_id AND r.receipt_id = c.assigned_receipt_id
               ORDER BY c.priority DESC, c.queue_seq`,
  candidatesAfter: `WITH c AS MATERIALIZED (SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant_id = $1 AND status = 'queued'
                    AND (priority < $2 OR (priority = $2 AND queue_seq > $3)) AND next_eligible_at <= $5 AND ($6::text[] IS NULL OR type = ANY($6::text[]))
                    AND ${HAS_CAPABILITIES('$7')}
                    ORDER BY priority DESC, queue_seq LIMIT $4 FOR UPDATE SKIP LOCKED)
                    SELECT c.*, ${PARENT_COLUMNS_PREFIXED} FROM c LEFT JOIN ${PARENT_FROM} ON r.tenant_id = c.tenant_id AND r.receipt_id = c.assigned_receipt_id
                    ORDER BY c.priority DESC, c.queue_seq`,
  leaseById: `SELECT ${LEASE_COLUMNS} FROM leases WHERE tenant_id = $1 AND lease_id = $2`,
  leasesOfClaim: `SELECT ${LEASE_COLUMNS} FROM leases WHERE tenant_id = $1 AND worker_id = $2 AND claim_id = $3 ORDER BY granted_at, lease_id COLLATE "C"`,
  anyLeaseDue: `SELECT 1 FROM leases WHERE state = 'active' AND expires_at <= $1 LIMIT 1`,
  leaseWith: LEASE_WITH,
  dueCandidates: `SELECT tenant_id, lease_id FROM leases WHERE state = 'active' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
  dueFresh: `SELECT ${LEASE_COLUMNS} FROM leases WHERE state = 'active' AND expires_at <= $1
             AND (tenant_id, lease_id) IN (SELECT * FROM unnest($2::text[], $3::text[])) ORDER BY expires_at`,
} as const;

/**
 * Task and lease rows of one batch (see PgBatch). Like the ledger's, every read takes the tenant first: the engine
 * reads rows whole and writes them back whole, which is safe only while no other server can change them in between.
 * Writes are buffered; every read here flushes first, so it sees them.
 */
export function pgTaskTx(b: PgBatch): TaskTx {
  const run = <R extends QueryResultRow>(name: keyof typeof SQL, values: unknown[]) => b.read<R>(`q_${name}`, SQL[name], values);
  /**
   * Task rows read along with something else (a lease) under the tenant lock, by tenant and task id: taskById
   * answers from here until this transaction writes the task. PgBatch drops them with any undone write.
   */
  const readAlong = () => b.cache<TaskRow>('tasks.read');
  const tk = (tenantId: string, taskId: string) => `${tenantId}\n${taskId}`;
  return {
    async insertTask(t) {
      readAlong().delete(tk(t.tenant_id, t.task_id));
      await b.lockTenant(t.tenant_id);
      b.buffer(`INSERT INTO tasks (${TASK_COLUMNS}) VALUES ${tuple(taskToRow(t))}`, { expectRows: 1, what: `inserting task ${t.task_id}` });
    },
    async updateTask(t) {
      readAlong().delete(tk(t.tenant_id, t.task_id));
      await b.lockTenant(t.tenant_id);
      b.buffer(
        `UPDATE tasks SET status = ${literal(t.status)}, attempt = ${literal(t.attempt)}, lease_expiries = ${literal(t.lease_expiries)},
         claims = ${literal(t.claims)}, next_eligible_at = ${literal(t.next_eligible_at)}, lease_id = ${literal(t.lease_id)},
         outcome = ${literal(t.outcome === null ? null : JSON.stringify(t.outcome))}, updated_at = ${literal(t.updated_at)}
         WHERE tenant_id = ${literal(t.tenant_id)} AND task_id = ${literal(t.task_id)}`,
      );
    },
    async taskById(tenantId, taskId) {
      const along = readAlong().get(tk(tenantId, taskId));
      if (along) return structuredClone(along);
      await b.lockTenant(tenantId);
      const r = (await run<RawTask>('taskById', [tenantId, taskId]))[0];
      return r && rowToTask(r);
    },
    async taskByIdempotencyKey(tenantId, key) {
      await b.lockTenant(tenantId);
      const r = (await run<RawTask>('taskByKey', [tenantId, key]))[0];
      return r && rowToTask(r);
    },
    async claimCandidates(tenantId, after, limit, filter) {
      await b.lockTenant(tenantId);
      // Without a filter: a time past every task's, and any type.
      const now = filter?.now ?? Number.MAX_SAFE_INTEGER;
      const types = filter?.types ? [...filter.types] : null;
      const capabilities = filter?.capabilities ? [...filter.capabilities] : null;
      const rows = after
        ? await run<Record<string, unknown>>('candidatesAfter', [tenantId, after.priority, after.queue_seq, limit, now, types, capabilities])
        : await run<Record<string, unknown>>('candidates', [tenantId, limit, now, types, capabilities]);
      rememberParents(b, tenantId, rows.flatMap((row) => prefixedParent(row) ?? []));
      return rows.map((row) => rowToTask(Object.fromEntries(TASK_COLUMN_LIST.map((c) => [c, row[c]])) as RawTask));
    },
    async insertLease(l) {
      await b.lockTenant(l.tenant_id);
      b.buffer(`INSERT INTO leases (${LEASE_COLUMNS}) VALUES ${tuple(leaseToRow(l))}`, { expectRows: 1, what: `inserting lease ${l.lease_id}` });
    },
    async updateLease(l) {
      await b.lockTenant(l.tenant_id);
      b.buffer(
        `UPDATE leases SET token_hash = ${literal(l.token_hash)}, resent_token_hashes = ${literal(l.resent_token_hashes)}, state = ${literal(l.state)}, expires_at = ${literal(l.expires_at)}, last_heartbeat_at = ${literal(l.last_heartbeat_at)},
         renewals = ${literal(l.renewals)}, stamp_id = ${literal(l.stamp_id)}, ended_at = ${literal(l.ended_at)}
         WHERE tenant_id = ${literal(l.tenant_id)} AND lease_id = ${literal(l.lease_id)}`,
      );
    },
    async leaseById(tenantId, leaseId) {
      await b.lockTenant(tenantId);
      const rows = await run<Record<string, unknown>>('leaseWith', [tenantId, leaseId]);
      const first = rows[0];
      if (!first) return undefined;
      const task = unprefixed<RawTask>(first, 't', TASK_COLUMN_LIST);
      if (task) readAlong().set(tk(tenantId, task.task_id), rowToTask(task));
      lockedForClose(b, unprefixed(first, 's', STAMP_COLUMN_LIST));
      rememberParents(b, tenantId, rows.flatMap((row) => prefixedParent(row) ?? []));
      return unprefixed<LeaseRow>(first, 'l', LEASE_COLUMN_LIST);
    },
    async leasesOfClaim(tenantId, workerId, claimId) {
      await b.lockTenant(tenantId);
      return run<LeaseRow>('leasesOfClaim', [tenantId, workerId, claimId]);
    },
    /**
     * Safe on every node at once: the due leases are found without locks, their tenants are taken (in a fixed
     * order), and the leases are read again under those locks, so a lease another server expired, renewed or ended
     * meanwhile is left out and nothing is expired twice.
     */
    async dueLeases(now, limit) {
      const due = await run<{ tenant_id: string; lease_id: string }>('dueCandidates', [now, limit]);
      if (due.length === 0) return [];
      await b.lockTenants(due.map((d) => d.tenant_id));
      return run<LeaseRow>('dueFresh', [now, due.map((d) => d.tenant_id), due.map((d) => d.lease_id)]);
    },
  };
}

/** Task reads through the pool (committed data only). */
export class PgTaskReads {
  constructor(private readonly pool: Pool) {}

  async task(tenantId: string, taskId: string): Promise<TaskRow | undefined> {
    const r = (await this.rows<RawTask>('r_task', SQL.taskById, [tenantId, taskId]))[0];
    return r && rowToTask(r);
  }

  async leaseById(tenantId: string, leaseId: string): Promise<LeaseRow | undefined> {
    return (await this.rows<LeaseRow>('r_lease', SQL.leaseById, [tenantId, leaseId]))[0];
  }

  async anyLeaseDue(now: number): Promise<boolean> {
    return (await this.pool.query({ name: 'r_any_lease_due', text: SQL.anyLeaseDue, values: [now] })).rows.length > 0;
  }

  async listTasks(tenantId: string, f: TaskFilter): Promise<TaskRow[]> {
    const where = ['tenant_id = $1', 'queue_seq > $2'];
    const args: unknown[] = [tenantId, f.after_seq];
    let shape = 'r_tasks';
    if (f.status !== undefined) (args.push(f.status), where.push(`status = $${args.length}`), (shape += '_status'));
    if (f.type !== undefined) (args.push(f.type), where.push(`type = $${args.length}`), (shape += '_type'));
    args.push(f.limit);
    const text = `SELECT ${TASK_COLUMNS} FROM tasks WHERE ${where.join(' AND ')} ORDER BY queue_seq LIMIT $${args.length}`;
    return (await this.rows<RawTask>(shape, text, args)).map(rowToTask);
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
