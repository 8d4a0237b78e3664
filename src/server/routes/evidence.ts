import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { QuittanceError } from '../../errors.js';
import { Evidence } from '../../evidence/evidence.js';

const digestParams = {
  type: 'object', required: ['digest'],
  properties: { digest: { type: 'string', pattern: '^sha256:[0-9a-fA-F]{64}$', description: 'sha256:<64 hex>' } },
} as const;

/**
 * The request body as a stream of chunks. Stopping early (over the limit) leaves the rest unread instead of
 * destroying the request, which would take the socket, and the 413, with it; Node discards the rest once the
 * answer is sent. A body that ends early (the client went away) is a coded 400, not a 500.
 */
async function* body(stream: Readable | undefined): AsyncIterable<Uint8Array> {
  if (stream === undefined) return;
  try {
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array;
  } catch (e) {
    if (e instanceof QuittanceError) throw e;
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`request body ended before it was complete (${(e as Error).message})`], { cause: e });
  }
}

/**
 * The evidence store over HTTP (DESIGN §1): raw bytes of any content type in, `{digest, size_bytes}` out; bytes
 * back only after they verified against their digest. A digest the tenant does not hold answers 404, whoever
 * else holds it.
 */
export async function evidenceRoutes(app: FastifyInstance, s: Services): Promise<void> {
  const evidence = new Evidence(s.ledger);
  const maxBytes = s.config.evidence.blobMaxBytes;

  // An encapsulated context: only here is every content type accepted, and left unparsed, so the bytes stored
  // are the bytes sent (JSON too) and the rest of the API keeps its strict JSON parser.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    scope.post<{ Body: Readable | undefined }>('/v1/evidence', {
      config: { scope: 'write' },
      schema: { tags: ['evidence'], summary: 'Store raw bytes (any content type) → {digest, size_bytes}; 201 new, 200 already held' },
    }, async (request, reply) => {
      // Refuse a declared oversize body before reading any of it; a body that lies about its length is
      // stopped as the bytes pass (the blob store counts them).
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) throw new QuittanceError('QUITTANCE_ERR_EVIDENCE_TOO_LARGE', [maxBytes]);
      const r = await evidence.put(request.caller.tenant_id, body(request.body), request.headers['content-type'] ?? null);
      return reply.status(r.created ? 201 : 200).send({ digest: r.digest, size_bytes: r.size_bytes });
    });
  });

  app.get<{ Params: { digest: string } }>('/v1/evidence/:digest', {
    config: { scope: 'read' },
    schema: { tags: ['evidence'], summary: 'The bytes of a blob, verified against its digest before any is sent', params: digestParams },
  }, async (request, reply) => {
    const tenantId = request.caller.tenant_id;
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined) {
      // A client that holds these bytes already (it sends their ETag) gets 304 and no body (RFC 9110 §13.1.2): the
      // bytes under a digest never change, so the blob is not read, only the tenant's record of it looked up (a
      // digest the tenant does not hold is still a 404).
      const row = await evidence.describe(tenantId, request.params.digest);
      if (etagListMatches(ifNoneMatch, `"${row.digest}"`)) return reply.status(304).header('etag', `"${row.digest}"`).header('cache-control', CACHE_CONTROL).send();
    }
    const { row, bytes } = await evidence.get(tenantId, request.params.digest);
    return reply
      .type(row.content_type ?? 'application/octet-stream')
      .header('etag', `"${row.digest}"`)
      .header('cache-control', CACHE_CONTROL)
      // Served as data, never as a page: a stored text/html must not run in a browser on this origin.
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(bytes);
  });
}

/** Content-addressed: the bytes under a digest never change. */
const CACHE_CONTROL = 'private, max-age=31536000, immutable';

/**
 * Whether an If-None-Match header names `etag`: `*`, or a comma-separated list of entity tags compared weakly, as
 * If-None-Match is (a `W/` prefix does not matter). Digests hold no comma or quote, so a split on commas is exact.
 */
export function etagListMatches(header: string, etag: string): boolean {
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}
