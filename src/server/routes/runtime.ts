import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { Evidence } from '../../evidence/evidence.js';
import { RuntimeInstalls, type InstallReport } from '../../runtime/installs.js';
import type { Principal } from '../../ledger/types.js';
import { principalSchema } from '../schemas.js';
import { implicitRefs, keyPrincipal } from './caller.js';

const text = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const nullableText = { type: ['string', 'null'], maxLength: 4096 } as const;
const refList = { type: 'array', maxItems: 100, items: text } as const;

type InstallBody = Omit<InstallReport, 'sessionRef' | 'capabilityLedgerRef' | 'policyDecisionRef'>
  & Partial<Pick<InstallReport, 'sessionRef' | 'capabilityLedgerRef' | 'policyDecisionRef'>> & { from?: Principal };

/**
 * Runtime installs over HTTP (DESIGN §8). The body speaks the RuntimeInstallReceipt's camelCase. Shapes are
 * checked here; what the fields mean (URN kinds, platforms, states, digests, time order) is checked on the
 * document built from them, with the contract validator and its error paths (422).
 */
export async function runtimeRoutes(app: FastifyInstance, s: Services): Promise<void> {
  const installs = new RuntimeInstalls(s.ledger, new Evidence(s.ledger), s.clock);

  app.post<{ Body: InstallBody }>('/v1/runtime-installs', {
    config: { scope: 'write' },
    // The full manifest travels in this body (it goes to the evidence store): room for the largest blob.
    bodyLimit: s.config.evidence.blobMaxBytes + s.config.limits.httpBodyMaxBytes,
    schema: {
      tags: ['runtime'],
      summary: 'Record a runtime install step: manifest → evidence, a runtime.install receipt (201); an identical repeat: unchanged (200)',
      body: {
        type: 'object',
        required: ['runtimeRef', 'targetRef', 'platform', 'installState', 'manifest', 'artifacts'],
        additionalProperties: false,
        properties: {
          runtimeRef: text, targetRef: text, platform: text, installState: text,
          manifest: { type: ['object', 'array'], description: 'The full install manifest; stored as evidence (canonical JSON), never logged.' },
          artifacts: { type: 'array', maxItems: 1000, items: { type: 'object' } },
          sessionRef: text, capabilityLedgerRef: text, policyDecisionRef: text,
          agentMachineReceiptRef: nullableText, runtimeName: nullableText, runtimeVersion: nullableText,
          startedAt: text, finishedAt: nullableText, manifestResolvedAt: text,
          bundleFormatVersion: { type: ['string', 'integer', 'null'] },
          rollbackRef: nullableText, failureReason: nullableText,
          causalRefs: refList, evidenceRefs: refList, logMode: text,
          from: principalSchema,
        },
      },
    },
  }, async (request, reply) => {
    const { from, ...fields } = request.body;
    const report: InstallReport = { ...implicitRefs(request, 'runtime-install'), ...fields };
    const r = await installs.record(request.caller.tenant_id, from ?? keyPrincipal(request), report);
    if (r.unchanged) {
      // A repeat is routine and says nothing new: not worth a line at the default level.
      request.log.debug({ receipt_id: r.receipt.receipt_id, install_id: r.install_id }, 'runtime install unchanged');
    } else {
      // The one line an install writes: it names the receipt; the manifest is in the evidence store, by digest.
      request.log.info({
        receipt_id: r.receipt.receipt_id, install_id: r.install_id, install_state: r.document.installState, manifest_digest: r.manifest.digest,
      }, 'runtime install recorded');
    }
    return reply.status(r.unchanged ? 200 : 201).send({ unchanged: r.unchanged, install_id: r.install_id, manifest: r.manifest, receipt: r.receipt });
  });

  app.get<{ Params: { id: string } }>('/v1/runtime-installs/:id', {
    config: { scope: 'read' },
    schema: {
      tags: ['runtime'], summary: "An install's chain of runtime.install receipts, oldest first",
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
    },
  }, async (request) => installs.chain(request.caller.tenant_id, request.params.id));
}
