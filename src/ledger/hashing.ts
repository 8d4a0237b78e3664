import { hash } from 'node:crypto';
import { QuittanceError } from '../errors.js';
import { canonicalize } from './canonical.js';
import { hasUnpairedSurrogate } from './strict-json.js';
import type { ReceiptContent } from './types.js';

export function sha256Hex(data: string | Uint8Array): string {
  // One-shot digest: no Hash object per call (about 2x faster than createHash for receipt-sized inputs).
  return hash('sha256', data, 'hex');
}

/**
 * The canonical (JCS) texts of a receipt's free-form JSON fields. The append path computes them once and reuses
 * them for the content hash and for the stored columns, instead of canonicalising the same body three times.
 */
export interface ReceiptTexts {
  body: string;
  artifacts: string | undefined;
  delivery_proof: string | undefined;
}

/** `bodyText`: the body's canonical text when the caller has it already (the size check needs it first). */
export function receiptTexts(content: Pick<ReceiptContent, 'body' | 'artifacts' | 'delivery_proof'>, bodyText?: string): ReceiptTexts {
  return {
    body: bodyText ?? canonicalize(content.body),
    artifacts: content.artifacts === undefined ? undefined : canonicalize(content.artifacts),
    delivery_proof: content.delivery_proof === undefined ? undefined : canonicalize(content.delivery_proof),
  };
}

/**
 * canonicalize(content), assembled from the already canonical texts. ReceiptContent has a fixed set of keys, so
 * their JCS order (UTF-16 code units) is written out here once; a property test checks this equals
 * canonicalize(content) for arbitrary contents.
 */
export function canonicalContent(c: ReceiptContent, texts: ReceiptTexts = receiptTexts(c)): string {
  let out = '{';
  if (texts.artifacts !== undefined) out += '"artifacts":' + texts.artifacts + ',';
  out += '"body":' + texts.body;
  if (texts.delivery_proof !== undefined) out += ',"delivery_proof":' + texts.delivery_proof;
  out += ',"from":' + canonicalPrincipal(c.from);
  if (c.idempotency_key !== undefined) out += ',"idempotency_key":' + JSON.stringify(c.idempotency_key);
  if (c.lease_id !== undefined) out += ',"lease_id":' + JSON.stringify(c.lease_id);
  out += ',"parents":' + JSON.stringify(c.parents);
  if (c.session_id !== undefined) out += ',"session_id":' + JSON.stringify(c.session_id);
  if (c.stamp_id !== undefined) out += ',"stamp_id":' + JSON.stringify(c.stamp_id);
  if (c.task_id !== undefined) out += ',"task_id":' + JSON.stringify(c.task_id);
  out += ',"tenant_id":' + JSON.stringify(c.tenant_id);
  out += ',"to":' + canonicalPrincipal(c.to);
  return out + ',"type":' + JSON.stringify(c.type) + '}';
}

function canonicalPrincipal(p: ReceiptContent['from']): string {
  const head = '{"id":' + JSON.stringify(p.id);
  const instance = p.instance_id === undefined ? '' : ',"instance_id":' + JSON.stringify(p.instance_id);
  return head + instance + ',"kind":' + JSON.stringify(p.kind) + '}';
}

/**
 * sha256 over the JCS form of the content fields; receipt_id, seq, created_at and the chain fields are not in it.
 * Every receipt the ledger appends is hashed here, so this is also where it refuses content it could not store
 * as hashed (refuseUnpairedSurrogates).
 */
export function contentHash(content: ReceiptContent, texts?: ReceiptTexts): string {
  const canonical = canonicalContent(content, texts);
  // JSON.stringify writes an unpaired surrogate, and nothing else, as the escape \udXXX: only then look closer.
  if (canonical.includes('\\ud')) refuseUnpairedSurrogates(content);
  return sha256Hex(canonical);
}

/**
 * The fields stored as text columns must read back as they were hashed, and an unpaired surrogate cannot be
 * stored (hasUnpairedSurrogate). Body, artifacts and delivery_proof are stored as their canonical texts, where
 * one is an escape and reads back as it was: the HTTP layer refuses those too, callers in process may keep them.
 */
function refuseUnpairedSurrogates(c: ReceiptContent): void {
  const fields: [string, string | undefined][] = [
    ['type', c.type], ['from/kind', c.from.kind], ['from/id', c.from.id], ['from/instance_id', c.from.instance_id],
    ['to/kind', c.to.kind], ['to/id', c.to.id], ['to/instance_id', c.to.instance_id], ['task_id', c.task_id], ['lease_id', c.lease_id],
    ['stamp_id', c.stamp_id], ['session_id', c.session_id], ['idempotency_key', c.idempotency_key], ['tenant_id', c.tenant_id],
    ...c.parents.map((p, i): [string, string] => [`parents/${i}`, p]),
  ];
  for (const [at, v] of fields) if (v !== undefined && hasUnpairedSurrogate(v)) throw new QuittanceError('QUITTANCE_ERR_UNPAIRED_SURROGATE', [at]);
}

/**
 * The chain link: sha256(prev_hash ‖ receipt_id ‖ seq ‖ created_at ‖ hash), plain concatenation of the ASCII
 * forms. Unambiguous without separators because every part but seq has a fixed length (64, 36, 24, 64 chars)
 * and seq is decimal between two fixed-length fields.
 */
export function chainHash(prevHash: string, receiptId: string, seq: number, createdAt: string, hash: string): string {
  return sha256Hex(prevHash + receiptId + String(seq) + createdAt + hash);
}
