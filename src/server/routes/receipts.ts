import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Services } from '../services.js';
import type { AppendResult } from '../../ledger/append.js';
import type { Principal, ReceiptInput } from '../../ledger/types.js';
import { pageQuery, principalQuery, principalSchema, receiptInputSchema } from '../schemas.js';
import { principalFilter } from './query.js';
import { RECEIPT_TYPES } from '../../ledger/registry.js';

const LOCATABILITY_MESSAGE =
  'Success receipt has neither artifacts nor delivery_proof: it was stored but closes nothing, and a success_without_locatability anomaly was raised. Resend it with a locatable product.';

/** The HTTP answer for one append: 201 new, 200 already there (idempotent retry), 202 stored but not discharging. */
export function appendAnswer(r: AppendResult): { statusCode: number; body: Record<string, unknown> } {
  switch (r.status) {
    case 'created':
      return { statusCode: 201, body: { status: 'created', receipt: r.receipt } };
    case 'duplicate':
      return { statusCode: 200, body: { status: 'duplicate', receipt: r.receipt } };
    case 'not_discharged':
      return {
        statusCode: 202,
        body: { status: 'not_discharged', code: 'LOCATABILITY_MISSING', message: LOCATABILITY_MESSAGE, receipt: r.receipt, ...(r.anomaly && { anomaly: r.anomaly }) },
      };
  }
}

function send(reply: FastifyReply, r: AppendResult): FastifyReply {
  const a = appendAnswer(r);
  return reply.status(a.statusCode).send(a.body);
}

export async function receiptRoutes(app: FastifyInstance, s: Services): Promise<void> {
  app.post<{ Body: ReceiptInput }>('/v1/receipts', {
    config: { scope: 'write' },
    bodyLimit: s.config.limits.httpBodyMaxBytes,
    schema: { tags: ['receipts'], summary: 'Append one receipt', body: receiptInputSchema },
  }, async (request, reply) => send(reply, await s.ledger.append(request.caller.tenant_id, request.body)));

  app.post<{ Body: { receipts: ReceiptInput[] } }>('/v1/receipts/batch', {
    config: { scope: 'write' },
    bodyLimit: s.config.limits.httpBatchBodyMaxBytes,
    schema: {
      tags: ['receipts'],
      summary: 'Append many receipts in one transaction, with a result per item',
      body: {
        type: 'object', required: ['receipts'], additionalProperties: false,
        properties: { receipts: { type: 'array', minItems: 1, maxItems: s.config.limits.batchMaxReceipts, items: receiptInputSchema } },
      },
    },
  }, async (request) => {
    const results = await s.ledger.appendBatch(request.caller.tenant_id, request.body.receipts);
    return {
      results: results.map((r) => {
        if (!r.ok) return { statusCode: r.error.statusCode, error: r.error.toJSON() };
        const a = appendAnswer(r.result);
        return { statusCode: a.statusCode, ...a.body };
      }),
    };
  });

  app.get<{ Querystring: { type?: string; task_id?: string; principal_kind?: Principal['kind']; principal_id?: string; since?: string; cursor?: string; limit?: number } }>('/v1/receipts', {
    config: { scope: 'read' },
    schema: {
      tags: ['receipts'], summary: 'List receipts, oldest first',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { type: { enum: Object.keys(RECEIPT_TYPES), description: 'A receipt type (a misspelt one is a 400, not an empty page)' }, task_id: { type: 'string', minLength: 1, maxLength: 256 }, since: { type: 'string', format: 'date-time', description: 'Receipts created at or after this instant: RFC 3339, any offset, from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z (UTC), no leap second' }, ...principalQuery, ...pageQuery(s.config.obligations) },
      },
    },
    // A positive offset typed into a URL (curl "…?since=2026-05-06T04:31:00+02:00") arrives with a space for its '+'
    // (in a query string '+' means a space). RFC 3339 has no other use for a space before a final HH:MM, so that one
    // is read back as the '+' it was, not refused as a malformed date-time.
    preValidation: (request, _reply, done) => {
      const q = request.query;
      if (typeof q.since === 'string') q.since = q.since.replace(/ (\d{2}:\d{2})$/, '+$1');
      done();
    },
  }, async (request) => {
    const q = request.query;
    const page = await s.ledger.listReceipts(request.caller.tenant_id, { ...q, principal: principalFilter(q) });
    return { receipts: page.items, cursor: page.cursor };
  });

  app.get<{ Params: { id: string } }>('/v1/receipts/:id', {
    config: { scope: 'read' },
    schema: { tags: ['receipts'], summary: 'One receipt', params: { type: 'object', properties: { id: { type: 'string', minLength: 1 } } } },
  }, async (request) => ({ receipt: await s.ledger.receipt(request.caller.tenant_id, request.params.id) }));

  app.post<{ Params: { id: string }; Body: { from?: Principal; body?: Record<string, unknown> } | undefined }>('/v1/receipts/:id/ack', {
    config: { scope: 'write' },
    schema: {
      tags: ['receipts'], summary: 'Acknowledge a receipt (appends receipt.acknowledged)',
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1 } } },
      body: { type: ['object', 'null'], additionalProperties: false, properties: { from: principalSchema, body: { type: 'object' } } },
    },
  }, async (request, reply) => {
    const by: Principal = request.body?.from ?? { kind: 'service', id: `key:${request.caller.key_id}` };
    return send(reply, await s.ledger.ack(request.caller.tenant_id, request.params.id, by, request.body?.body));
  });
}
