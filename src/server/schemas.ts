/**
 * Request schemas for the ledger routes (JSON Schema 2020-12). They describe the shapes the ledger's own types
 * declare in src/ledger/types.ts; limits that are configurable (parents, artifacts, body size) are enforced by
 * the ledger with coded errors, not here, so the message can say why.
 */
import { ARTIFACT_KINDS, PRINCIPAL_KINDS } from '../ledger/types.js';

export const principalSchema = {
  type: 'object',
  required: ['kind', 'id'],
  additionalProperties: false,
  properties: {
    kind: { enum: [...PRINCIPAL_KINDS], description: 'What sort of actor this is.' },
    id: { type: 'string', minLength: 1, maxLength: 256, description: 'Stable id of the actor.' },
    instance_id: { type: 'string', minLength: 1, maxLength: 256, description: 'Which running instance of it.' },
  },
} as const;

const idString = { type: 'string', minLength: 1, maxLength: 256 } as const;

export const artifactSchema = {
  type: 'object',
  required: ['kind', 'uri'],
  properties: {
    kind: { enum: [...ARTIFACT_KINDS] },
    uri: { type: 'string', minLength: 1, maxLength: 4096 },
    digest: { type: 'string', maxLength: 256 },
    size_bytes: { type: 'integer', minimum: 0 },
  },
} as const;

export const deliveryProofSchema = {
  type: 'object',
  required: ['mode', 'target', 'status', 'at', 'proof'],
  properties: {
    mode: { enum: ['push', 'store'] },
    target: { type: 'object' },
    status: { enum: ['succeeded', 'failed'] },
    at: { type: 'string', format: 'date-time' },
    proof: { type: 'object' },
  },
} as const;

export const receiptInputSchema = {
  type: 'object',
  required: ['type', 'from', 'to'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 128, description: 'Receipt type from the registry (DESIGN §3).' },
    from: principalSchema,
    to: principalSchema,
    task_id: idString,
    lease_id: idString,
    stamp_id: idString,
    session_id: idString,
    parents: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 64 }, description: 'Receipt ids this one answers or closes.' },
    body: { type: 'object', description: 'The contract: at most 64 KiB as canonical JSON.' },
    artifacts: { type: 'array', items: artifactSchema, description: 'Where the product is.' },
    delivery_proof: deliveryProofSchema,
    idempotency_key: { type: 'string', minLength: 1, maxLength: 256 },
  },
} as const;

export const pageQuery = {
  cursor: { type: 'string', maxLength: 64 },
  limit: { type: 'integer', minimum: 1, maximum: 1000 },
} as const;

export const principalQuery = {
  principal_kind: { enum: [...PRINCIPAL_KINDS] },
  principal_id: { type: 'string', minLength: 1, maxLength: 256 },
} as const;

export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } },
} as const;
