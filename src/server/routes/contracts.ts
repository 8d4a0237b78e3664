import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { QuittanceError } from '../../errors.js';
import { loadSchemas, schemaByName } from '../../contracts/schemas.js';
import { validateDocuments } from '../../contracts/validate.js';
import { SOURCEOS_TYPE_NAMES } from '../../contracts/types.js';
import { StoredContracts } from '../../contracts/stored.js';
import { pageQuery } from '../schemas.js';
import { keyPrincipal } from './caller.js';

const SCHEMA_FILE_SUFFIX = '.schema.json';

/**
 * Contracts over HTTP (DESIGN §9): validation with the same schemas, rules and error paths as `quittance validate`,
 * storage of SourceOS documents as contract.object receipts, and the schemas themselves.
 */
export async function contractRoutes(app: FastifyInstance, s: Services): Promise<void> {
  const contracts = new StoredContracts(s.ledger);
  const max = s.config.contracts.validateMaxDocuments;

  app.post<{ Body: unknown; Querystring: { schema?: string } }>('/v1/contracts/validate', {
    config: { scope: 'read' },
    // Many documents at once: the batch limit, not the single-receipt one.
    bodyLimit: s.config.limits.httpBatchBodyMaxBytes,
    schema: {
      tags: ['contracts'],
      summary: 'Validate one document or an array of documents (validated together); per-document results, nothing stored',
      querystring: { type: 'object', additionalProperties: false, properties: { schema: { type: 'string', minLength: 1, maxLength: 128 } } },
      // Any JSON: a document that is not an object is reported per document ("must be object"), as the CLI does.
      body: { type: ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'], minItems: 1, maxItems: max },
    },
  }, async (request) => {
    const schema = request.query.schema;
    if (schema !== undefined) schemaByName(schema); // an unknown name is a coded 404, as for GET /v1/schemas/{Type}
    if (request.body === undefined) throw new QuittanceError('QUITTANCE_ERR_VALIDATION', ['body must be a document or an array of documents']);
    const docs = Array.isArray(request.body) ? request.body : [request.body];
    const set = validateDocuments(docs, schema === undefined ? {} : { schema });
    const invalid = set.results.filter((r) => !r.valid).length;
    return {
      valid: set.valid,
      summary: { documents: docs.length, valid: docs.length - invalid, invalid },
      results: set.results.map((r, index) => ({ index, status: r.valid ? 'valid' : 'invalid', type: r.type, errors: r.errors })),
    };
  });

  app.post<{ Body: Record<string, unknown> }>('/v1/contracts', {
    config: { scope: 'write' },
    schema: {
      tags: ['contracts'],
      summary: 'Validate a SourceOS document, then store it as a contract.object receipt (201; the same id and content again: 200)',
      // The id is the contract's key in the store: at most 512 characters (4 bytes each in UTF-8: 2 KiB), so that
      // PostgreSQL can index it (a btree entry holds at most 2704 bytes). A longer id answered 500 there, and on
      // SQLite was stored where GET /v1/contracts/{id} (at most 1024 characters) could not reach it.
      body: { type: 'object', properties: { id: { maxLength: 512 } } },
    },
  }, async (request, reply) => {
    const r = await contracts.store(request.caller.tenant_id, request.body, keyPrincipal(request));
    return reply.status(r.status === 'created' ? 201 : 200).send(r);
  });

  app.get<{ Params: { urn: string } }>('/v1/contracts/:urn', {
    config: { scope: 'read' },
    schema: {
      tags: ['contracts'], summary: 'A stored contract and the receipt carrying it',
      params: { type: 'object', properties: { urn: { type: 'string', minLength: 1, maxLength: 1024 } } },
    },
  }, async (request) => contracts.get(request.caller.tenant_id, request.params.urn));

  app.get<{ Querystring: { type?: string; cursor?: string; limit?: number } }>('/v1/contracts', {
    config: { scope: 'read' },
    schema: {
      tags: ['contracts'], summary: 'Stored contracts in the order they were stored',
      querystring: { type: 'object', additionalProperties: false, properties: { type: { enum: [...SOURCEOS_TYPE_NAMES] }, ...pageQuery(s.config.obligations) } },
    },
  }, async (request) => {
    const page = await contracts.list(request.caller.tenant_id, request.query);
    return { contracts: page.items, cursor: page.cursor };
  });

  // The schemas are published contracts, the same for every tenant and shipped in the package: public, like
  // /openapi.json, so anyone can check their own documents against them.
  app.get('/v1/schemas', {
    schema: { tags: ['contracts'], summary: 'The contract schemas (JSON Schema 2020-12)' },
  }, async () => {
    const set = loadSchemas();
    return {
      schemas: set.names.map((name) => {
        const sc = set.byName.get(name)!;
        return { type: name, $id: sc.$id, description: sc.description, sourceos: set.sourceOsTypes.includes(name), url: `/v1/schemas/${name}` };
      }),
    };
  });

  app.get<{ Params: { type: string } }>('/v1/schemas/:type', {
    schema: {
      tags: ['contracts'], summary: 'One schema, by type name (Principal or Principal.schema.json, so relative $refs resolve)',
      params: { type: 'object', properties: { type: { type: 'string', minLength: 1, maxLength: 128 } } },
    },
  }, async (request, reply) => {
    const t = request.params.type;
    const sc = schemaByName(t.endsWith(SCHEMA_FILE_SUFFIX) ? t.slice(0, -SCHEMA_FILE_SUFFIX.length) : t);
    return reply.type('application/schema+json').send(sc);
  });
}
