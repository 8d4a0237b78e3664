import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import { QuittanceError } from '../../errors.js';
import type { Principal } from '../../ledger/types.js';
import { decodeCursor, nextCursor } from '../../ledger/cursor.js';
import { TASK_STATUSES, type TaskStatus } from '../../tasks/types.js';
import type { ClaimInput, CompleteInput, FailInput, LeaseProof, TaskCreateInput } from '../../tasks/engine.js';
import { taskView } from '../../tasks/view.js';
import { NOT_DOT_SEGMENT, artifactSchema, deliveryProofSchema, pageQuery, principalSchema } from '../schemas.js';
import { appendAnswer } from './receipts.js';

const proof = {
  lease_id: { type: 'string', minLength: 1, maxLength: 128 },
  lease_token: { type: 'string', minLength: 1, maxLength: 256 },
} as const;
/** A task id is a URL path segment (/v1/tasks/{id}/…). */
const taskId = { type: 'string', minLength: 1, maxLength: 256, pattern: NOT_DOT_SEGMENT } as const;
const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } as const;
const completion = {
  ...proof,
  artifacts: { type: 'array', items: artifactSchema },
  delivery_proof: deliveryProofSchema,
  result_summary: { type: 'string', maxLength: 4096 },
} as const;

function callerPrincipal(request: FastifyRequest): Principal {
  return { kind: 'service', id: `key:${request.caller.key_id}` };
}

