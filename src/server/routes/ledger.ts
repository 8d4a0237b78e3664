import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { pageQuery } from '../schemas.js';
import { ANOMALY_KINDS } from '../../ledger/registry.js';

export async function ledgerRoutes(app: FastifyInstance, s: Services): Promise<void> {
  app.get<{ Querystring: { kind?: string; cursor?: string; limit?: number } }>('/v1/anomalies', {
    config: { scope: 'read' },
    schema: {
      tags: ['ledger'], summary: 'system.anomaly receipts, oldest first',
      querystring: { type: 'object', additionalProperties: false, properties: { kind: { enum: Object.keys(ANOMALY_KINDS), description: 'An anomaly kind (a misspelt one is a 400, not an empty page)' }, ...pageQuery(s.config.obligations) } },
    },
  }, async (request) => {
    const page = await s.ledger.anomalies(request.caller.tenant_id, request.query);
    return { anomalies: page.items, cursor: page.cursor };
  });

  app.get('/v1/ledger/verify', {
    config: { scope: 'read' },
    schema: { tags: ['ledger'], summary: "Re-hash the caller's tenant chain from genesis" },
  }, async (request) => s.ledger.verify(request.caller.tenant_id));

  app.get('/v1/health', { schema: { tags: ['ledger'], summary: 'Liveness and storage facts' } }, async () => {
    const v = await s.store.schemaVersion();
    return { status: 'ok', backend: s.store.backend, schema_version: v.current };
  });
}
