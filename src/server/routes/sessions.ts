import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import type { Principal } from '../../ledger/types.js';
import { NOT_DOT_SEGMENT, pageQuery, principalSchema } from '../schemas.js';
import {
  EVENT_CLASSES, ORPHAN_STATES, type EventInput, type OrphanState, type SessionCloseInput, type SessionOpenInput, type SessionUpdateInput,
} from '../../sessions/types.js';

// Ids end up in URNs (urn:srcos:session:<id>, urn:srcos:event:<id>): no whitespace.
const idString = { type: 'string', minLength: 1, maxLength: 256, pattern: '^\\S+$' } as const;
/** A session id is also a URL path segment (/v1/sessions/{id}). */
const sessionId = { ...idString, pattern: `${NOT_DOT_SEGMENT}\\S+$` } as const;
const workspaceRef = { type: 'string', maxLength: 512, pattern: '^urn:srcos:workspace:\\S+$', description: 'urn:srcos:workspace:<id>; never a raw path.' } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: sessionId } } as const;

const sessionOpenSchema = {
  type: 'object',
  required: ['session_id'],
  additionalProperties: false,
  properties: {
    session_id: sessionId,
    owner: principalSchema,
    owners: { type: 'array', maxItems: 16, items: principalSchema, description: 'Accepted only when it names exactly one owner.' },
    conversation_id: idString,
    workspace_ref: workspaceRef,
    task_ref: idString,
    parent_session_id: sessionId,
  },
} as const;

const sessionUpdateSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { conversation_id: idString, workspace_ref: workspaceRef, task_ref: idString, by: principalSchema },
} as const;

const eventSchema = {
  type: 'object',
  required: ['event_id', 'event_class'],
  additionalProperties: false,
  properties: {
    event_id: idString,
    event_class: { enum: [...EVENT_CLASSES] },
    session_id: sessionId,
    parent_id: { ...idString, description: 'The parent event: the DAG edge.' },
    correlation: {
      type: 'object',
      additionalProperties: false,
      properties: { conversation_id: idString, parent_id: idString, workspace_ref: workspaceRef, task_ref: idString },
    },
    payload_digest: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
  },
} as const;

/** The caller as a principal, when the body names none: the API key that spoke. */
function keyPrincipal(request: FastifyRequest): Principal {
  return { kind: 'service', id: `key:${request.caller.key_id}` };
}

export async function sessionRoutes(app: FastifyInstance, s: Services): Promise<void> {
  app.post<{ Body: SessionOpenInput }>('/v1/sessions', {
    config: { scope: 'write' },
    schema: { tags: ['sessions'], summary: 'Open a session with exactly one owner (session.opened); reconciles orphans', body: sessionOpenSchema },
  }, async (request, reply) => {
    const a = await s.sessions.open(request.caller.tenant_id, request.body);
    return reply.status(a.statusCode).send(a.body);
  });

  app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit?: number } }>('/v1/sessions/:id', {
    config: { scope: 'read' },
    schema: {
      tags: ['sessions'], summary: 'The session and its DAG: nodes (events with their receipts) and parent_id edges',
      params: idParams, querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery(s.config.sessions) } },
    },
  }, async (request) => s.sessions.dag(request.caller.tenant_id, request.params.id, request.query));

  app.patch<{ Params: { id: string }; Body: SessionUpdateInput }>('/v1/sessions/:id', {
    config: { scope: 'write' },
    schema: { tags: ['sessions'], summary: 'Add correlation keys to an open session; reconciles orphans', params: idParams, body: sessionUpdateSchema },
  }, async (request, reply) => {
    const { by, ...keys } = request.body;
    const a = await s.sessions.update(request.caller.tenant_id, request.params.id, keys, by ?? keyPrincipal(request));
    return reply.status(a.statusCode).send(a.body);
  });

  app.post<{ Params: { id: string }; Body: SessionCloseInput | undefined }>('/v1/sessions/:id/close', {
    config: { scope: 'write' },
    schema: {
      tags: ['sessions'], summary: 'Close a session (session.closed, exactly once); reconciles orphans', params: idParams,
      body: { type: ['object', 'null'], additionalProperties: false, properties: { by: principalSchema, reason: { type: 'string', maxLength: 1024 } } },
    },
  }, async (request, reply) => {
    const a = await s.sessions.close(request.caller.tenant_id, request.params.id, request.body ?? {}, keyPrincipal(request));
    return reply.status(a.statusCode).send(a.body);
  });

  app.post<{ Body: EventInput | { events: EventInput[] } }>('/v1/events', {
    config: { scope: 'write' },
    bodyLimit: s.config.limits.httpBatchBodyMaxBytes,
    schema: {
      tags: ['sessions'],
      summary: 'Report one event, or {events: [...]} in one transaction: attached to its session DAG, or queued as an orphan',
      body: {
        type: 'object',
        if: { required: ['events'] },
        then: {
          type: 'object', required: ['events'], additionalProperties: false,
          properties: { events: { type: 'array', minItems: 1, maxItems: s.config.sessions.eventsBatchMax, items: eventSchema } },
        },
        else: eventSchema,
      },
    },
  }, async (request, reply) => {
    const body = request.body;
    const batch = 'events' in body;
    const results = await s.sessions.ingest(request.caller.tenant_id, batch ? body.events : [body], keyPrincipal(request));
    if (!batch) {
      const r = results[0]!;
      if (!r.ok) throw r.error;
      return reply.status(r.answer.statusCode).send(r.answer.body);
    }
    return {
      results: results.map((r) => (r.ok ? { statusCode: r.answer.statusCode, ...r.answer.body } : { statusCode: r.error.statusCode, error: r.error.toJSON() })),
    };
  });

  app.get<{ Querystring: { state?: OrphanState; cursor?: string; limit?: number } }>('/v1/orphans', {
    config: { scope: 'read' },
    schema: {
      tags: ['sessions'], summary: 'Orphan events in queue order, optionally of one state',
      querystring: { type: 'object', additionalProperties: false, properties: { state: { enum: [...ORPHAN_STATES] }, ...pageQuery(s.config.sessions) } },
    },
  }, async (request) => s.sessions.orphans(request.caller.tenant_id, request.query));
}
