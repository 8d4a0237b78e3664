import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { CURSOR_DESCRIPTION, pageQuery } from '../schemas.js';
import { CURSOR_TAG_LENGTH } from '../cursors.js';
import type { DeclareInput, ObservationInput, PlaneReportInput } from '../../capabilities/engine.js';
import { capabilityView, eventView, matrixRow } from '../../capabilities/views.js';
import {
  CAPABILITY_REF_PATTERN, DECISION_REF_PATTERN, EFFECTIVE_STATES, EVIDENCE_REF_PATTERN, PLANES, PLANE_STATUSES, SESSION_REF_PATTERN,
  type EffectiveState, type Plane,
} from '../../capabilities/types.js';

/**
 * Capability negotiation over HTTP (DESIGN §8). Bodies and answers speak the SourceOS contract's camelCase
 * (capabilityRef, declaredBy, ...), since they are CapabilityLedger fields; receipts inside stay snake_case.
 */

const plane = { enum: [...PLANES] } as const;
const planeList = { type: 'array', items: plane, uniqueItems: true, maxItems: PLANES.length } as const;
// A record carries the union of every plane's evidence: the engine also bounds a report's evidence and reason in
// bytes (PLANE_REPORT_MAX_BYTES), so that 11 planes' worth stays under the 64 KiB body.
// Longest capabilityRef, in characters (Ajv counts code points).
const REF_MAX_CHARS = 512;
// The matrix cursor is base64url("ref:" + the last ref as UTF-8): up to 4 bytes a character, so a page ending on a
// long non-ASCII ref (300 CJK characters) needs more than 1024 characters; a smaller bound refused the cursor the
// server had just handed out, and the matrix could not be paged past that capability.
const MATRIX_CURSOR_MAX_CHARS = Math.ceil(((4 + 4 * REF_MAX_CHARS) * 4) / 3) + CURSOR_TAG_LENGTH;
const evidenceRefs = { type: 'array', uniqueItems: true, maxItems: 16, items: { type: 'string', maxLength: 256, pattern: EVIDENCE_REF_PATTERN } } as const;
const refParams = {
  type: 'object', required: ['ref'],
  properties: { ref: { type: 'string', maxLength: REF_MAX_CHARS, pattern: CAPABILITY_REF_PATTERN } },
} as const;

export async function capabilityRoutes(app: FastifyInstance, s: Services): Promise<void> {
  app.post<{ Body: DeclareInput }>('/v1/capabilities', {
    config: { scope: 'write' },
    schema: {
      tags: ['capabilities'], summary: 'Declare (or re-declare) a capability and the planes that must negotiate it',
      body: {
        type: 'object', required: ['capabilityRef', 'declaredBy', 'requiredPlanes'], additionalProperties: false,
        properties: {
          capabilityRef: { type: 'string', maxLength: REF_MAX_CHARS, pattern: CAPABILITY_REF_PATTERN },
          declaredBy: { ...planeList, minItems: 1 },
          requiredPlanes: { ...planeList, minItems: 1 },
          optionalPlanes: planeList,
          sessionRef: { type: ['string', 'null'], maxLength: 512, pattern: SESSION_REF_PATTERN },
        },
      },
    },
  }, async (request, reply) => {
    const r = await s.capabilities.declare(request.caller.tenant_id, request.body);
    return reply.status(r.created ? 201 : 200).send({ capability: capabilityView(r.capability), ...(r.receipt && { receipt: r.receipt }) });
  });

  app.get<{ Querystring: { state?: EffectiveState; cursor?: string; limit?: number } }>('/v1/capabilities', {
    config: { scope: 'read' },
    schema: {
      tags: ['capabilities'], summary: 'The capability matrix: every capability, its effective state and what each plane said',
      querystring: { type: 'object', additionalProperties: false, properties: { state: { enum: [...EFFECTIVE_STATES] }, cursor: { type: 'string', maxLength: MATRIX_CURSOR_MAX_CHARS, description: CURSOR_DESCRIPTION }, limit: pageQuery(s.config.obligations).limit } },
    },
  }, async (request) => {
    const page = await s.capabilities.list(request.caller.tenant_id, request.query);
    return { capabilities: page.items.map(matrixRow), cursor: page.cursor };
  });

  app.get<{ Params: { ref: string }; Querystring: { cursor?: string; limit?: number } }>('/v1/capabilities/:ref', {
    config: { scope: 'read' },
    schema: {
      tags: ['capabilities'], summary: 'One capability: effective state, per-plane status and history (cursor and limit page the history)',
      params: refParams,
      querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery(s.config.obligations) } },
    },
  }, async (request) => {
    const r = await s.capabilities.get(request.caller.tenant_id, request.params.ref, request.query);
    return { capability: capabilityView(r.capability), history: r.history.items.map(eventView), cursor: r.history.cursor };
  });

  app.post<{ Params: { ref: string; plane: Plane }; Body: PlaneReportInput }>('/v1/capabilities/:ref/planes/:plane', {
    config: { scope: 'write' },
    schema: {
      tags: ['capabilities'], summary: 'A plane reports its status; a change of effective state appends a CapabilityLedger record',
      params: { type: 'object', required: ['ref', 'plane'], properties: { ...refParams.properties, plane } },
      body: {
        type: 'object', required: ['status', 'evidenceRefs'], additionalProperties: false,
        properties: {
          status: { enum: [...PLANE_STATUSES] },
          reason: { type: 'string', minLength: 1, maxLength: 1024 },
          evidenceRefs,
          policyDecisionRef: { type: 'string', maxLength: 512, pattern: DECISION_REF_PATTERN },
        },
      },
    },
  }, async (request) => {
    const r = await s.capabilities.reportPlane(request.caller.tenant_id, request.params.ref, request.params.plane, request.body);
    return { capability: capabilityView(r.capability), changed: r.receipt !== undefined, ...(r.receipt && { receipt: r.receipt }) };
  });

  app.post<{ Params: { ref: string }; Body: ObservationInput }>('/v1/capabilities/:ref/observations', {
    config: { scope: 'write' },
    schema: {
      tags: ['capabilities'], summary: 'A surface reports what it shows; showing enabled when it is not raises capability_split_brain',
      params: refParams,
      body: {
        type: 'object', required: ['plane', 'claimedState'], additionalProperties: false,
        properties: { plane, claimedState: { enum: [...EFFECTIVE_STATES] } },
      },
    },
  }, async (request) => {
    const r = await s.capabilities.observe(request.caller.tenant_id, request.params.ref, request.body);
    return {
      observation: eventView(r.event),
      splitBrain: r.splitBrain,
      effectiveState: r.capability.effective_state,
      ...(r.anomaly && { anomaly: r.anomaly }),
    };
  });
}
