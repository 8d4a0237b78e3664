import type { FastifyInstance } from 'fastify';
import { QuittanceError } from '../errors.js';
import type { Principal } from '../ledger/types.js';
import { hasScope } from '../tenants/keys.js';
import type { Services } from '../server/services.js';
import { pageQuery, principalSchema } from '../server/schemas.js';
import { STATUS_LIST_TYP } from './status-list.js';
import { CLOSERS, EVENT_OUTCOMES, TOMBSTONE_OUTCOMES, type ClosedBy, type EventOutcome, type TombstoneOutcome } from './types.js';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } as const;
const shortText = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;

/** The principal an API key acts as when the body names none. */
function keyPrincipal(keyId: string): Principal {
  return { kind: 'service', id: `key:${keyId}` };
}

/** DESIGN §6 over HTTP. The JWKS is public; everything else is scoped to the caller's tenant. */
export async function stampRoutes(app: FastifyInstance, s: Services): Promise<void> {
  app.get('/.well-known/jwks.json', {
    schema: { tags: ['stamps'], summary: 'Public keys that verify stamp tokens and status lists (RFC 7517)', security: [] },
  }, async (_request, reply) => {
    // Short: the next key is published ahead of use, but two rotations in a row should not wait on caches.
    void reply.header('cache-control', 'public, max-age=10');
    return s.stamps.jwks();
  });

  app.post<{ Body: { subject: Principal; task_ref: string; scope: string[]; ttl_seconds: number; task_id?: string; idempotency_key?: string } }>('/v1/stamps', {
    config: { scope: 'write' },
    schema: {
      tags: ['stamps'], summary: 'Mint a standalone stamp (appends stamp.minted); the token is shown once, and again only to a retry with its idempotency_key',
      body: {
        type: 'object', required: ['subject', 'task_ref', 'scope', 'ttl_seconds'], additionalProperties: false,
        properties: {
          subject: principalSchema,
          task_ref: shortText(256),
          scope: { type: 'array', items: shortText(128) },
          ttl_seconds: { type: 'integer', description: '1 s to 30 days; the safety net, not the close signal.' },
          task_id: shortText(256),
          idempotency_key: { ...shortText(256), description: 'A retry with the same key and body answers the stamp minted before (200); another body is 409.' },
        },
      },
    },
  }, async (request, reply) => {
    const b = request.body;
    const r = await s.stamps.mint(request.caller.tenant_id, {
      subject: b.subject, task_ref: b.task_ref, scope: b.scope, ttl_seconds: b.ttl_seconds, ...(b.task_id !== undefined && { task_id: b.task_id }),
      ...(b.idempotency_key !== undefined && { idempotency_key: b.idempotency_key }),
    });
    return reply.status(r.status === 'created' ? 201 : 200).send(r);
  });

  app.post<{ Body: { token: string; record_action?: string; event_id?: string; from?: Principal } }>('/v1/stamps/introspect', {
    config: { scope: 'read' },
    schema: {
      tags: ['stamps'], summary: 'RFC 7662 introspection of a stamp token; optionally records the decision as a stamp.event',
      body: {
        type: 'object', required: ['token'], additionalProperties: false,
        properties: {
          token: { type: 'string', maxLength: 16384 }, record_action: shortText(256), from: principalSchema,
          event_id: { ...shortText(128), description: 'With record_action: names the decision, so the same request again answers the one recorded.' },
        },
      },
    },
  }, (request, reply) => {
    const { token, record_action: action, event_id: eventId } = request.body;
    if (action === undefined && eventId !== undefined) throw new QuittanceError('QUITTANCE_ERR_VALIDATION', ['event_id names a recorded decision: it needs record_action']);
    if (action === undefined) {
      // Already JSON text: the hot path of every gate, so the answer is not rebuilt and re-serialised per request,
      // and a known token of a fresh stamp is answered in this tick (a plain handler: no promise unless one is needed).
      const text = s.stamps.introspectText(request.caller.tenant_id, token);
      void reply.type('application/json; charset=utf-8');
      if (typeof text !== 'string') return text;
      void reply.send(text);
      return undefined;
    }
    if (!hasScope(request.caller, 'write')) throw new QuittanceError('QUITTANCE_ERR_FORBIDDEN', ['write']);
    return s.stamps.introspect(request.caller.tenant_id, token, { action, by: request.body.from ?? keyPrincipal(request.caller.key_id), event_id: eventId });
  });

  app.get('/v1/stamps/status', {
    config: { scope: 'read' },
    schema: { tags: ['stamps'], summary: "The tenant's signed status list (compact JWS, typ statuslist+jwt) for offline verifiers" },
  }, async (request, reply) => {
    const jws = await s.stamps.statusList(request.caller.tenant_id);
    return reply.header('content-type', `application/${STATUS_LIST_TYP}`).header('cache-control', 'no-store').send(jws);
  });

  app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit?: number } }>('/v1/stamps/:id', {
    config: { scope: 'read' },
    schema: {
      tags: ['stamps'], summary: 'A stamp: state (active | tombstoned | ambiguous), outcome, generation, and its receipts',
      params: idParams, querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery(s.config.obligations) } },
    },
  }, async (request) => s.stamps.get(request.caller.tenant_id, request.params.id, request.query));

  app.post<{ Params: { id: string }; Body: { outcome: TombstoneOutcome; reason?: string; closed_by?: ClosedBy; from?: Principal } }>('/v1/stamps/:id/tombstone', {
    config: { scope: 'write' },
    schema: {
      tags: ['stamps'], summary: 'Close the stamp with its one tombstone (stamp.tombstoned); the same again answers the stored one',
      params: idParams,
      body: {
        type: 'object', required: ['outcome'], additionalProperties: false,
        properties: { outcome: { enum: [...TOMBSTONE_OUTCOMES] }, reason: shortText(1024), closed_by: { enum: [...CLOSERS] }, from: principalSchema },
      },
    },
  }, async (request, reply) => {
    const b = request.body;
    const closedBy = b.closed_by ?? 'subject';
    // A subject's tombstone is written as the subject by default; a gate's or operator's as the calling key.
    const by = b.from ?? (closedBy === 'subject' ? undefined : keyPrincipal(request.caller.key_id));
    const r = await s.stamps.tombstone(request.caller.tenant_id, request.params.id, {
      outcome: b.outcome, closed_by: closedBy, ...(b.reason !== undefined && { reason: b.reason }), ...(by && { by }),
    });
    return reply.status(r.status === 'created' ? 201 : 200).send(r);
  });

  app.post<{ Params: { id: string }; Body: { action: string; outcome: EventOutcome; gate_reason?: string; event_id?: string; generation?: number; from?: Principal } }>('/v1/stamps/:id/events', {
    config: { scope: 'write' },
    schema: {
      tags: ['stamps'], summary: 'Record a gate decision under the stamp (stamp.event): executed, denied or error',
      params: idParams,
      body: {
        type: 'object', required: ['action', 'outcome'], additionalProperties: false,
        properties: {
          action: shortText(256), outcome: { enum: [...EVENT_OUTCOMES] }, gate_reason: shortText(1024), event_id: shortText(128),
          generation: { type: 'integer', minimum: 1 }, from: principalSchema,
        },
      },
    },
  }, async (request, reply) => {
    const b = request.body;
    const r = await s.stamps.recordEvent(request.caller.tenant_id, request.params.id, {
      action: b.action, outcome: b.outcome, by: b.from ?? keyPrincipal(request.caller.key_id),
      ...(b.gate_reason !== undefined && { gate_reason: b.gate_reason }),
      ...(b.event_id !== undefined && { event_id: b.event_id }),
      ...(b.generation !== undefined && { generation: b.generation }),
    });
    return reply.status(r.status === 'created' ? 201 : 200).send(r);
  });

  app.post<{ Params: { id: string }; Body: { from?: Principal; idempotency_key?: string } | undefined }>('/v1/stamps/:id/rotate', {
    config: { scope: 'write' },
    schema: {
      tags: ['stamps'], summary: 'Issue the next generation of the credential; the previous one is invalid in the same transaction',
      params: idParams,
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: {
          from: principalSchema,
          idempotency_key: { ...shortText(256), description: "One rotation of this stamp: sent again, it answers that rotation's generation and token (200), never one more." },
        },
      },
    },
  }, async (request, reply) => {
    const b = request.body ?? {};
    const r = await s.stamps.rotate(request.caller.tenant_id, request.params.id, b.from ?? keyPrincipal(request.caller.key_id), {
      idempotency_key: b.idempotency_key, from: b.from,
    });
    return reply.status(r.status === 'created' ? 201 : 200).send(r);
  });

  app.get<{ Querystring: { cursor?: string; limit?: number } }>('/v1/investigations', {
    config: { scope: 'read' },
    schema: {
      tags: ['stamps'], summary: 'Ambiguous stamps (TTL passed, no tombstone) with their last known events',
      querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery(s.config.obligations) } },
    },
  }, async (request) => {
    const page = await s.stamps.investigations(request.caller.tenant_id, request.query);
    return { investigations: page.items, cursor: page.cursor };
  });
}
