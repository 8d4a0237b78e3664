/**
 * Creating a task: the checks of a create request (no store), then, in the write, the task row and its
 * task.assigned receipt, or the task the same request created before.
 */
import { QuittanceError } from '../errors.js';
import { isoTime } from '../clock.js';
import { canonicalize } from '../ledger/canonical.js';
import { sha256Hex } from '../ledger/hashing.js';
import type { QuittanceConfig } from '../config.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Principal } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import type { Created, TaskCreateInput, TaskRow } from './types.js';

export interface PreparedCreate {
  input: TaskCreateInput;
  spec: { type: string; payload_digest: string | null; payload_ref: string | null; capabilities: string[]; priority: number; max_attempts: number; max_lease_expiries: number; retry_backoff_seconds: number; delay_seconds: number };
  payload: Record<string, unknown> | null;
  createdBy: Principal;
  assignTo: Principal;
  taskId: string;
}

const POOL: Principal = Object.freeze({ kind: 'worker', id: 'pool' }) as Principal;

/**
 * Checks and normalisation of a create request (no store). A generated task id is time-ordered (UUIDv7, like
 * lease and receipt ids): tasks in flight then share the last pages of the tasks table and of the receipts'
 * task index instead of each dirtying a random page on every create, claim and complete.
 */
export function prepareCreate(c: QuittanceConfig['tasks'], newId: () => string, input: TaskCreateInput, defaultCreator: Principal): PreparedCreate {
  const payload = input.payload ?? null;
  if (payload !== null && input.payload_ref !== undefined) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', ['give payload or payload_ref, not both']);
  }
  const payloadText = payload === null ? null : canonicalize(payload);
  const payloadBytes = payloadText === null ? 0 : Buffer.byteLength(payloadText);
  if (payloadBytes > c.payloadMaxBytes) throw new QuittanceError('QUITTANCE_ERR_PAYLOAD_TOO_LARGE', [payloadBytes, c.payloadMaxBytes]);
  const spec = {
    type: input.type,
    payload_digest: payloadText === null ? null : `sha256:${sha256Hex(payloadText)}`,
    payload_ref: input.payload_ref ?? null,
    capabilities: Array.from(new Set(input.requirements?.capabilities ?? [])).sort(),
    priority: input.priority ?? 0,
    max_attempts: input.max_attempts ?? c.maxAttemptsDefault,
    max_lease_expiries: input.max_lease_expiries ?? c.maxLeaseExpiriesDefault,
    retry_backoff_seconds: input.retry_backoff_seconds ?? c.retryBackoffSecondsDefault,
    delay_seconds: input.delay_seconds ?? 0,
  };
  return { input, spec, payload, createdBy: input.created_by ?? defaultCreator, assignTo: input.assign_to ?? POOL, taskId: input.task_id ?? `task_${newId()}` };
}

/** Creates the task and its task.assigned in `tx`, or finds the same request's task (duplicate), or refuses. */
export async function createInTx(ledger: Ledger, tx: Tx, tenantId: string, p: PreparedCreate): Promise<Created> {
  const { input, spec } = p;
  const existing = input.idempotency_key !== undefined
    ? await tx.taskByIdempotencyKey(tenantId, input.idempotency_key)
    : input.task_id !== undefined ? await tx.taskById(tenantId, input.task_id) : undefined;
  if (existing) {
    const assigned = (await tx.receiptsByIds(tenantId, [existing.assigned_receipt_id]))[0]!;
    // Idempotent only for the same request: same spec, same key, same assignee and (when named) creator. A retry
    // from another API key of the tenant, naming no creator, is still the same request.
    const same = canonicalize(assigned.body['spec']) === canonicalize(spec) && existing.idempotency_key === (input.idempotency_key ?? null)
      && (input.task_id === undefined || input.task_id === existing.task_id)
      && canonicalize(existing.assigned_to) === canonicalize(p.assignTo)
      && (input.created_by === undefined || canonicalize(existing.created_by) === canonicalize(input.created_by));
    if (!same) throw new QuittanceError('QUITTANCE_ERR_TASK_EXISTS', [existing.task_id]);
    return { status: 'duplicate', task: existing, receipt: assigned };
  }
  const now = ledger.clock.now();
  const r = await ledger.appendInTx(tx, tenantId, {
    type: 'task.assigned', from: p.createdBy, to: p.assignTo, task_id: p.taskId,
    body: { spec }, idempotency_key: `task.assigned:${p.taskId}`,
  }, { writer: 'tasks', fresh: p.input.task_id === undefined });
  if (r.status !== 'created') throw new QuittanceError('QUITTANCE_ERR_TASK_EXISTS', [p.taskId]);
  const task: TaskRow = {
    tenant_id: tenantId, task_id: p.taskId, type: input.type, payload: p.payload, payload_ref: input.payload_ref ?? null,
    capabilities: spec.capabilities, priority: spec.priority, status: 'queued', attempt: 1, max_attempts: spec.max_attempts,
    lease_expiries: 0, max_lease_expiries: spec.max_lease_expiries, claims: 0, retry_backoff_seconds: spec.retry_backoff_seconds,
    // Whole milliseconds, up: PostgreSQL's bigint would round a fraction (0.4 ms early) where SQLite keeps it.
    next_eligible_at: now + Math.ceil(spec.delay_seconds * 1000), idempotency_key: input.idempotency_key ?? null,
    created_by: p.createdBy, assigned_to: p.assignTo, assigned_receipt_id: r.receipt.receipt_id, queue_seq: r.receipt.seq,
    lease_id: null, outcome: null, created_at: isoTime(now), updated_at: isoTime(now),
  };
  await tx.insertTask(task);
  return { status: 'created', task, receipt: r.receipt };
}
