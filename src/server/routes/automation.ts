import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { pageQuery } from '../schemas.js';
import { QuittanceError } from '../../errors.js';
import type { StartInput } from '../../automation/engine.js';
import { ACTION_PATTERN, ORIGINS, OWNER_REF_PATTERN, TERMINAL_STATES, TRANSPORTS, type AutomationSessionRow, type TerminalState } from '../../automation/types.js';
import { sessionView } from '../../automation/views.js';
import { CAPABILITY_REF_PATTERN, DECISION_REF_PATTERN, EVIDENCE_REF_PATTERN, SESSION_REF_PATTERN } from '../../capabilities/types.js';

/**
 * Browser automation sessions over HTTP (DESIGN §8). Bodies and answers speak the BrowserAutomationReceipt
 * contract's camelCase; receipts inside stay snake_case. Refusals that are recorded (a denied start, a denied
 * action) answer 403 with the usual error body plus the receipt that records them.
 */

const nullableString = { type: ['string', 'null'], minLength: 1, maxLength: 512 } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const reasonBody = {
  type: ['object', 'null'], additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;

const DENIAL_TEXT = {
  out_of_scope: (s: AutomationSessionRow) => `it is outside the session's permissionScope (${s.permission_scope.join(', ')})`,
  revoked: (s: AutomationSessionRow) => `the session was revoked at ${s.document.revokedAt}; an action_after_revocation anomaly was raised`,
  not_active: (s: AutomationSessionRow) => `the session is ${s.state}`,
} as const;

export async function automationRoutes(app: FastifyInstance, s: Services): Promise<void> {
  app.post<{ Body: StartInput }>('/v1/automation/sessions', {
    config: { scope: 'write' },
    schema: {
      tags: ['automation'], summary: 'Start a browser automation session (only on an enabled capability); a refusal is recorded as denied',
      body: {
        type: 'object', additionalProperties: false,
        required: ['sessionRef', 'ownerRef', 'capabilityRef', 'transport', 'permissionScope', 'origin'],
        properties: {
          sessionRef: { type: 'string', maxLength: 256, pattern: SESSION_REF_PATTERN },
          // At most 256: the owner is also the ledger principal of the session's receipts.
          ownerRef: { type: 'string', maxLength: 256, pattern: OWNER_REF_PATTERN },
          capabilityRef: { type: 'string', maxLength: 512, pattern: CAPABILITY_REF_PATTERN },
          transport: { enum: [...TRANSPORTS] },
          permissionScope: { type: 'array', minItems: 1, maxItems: 64, uniqueItems: true, items: { type: 'string', maxLength: 64, pattern: ACTION_PATTERN } },
          origin: { enum: [...ORIGINS] },
          controlledScope: {
            type: ['object', 'null'], additionalProperties: false,
            properties: { windowRef: nullableString, tabRef: nullableString, urlOrigin: nullableString, workspaceRef: nullableString },
          },
          policyDecisionRef: { type: 'string', maxLength: 512, pattern: DECISION_REF_PATTERN },
          evidenceRefs: { type: 'array', uniqueItems: true, maxItems: 16, items: { type: 'string', maxLength: 256, pattern: EVIDENCE_REF_PATTERN } },
        },
      },
    },
  }, async (request, reply) => {
    const r = await s.automation.start(request.caller.tenant_id, request.body);
    if (r.status === 'denied') {
      throw new QuittanceError('QUITTANCE_ERR_AUTOMATION_START_DENIED', [request.body.sessionRef, r.reason], {
        details: { session: sessionView(r.session), receipt: r.receipt },
      });
    }
    return reply.status(r.status === 'started' ? 201 : 200).send({ session: sessionView(r.session), receipt: r.receipt });
  });

  app.get<{ Querystring: { state?: TerminalState; cursor?: string; limit?: number } }>('/v1/automation/sessions', {
    config: { scope: 'read' },
    schema: {
      tags: ['automation'], summary: 'Automation sessions, oldest first; state=active is what the user sees and may revoke',
      querystring: { type: 'object', additionalProperties: false, properties: { state: { enum: [...TERMINAL_STATES] }, ...pageQuery(s.config.obligations) } },
    },
  }, async (request) => {
    const page = await s.automation.list(request.caller.tenant_id, request.query);
    return { sessions: page.items.map(sessionView), cursor: page.cursor };
  });

  app.get<{ Params: { id: string } }>('/v1/automation/sessions/:id', {
    config: { scope: 'read' },
    schema: { tags: ['automation'], summary: 'One automation session', params: idParams },
  }, async (request) => ({ session: sessionView(await s.automation.get(request.caller.tenant_id, request.params.id)) }));

  app.post<{ Params: { id: string }; Body: { revokedBy?: string; reason?: string } | undefined }>('/v1/automation/sessions/:id/revoke', {
    config: { scope: 'write' },
    schema: {
      tags: ['automation'], summary: 'The user revokes a session: effective for the very next action',
      params: idParams,
      body: { ...reasonBody, properties: { ...reasonBody.properties, revokedBy: { type: 'string', minLength: 1, maxLength: 256 } } },
    },
  }, async (request) => {
    const r = await s.automation.revoke(request.caller.tenant_id, request.params.id, request.body ?? {});
    return { status: r.status, session: sessionView(r.session), receipt: r.receipt };
  });

  app.post<{ Params: { id: string }; Body: { action: string } }>('/v1/automation/sessions/:id/actions', {
    config: { scope: 'write' },
    schema: {
      tags: ['automation'], summary: 'Record an action: executed within scope while active; otherwise denied (and recorded)',
      params: idParams,
      body: {
        type: 'object', required: ['action'], additionalProperties: false,
        properties: { action: { type: 'string', maxLength: 64, pattern: ACTION_PATTERN } },
      },
    },
  }, async (request, reply) => {
    const r = await s.automation.act(request.caller.tenant_id, request.params.id, request.body.action);
    if (r.outcome === 'denied') {
      throw new QuittanceError('QUITTANCE_ERR_AUTOMATION_ACTION_DENIED', [request.body.action, request.params.id, DENIAL_TEXT[r.reason](r.session)], {
        details: { outcome: 'denied', reason: r.reason, receipt: r.receipt, ...(r.anomaly && { anomaly: r.anomaly }) },
      });
    }
    return reply.status(201).send({ outcome: 'executed', receipt: r.receipt });
  });

  for (const state of ['completed', 'failed'] as const) {
    const path = state === 'completed' ? 'complete' : 'fail';
    app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(`/v1/automation/sessions/:id/${path}`, {
      config: { scope: 'write' },
      schema: { tags: ['automation'], summary: `The owner ends a session: terminalState ${state}`, params: idParams, body: reasonBody },
    }, async (request) => {
      const r = await s.automation.finish(request.caller.tenant_id, request.params.id, state, request.body?.reason);
      return { status: r.status, session: sessionView(r.session), receipt: r.receipt };
    });
  }
}
