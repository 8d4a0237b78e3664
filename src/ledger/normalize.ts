import { QuittanceError } from '../errors.js';
import type { QuittanceConfig } from '../config.js';
import { canonicalize } from './canonical.js';
import { contentHash, receiptTexts, type ReceiptTexts } from './hashing.js';
import { receiptTypeSpec, type ReceiptTypeSpec } from './registry.js';
import type { ReceiptContent, ReceiptInput } from './types.js';

export interface PreparedReceipt {
  content: ReceiptContent;
  hash: string;
  spec: ReceiptTypeSpec;
  /** Canonical texts of body, artifacts and delivery_proof: hashed here, stored as they are. */
  texts: ReceiptTexts;
  /** See PrepareOptions.fresh. */
  fresh?: true;
  /** See PrepareOptions.writer ('any': a client). */
  writer: ReceiptTypeSpec['writer'];
}

export interface PrepareOptions {
  /** Set by Quittance's own engines: they may write the types they own. Clients never set it. */
  writer?: ReceiptTypeSpec['writer'];
  /**
   * Set by an engine whose receipt names an id it generated for this write (a new task's task.assigned): no stored
   * receipt can have its hash or idempotency key. A backend may then skip looking them up (AppendLookup.fresh);
   * its unique indexes still refuse a receipt that was not new. Clients never set it.
   */
  fresh?: boolean;
}

/**
 * DESIGN §2 rule 1 (shape and size) plus normalisation: parents become a sorted set, an empty artifacts list is
 * the same as none, an omitted body is {}. Pure: no clock, no store. Throws coded errors.
 */
export function prepareReceipt(
  tenantId: string,
  input: ReceiptInput,
  limits: QuittanceConfig['limits'],
  options: PrepareOptions = {},
): PreparedReceipt {
  const spec = receiptTypeSpec(input.type);
  if (!spec) throw new QuittanceError('QUITTANCE_ERR_UNKNOWN_RECEIPT_TYPE', [JSON.stringify(input.type)]);
  const writer = options.writer ?? 'any';
  if (spec.writer !== 'any' && spec.writer !== writer) {
    throw new QuittanceError('QUITTANCE_ERR_RECEIPT_TYPE_RESERVED', [input.type, `the ${spec.writer} engine`]);
  }
  // Parents are a set: the limit counts distinct ids, so a repeat folds (as it does into the hash) and is not counted.
  const parentsIn = input.parents ?? [];
  const parents = parentsIn.length <= 1 ? parentsIn.slice() : Array.from(new Set(parentsIn)).sort();
  if (parents.length > limits.parentsMax) {
    throw new QuittanceError('QUITTANCE_ERR_TOO_MANY_PARENTS', [parents.length, limits.parentsMax]);
  }
  const artifacts = input.artifacts ?? [];
  if (artifacts.length > limits.artifactsMax) {
    throw new QuittanceError('QUITTANCE_ERR_TOO_MANY_ARTIFACTS', [artifacts.length, limits.artifactsMax]);
  }
  const body = input.body ?? {};
  const bodyText = canonicalize(body);
  const bodyBytes = Buffer.byteLength(bodyText, 'utf8');
  if (bodyBytes > limits.receiptBodyMaxBytes) {
    throw new QuittanceError('QUITTANCE_ERR_BODY_TOO_LARGE', [bodyBytes, limits.receiptBodyMaxBytes]);
  }

  const content: ReceiptContent = {
    tenant_id: tenantId,
    type: input.type,
    from: principal(input.from),
    to: principal(input.to),
    parents,
    body,
  };
  if (input.task_id !== undefined) content.task_id = input.task_id;
  if (input.lease_id !== undefined) content.lease_id = input.lease_id;
  if (input.stamp_id !== undefined) content.stamp_id = input.stamp_id;
  if (input.session_id !== undefined) content.session_id = input.session_id;
  if (artifacts.length > 0) content.artifacts = artifacts;
  if (input.delivery_proof !== undefined) content.delivery_proof = input.delivery_proof;
  if (input.idempotency_key !== undefined) content.idempotency_key = input.idempotency_key;

  const texts = receiptTexts(content, bodyText);
  return { content, hash: contentHash(content, texts), spec, texts, writer, ...(options.fresh === true && { fresh: true as const }) };
}

function principal(p: ReceiptInput['from']): ReceiptContent['from'] {
  // Copy only the known keys so the hashed form is exactly what the schema allows.
  return p.instance_id === undefined ? { kind: p.kind, id: p.id } : { kind: p.kind, id: p.id, instance_id: p.instance_id };
}
