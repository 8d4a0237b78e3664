import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import type { Principal } from '../../ledger/types.js';
import { pageQuery, principalQuery } from '../schemas.js';
import { principalFilter } from './query.js';
import { boundCursor } from '../cursors.js';

type OpenQuery = { principal_kind?: Principal['kind']; principal_id?: string; cursor?: string; limit?: number };

export async function obligationRoutes(app: FastifyInstance, s: Services): Promise<void> {
  const querystring = { type: 'object', additionalProperties: false, properties: { ...principalQuery, ...pageQuery(s.config.obligations) } };

  // Exactly two keys, always: the obligations and a cursor. No inbox groupings, counts or delivery flags.
  // The ledger answers with the finished JSON text (stored receipts pass through undecoded), sent as it is.
  // A HEAD (Fastify answers it with the GET handler) only looks: it must not stamp first deliveries.
  const open = async (request: FastifyRequest<{ Querystring: OpenQuery }>, reply: FastifyReply) => {
    const q = request.query;
    const peek = request.method === 'HEAD';
    const page = await s.ledger.openObligationsJson(request.caller.tenant_id, { principal: principalFilter(q), cursor: q.cursor, limit: q.limit, peek }, (c) => boundCursor(request, c));
    // The page serves what is there; an obligation whose receipt is gone is damage for the operator, not the caller.
    if (page.missing.length > 0) {
      request.log.error({ tenant_id: request.caller.tenant_id, missing: page.missing }, 'open obligations whose receipts are missing were left out of the page: the database is damaged (run quittance verify)');
    }
    return reply.type('application/json; charset=utf-8').send(page.json);
  };

  // One list under two paths: a cursor of either pages the other.
  app.get<{ Querystring: OpenQuery }>('/v1/obligations/open', {
    config: { scope: 'read', list: 'open-obligations' },
    schema: { tags: ['obligations'], summary: 'Open obligations, oldest first (exactly {open_obligations, cursor})', querystring },
  }, async (request, reply) => open(request, reply));

  app.get<{ Querystring: OpenQuery }>('/v1/bootstrap', {
    config: { scope: 'read', list: 'open-obligations' },
    schema: { tags: ['obligations'], summary: 'Deprecated alias of GET /v1/obligations/open', deprecated: true, querystring },
  }, async (request, reply) => {
    void reply.header('Deprecation', 'true').header('Link', '</v1/obligations/open>; rel="successor-version"');
    return open(request, reply);
  });

  app.post<{ Body: { parent_receipt_id: string; terminator_type?: string } }>('/v1/obligations/check-terminator', {
    config: { scope: 'read' },
    schema: {
      tags: ['obligations'], summary: 'Is this obligation open, and which receipt types may close it?',
      body: {
        type: 'object', required: ['parent_receipt_id'], additionalProperties: false,
        properties: { parent_receipt_id: { type: 'string', minLength: 1 }, terminator_type: { type: 'string', minLength: 1 } },
      },
    },
  }, async (request) => s.ledger.checkTerminator(request.caller.tenant_id, request.body.parent_receipt_id, request.body.terminator_type));
}
