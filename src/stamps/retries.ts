/**
 * Retried standalone mints, rotations and recorded decisions. A client whose answer was lost sends the same request again; its
 * idempotency key, kept on the receipt the first request wrote (unique per tenant on both backends), finds what that
 * request did, so the retry is answered with it instead of minting a second stamp (never tombstoned, so flagged
 * ambiguous when its TTL passes) or making one more generation. Another request under the same key is 409.
 */
import { QuittanceError } from '../errors.js';
import { canonicalize } from '../ledger/canonical.js';
import type { Principal, Receipt } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import type { Verdict } from './introspection.js';
import type { MintInput, StampRow, StampState } from './types.js';

/** What makes a rotation safe to send again: its key (per stamp), and the `from` the request named, if any. */
export interface RotateRetry {
  idempotency_key?: string | undefined;
  from?: Principal | undefined;
}

/** The stamp.minted receipt's idempotency key for a standalone mint's key (a tenant's receipt keys are one space). */
export function mintKey(key: string): string {
  return `stamp.minted:${key}`;
}

/** The stamp.rotated receipt's idempotency key: a rotation key names one rotation of one stamp. */
export function rotateKey(stampId: string, key: string): string {
  return `stamp.rotated:${stampId}:${key}`;
}

/** The principal as receipts keep it (no extra fields), for comparing. */
export function principal(p: Principal): Principal {
  return p.instance_id === undefined ? { kind: p.kind, id: p.id } : { kind: p.kind, id: p.id, instance_id: p.instance_id };
}

/** The stamp an earlier mint under `key` made, with its stamp.minted receipt; 409 if that was another request. */
export async function earlierMint(tx: Tx, tenantId: string, input: MintInput, key: string): Promise<{ row: StampRow; receipt: Receipt } | undefined> {
  const r = await tx.receiptByIdempotencyKey(tenantId, mintKey(key));
  if (!r) return undefined;
  const row = r.type === 'stamp.minted' && r.stamp_id !== undefined ? await tx.stampForUpdate(tenantId, r.stamp_id) : undefined;
  const b = r.body;
  const same = row !== undefined && canonicalize(b['subject']) === canonicalize(principal(input.subject)) && b['task_ref'] === input.task_ref
    && canonicalize(b['scope']) === canonicalize([...input.scope]) && b['ttl_seconds'] === input.ttl_seconds && r.task_id === input.task_id;
  if (!same) throw new QuittanceError('QUITTANCE_ERR_IDEMPOTENCY_CONFLICT', [JSON.stringify(key)], { details: { receipt_id: r.receipt_id } });
  return { row, receipt: r };
}

/**
 * The stamp.rotated receipt of an earlier rotation of the stamp under `key`, and the generation it made. A `from`
 * other than that receipt's writer is 409; naming none is the same request (a retry may come through another API
 * key).
 */
export async function earlierRotation(tx: Tx, row: StampRow, key: string, from: Principal | undefined): Promise<{ receipt: Receipt; generation: number; rotatedMs: number } | undefined> {
  const r = await tx.receiptByIdempotencyKey(row.tenant_id, rotateKey(row.stamp_id, key));
  if (!r) return undefined;
  const generation = r.body['generation'];
  const rotatedAt = r.body['rotated_at'];
  const same = r.type === 'stamp.rotated' && r.stamp_id === row.stamp_id && typeof generation === 'number' && typeof rotatedAt === 'string'
    && (from === undefined || canonicalize(principal(from)) === canonicalize(r.from));
  if (!same) throw new QuittanceError('QUITTANCE_ERR_IDEMPOTENCY_CONFLICT', [JSON.stringify(key)], { details: { receipt_id: r.receipt_id } });
  return { receipt: r, generation, rotatedMs: Date.parse(rotatedAt) };
}

/** A stamp.event receipt's idempotency key: an event_id names one decision, under its stamp (or under none). */
export function eventKey(stampId: string | undefined, eventId: string): string {
  return `stamp.event:${stampId ?? ''}:${eventId}`;
}

/**
 * The decision an introspection recorded before under `eventId` (about the stamp `stampId` names, or none), for its
 * resend; 409 if that was another action or another decider.
 */
export async function earlierDecision(tx: Tx, tenantId: string, stampId: string | undefined, eventId: string, record: { action: string; by: Principal }): Promise<Receipt | undefined> {
  const key = eventKey(stampId, eventId);
  const r = await tx.receiptByIdempotencyKey(tenantId, key);
  if (!r) return undefined;
  const same = r.type === 'stamp.event' && r.body['action'] === record.action && canonicalize(r.from) === canonicalize(principal(record.by));
  if (!same) throw new QuittanceError('QUITTANCE_ERR_IDEMPOTENCY_CONFLICT', [JSON.stringify(eventId)], { details: { receipt_id: r.receipt_id } });
  return r;
}

/** The verdict a recorded decision gave, for answering it again (`state`: the stamp's as it is now). */
export function recordedVerdict(r: Receipt, state: StampState): Verdict {
  if (r.body['outcome'] === 'executed') return { active: true, state: 'active' };
  const reason = r.body['gate_reason'];
  return { active: false, state, ...(typeof reason === 'string' && { reason: reason as Verdict['reason'] & string }) };
}
