import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { WorkspaceClassifier } from '../../workspace/classifier.js';
import { GitStateRecorder, type GitStateRequest } from '../../workspace/record.js';
import { WorkspaceRoots } from '../../workspace/roots.js';
import { COMMAND_CLASSES, OPERATIONS } from '../../workspace/types.js';
import type { Principal } from '../../ledger/types.js';
import { principalSchema } from '../schemas.js';
import { implicitRefs, keyPrincipal } from './caller.js';

const text = { type: 'string', minLength: 1, maxLength: 1024 } as const;

type GitStateBody = Omit<GitStateRequest, 'sessionRef' | 'capabilityLedgerRef' | 'policyDecisionRef'>
  & Partial<Pick<GitStateRequest, 'sessionRef' | 'capabilityLedgerRef' | 'policyDecisionRef'>> & { from?: Principal };

/**
 * Git workspace classification recorded in the ledger (DESIGN §8). The path is classified on the server's own
 * filesystem and never stored: the receipt carries a GitWorkspaceState document (digests and a redacted hint).
 * Off unless the server was given workspace roots: only existing paths under them are classified, anything else is
 * one 403 QUITTANCE_ERR_WORKSPACE_PATH_NOT_ALLOWED that does not tell whether the path exists.
 */
export async function workspaceRoutes(app: FastifyInstance, s: Services): Promise<void> {
  // One classifier per server: its caches and its generations (operation_superseded) span requests.
  // Roots are resolved once, at start: a configured root that is not a folder stops the server (config error).
  const roots = new WorkspaceRoots(s.config.workspace.allowedRoots);
  const recorder = new GitStateRecorder(s.ledger, new WorkspaceClassifier({ clock: s.clock }), s.clock, roots);

  app.post<{ Body: GitStateBody }>('/v1/workspace/git-state', {
    config: { scope: 'write' },
    schema: {
      tags: ['workspace'],
      summary: 'Classify a path on the server and record a workspace.git_state receipt carrying a GitWorkspaceState',
      description: 'Only existing paths under the workspace roots the server was started with (quittance serve --workspace-root DIR) are classified; without roots, or for any other path, the answer is 403 QUITTANCE_ERR_WORKSPACE_PATH_NOT_ALLOWED.',
      body: {
        type: 'object', required: ['path'], additionalProperties: false,
        properties: {
          path: { type: 'string', minLength: 1, maxLength: 4096, description: 'Absolute path on the server, under one of its workspace roots; classified, never stored.' },
          operation: { enum: [...OPERATIONS] },
          commandClass: { enum: [...COMMAND_CLASSES] },
          runsGit: { type: 'boolean' },
          sessionRef: text, capabilityLedgerRef: text, policyDecisionRef: text, workspaceRef: text,
          agentMachineReceiptRef: { type: ['string', 'null'], maxLength: 1024 },
          evidenceRefs: { type: 'array', maxItems: 100, items: text },
          causalRefs: { type: 'array', maxItems: 100, items: text },
          from: principalSchema,
        },
      },
    },
  }, async (request, reply) => {
    const { from, ...fields } = request.body;
    const r = await recorder.record(request.caller.tenant_id, from ?? keyPrincipal(request), { ...implicitRefs(request, 'git-workspace'), ...fields });
    return reply.status(201).send({ receipt: r.receipt, document: r.document });
  });
}