export async function taskRoutes(app: FastifyInstance, s: Services): Promise<void> {
  const c = s.config.tasks;
  const pages = s.config.obligations;

  const taskCreate = {
    type: 'object', required: ['type'], additionalProperties: false,
    properties: {
          task_id: taskId,
          type: { type: 'string', minLength: 1, maxLength: 256 },
          payload: { type: 'object' },
          payload_ref: { type: 'string', minLength: 1, maxLength: 4096 },
          requirements: { type: 'object', additionalProperties: false, properties: { capabilities: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 128 } } } },
          priority: { type: 'integer', minimum: -1000000, maximum: 1000000 },
          idempotency_key: { type: 'string', minLength: 1, maxLength: 256 },
          max_attempts: { type: 'integer', minimum: 1, maximum: 1000 },
          max_lease_expiries: { type: 'integer', minimum: 0, maximum: 1000 },
          retry_backoff_seconds: { type: 'number', minimum: 0, maximum: 86400 },
          delay_seconds: { type: 'number', minimum: 0, maximum: 365 * 86400 },
          created_by: principalSchema,
          assign_to: principalSchema,
    },
  } as const;

  app.post<{ Body: TaskCreateInput }>('/v1/tasks', {
    config: { scope: 'write' },
    schema: { tags: ['tasks'], summary: 'Queue a task (appends task.assigned)', body: taskCreate },
  }, async (request, reply) => {
    const r = await s.tasks.create(request.caller.tenant_id, request.body, callerPrincipal(request));
    return reply.status(r.status === 'created' ? 201 : 200).send({ status: r.status, task: taskView(r.task), receipt: r.receipt });
  });

  app.post<{ Body: { tasks: TaskCreateInput[] } }>('/v1/tasks/batch', {
    config: { scope: 'write' },
    bodyLimit: s.config.limits.httpBatchBodyMaxBytes,
    schema: {
      tags: ['tasks'], summary: 'Queue many tasks in one transaction, a result per item',
      body: { type: 'object', required: ['tasks'], additionalProperties: false, properties: { tasks: { type: 'array', minItems: 1, maxItems: 1000, items: taskCreate } } },
    },
  }, async (request) => {
    const results = await s.tasks.createBatch(request.caller.tenant_id, request.body.tasks, callerPrincipal(request));
    return {
      results: results.map((r) => r.ok
        ? { statusCode: r.result.status === 'created' ? 201 : 200, status: r.result.status, task: taskView(r.result.task), receipt: r.result.receipt }
        : { statusCode: r.error.statusCode, error: r.error.toJSON() }),
    };
  });

  app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit?: number } }>('/v1/tasks/:id', {
    config: { scope: 'read' },
    schema: { tags: ['tasks'], summary: 'A task, its counters and its receipts (the trace)', params: idParams, querystring: { type: 'object', additionalProperties: false, properties: pageQuery(pages, pages.pageSizeMax) } },
  }, async (request) => {
    const t = await s.store.task(request.caller.tenant_id, request.params.id);
    if (!t) throw new QuittanceError('QUITTANCE_ERR_TASK_NOT_FOUND', [request.params.id]);
    const page = await s.ledger.listReceipts(request.caller.tenant_id, { task_id: t.task_id, cursor: request.query.cursor, limit: request.query.limit ?? pages.pageSizeMax });
    return { task: taskView(t), receipts: page.items, cursor: page.cursor };
  });

  app.get<{ Querystring: { status?: TaskStatus; type?: string; cursor?: string; limit?: number } }>('/v1/tasks', {
    config: { scope: 'read' },
    schema: {
      tags: ['tasks'], summary: 'List tasks, oldest first',
      querystring: { type: 'object', additionalProperties: false, properties: { status: { enum: [...TASK_STATUSES] }, type: { type: 'string', minLength: 1, maxLength: 256 }, ...pageQuery(pages) } },
    },
  }, async (request) => {
    const q = request.query;
    const limit = Math.min(q.limit ?? pages.pageSizeDefault, pages.pageSizeMax);
    const rows = await s.store.listTasks(request.caller.tenant_id, {
      ...(q.status !== undefined && { status: q.status }), ...(q.type !== undefined && { type: q.type }), after_seq: decodeCursor(q.cursor), limit,
    });
    return { tasks: rows.map(taskView), cursor: nextCursor(rows, limit, (x) => x.queue_seq) };
  });

  app.post<{ Params: { id: string }; Body: { reason?: string; by?: Principal } | undefined }>('/v1/tasks/:id/cancel', {
    config: { scope: 'write' },
    schema: {
      tags: ['tasks'], summary: 'Cancel a task, leased or not (closes task.assigned and any live lease)', params: idParams,
      body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: { type: 'string', maxLength: 4096 }, by: principalSchema } },
    },
  }, async (request, reply) => {
    const r = await s.tasks.cancel(request.caller.tenant_id, request.params.id, request.body?.by ?? callerPrincipal(request), request.body?.reason);
    return reply.status(r.status === 'duplicate' ? 200 : 201).send({ status: r.status, receipt: r.receipt });
  });

  app.post<{ Body: ClaimInput }>('/v1/leases/claim', {
    config: { scope: 'write' },
    schema: {
      tags: ['leases'], summary: 'Claim up to max_tasks eligible tasks, each under a new lease',
      body: {
        type: 'object', required: ['worker_id'], additionalProperties: false,
        properties: {
          worker_id: { type: 'string', minLength: 1, maxLength: 256 },
          capabilities: { type: 'array', maxItems: 256, items: { type: 'string', minLength: 1, maxLength: 128 } },
          accept_types: { type: 'array', maxItems: 256, items: { type: 'string', minLength: 1, maxLength: 256 } },
          max_tasks: { type: 'integer', minimum: 1, maximum: c.claimMaxTasks },
          lease_ttl_seconds: { type: 'integer', minimum: c.leaseTtlSecondsMin, maximum: c.leaseTtlSecondsMax },
          claim_id: {
            type: 'string', minLength: 1, maxLength: 256,
            description: 'The worker\'s name for this claim. The same claim_id again from the same worker_id (its answer lost) answers the leases that claim granted which are still active, each with a new lease_token (the earlier answers\' tokens keep working), and grants none',
          },
        },
      },
    },
  }, async (request) => ({ leases: await s.tasks.claim(request.caller.tenant_id, request.body) }));

  app.post<{ Body: LeaseProof & { lease_ttl_seconds?: number; renewal?: number } }>('/v1/leases/renew', {
    config: { scope: 'write' },
    schema: {
      tags: ['leases'], summary: 'Extend a lease (renewal-count and lifetime limits); with `renewal`, a resend answers as the first did',
      body: {
        type: 'object', required: ['lease_id', 'lease_token'], additionalProperties: false,
        properties: {
          ...proof,
          lease_ttl_seconds: { type: 'integer', minimum: c.leaseTtlSecondsMin, maximum: c.leaseTtlSecondsMax },
          // The number this renewal will be (the claim is renewal 0): sent again with the same number, it renews once.
          renewal: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        },
      },
    },
  }, async (request) => s.tasks.renew(request.caller.tenant_id, request.body));

  const leaseBody = (extra: Record<string, unknown> = {}, required: string[] = []) => ({
    type: 'object', required: ['lease_id', 'lease_token', ...required], additionalProperties: false, properties: { ...proof, ...extra },
  });

  app.post<{ Params: { id: string }; Body: LeaseProof }>('/v1/tasks/:id/start', {
    config: { scope: 'write' }, schema: { tags: ['tasks'], summary: 'The worker started (task.started)', params: idParams, body: leaseBody() },
  }, async (request, reply) => sendAppend(reply, await s.tasks.start(request.caller.tenant_id, request.params.id, request.body)));

  app.post<{ Params: { id: string }; Body: LeaseProof & { progress?: Record<string, unknown> } }>('/v1/tasks/:id/progress', {
    config: { scope: 'write' },
    schema: { tags: ['tasks'], summary: 'Progress under the lease (task.progress)', params: idParams, body: leaseBody({ progress: { type: 'object' } }) },
  }, async (request, reply) => sendAppend(reply, await s.tasks.progress(request.caller.tenant_id, request.params.id, request.body)));

  app.post<{ Params: { id: string }; Body: CompleteInput }>('/v1/tasks/:id/complete', {
    config: { scope: 'write' },
    schema: { tags: ['tasks'], summary: 'Complete with a locatable product (task.completed)', params: idParams, body: leaseBody(completion) },
  }, async (request, reply) => sendAppend(reply, await s.tasks.complete(request.caller.tenant_id, request.params.id, request.body)));

  app.post<{ Body: { completions: (CompleteInput & { task_id: string })[] } }>('/v1/tasks/complete-batch', {
    config: { scope: 'write' },
    bodyLimit: s.config.limits.httpBatchBodyMaxBytes,
    schema: {
      tags: ['tasks'], summary: 'Many completions in one transaction, a result per item',
      body: {
        type: 'object', required: ['completions'], additionalProperties: false,
        properties: { completions: { type: 'array', minItems: 1, maxItems: 1000, items: { ...leaseBody({ ...completion, task_id: { type: 'string', minLength: 1 } }, ['task_id']) } } },
      },
    },
  }, async (request) => {
    const results = await s.tasks.completeBatch(request.caller.tenant_id, request.body.completions);
    return {
      results: results.map((r) => {
        if (!r.ok) return { statusCode: r.error.statusCode, error: r.error.toJSON() };
        const a = appendAnswer(r.result);
        return { statusCode: a.statusCode, ...a.body };
      }),
    };
  });

  app.post<{ Params: { id: string }; Body: FailInput }>('/v1/tasks/:id/fail', {
    config: { scope: 'write' },
    schema: {
      tags: ['tasks'], summary: 'Report a failure: retryable → task.retry_scheduled, else task.failed', params: idParams,
      body: leaseBody({ error: { anyOf: [{ type: 'string', maxLength: 8192 }, { type: 'object' }] }, retryable: { type: 'boolean' } }, ['error', 'retryable']),
    },
  }, async (request, reply) => sendAppend(reply, await s.tasks.fail(request.caller.tenant_id, request.params.id, request.body)));

  app.post<{ Params: { id: string }; Body: LeaseProof & { reason?: string } }>('/v1/tasks/:id/release', {
    config: { scope: 'write' },
    schema: { tags: ['tasks'], summary: 'Give the lease back: requeued at once, no attempt burned', params: idParams, body: leaseBody({ reason: { type: 'string', maxLength: 4096 } }) },
  }, async (request, reply) => sendAppend(reply, await s.tasks.release(request.caller.tenant_id, request.params.id, request.body)));
}

function sendAppend(reply: import('fastify').FastifyReply, r: import('../../ledger/append.js').AppendResult) {
  const a = appendAnswer(r);
  return reply.status(a.statusCode).send(a.body);
}
