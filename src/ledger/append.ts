import { QuittanceError, isQuittanceError } from '../errors.js';
import { isoTime, type Clock } from '../clock.js';
import type { AppendLookup, ReceiptRef, Tx } from '../store/types.js';
import type { TaskRow } from '../tasks/types.js';
import { chainHash, contentHash, receiptTexts, type ReceiptTexts } from './hashing.js';
import { canTerminate, legalTerminators, receiptTypeSpec, type AnomalyKind, type ReceiptTypeSpec } from './registry.js';
import type { PreparedReceipt } from './normalize.js';
import { LEDGER_PRINCIPAL, type Receipt, type ReceiptContent } from './types.js';

export type AppendStatus = 'created' | 'duplicate' | 'not_discharged';

export interface AppendResult {
  status: AppendStatus;
  receipt: Receipt;
  /** The success_without_locatability anomaly raised by this append, if any. */
  anomaly?: Receipt;
}

export interface AppendContext {
  clock: Clock;
  newId: () => string;
  locatability: 'lenient' | 'strict';
}

/** What the append rules will look up for a prepared receipt (the store's prefetch hints take it). */
export function appendLookup(p: PreparedReceipt): AppendLookup {
  return { hash: p.hash, idempotency_key: p.content.idempotency_key, parents: p.content.parents, ...(p.fresh && { fresh: p.fresh }) };
}

/**
 * DESIGN §2 rules 2–5 for one prepared receipt, inside a write transaction. Every engine appends through here,
 * so the rules hold for receipts written by clients and by Quittance itself alike.
 *
 * Invariant: every coded (QuittanceError) refusal happens before the first write, so a refused append has
 * written nothing and needs no savepoint of its own. Anything thrown after the first write is a bug or an I/O
 * failure and aborts the whole enclosing write.
 */
export async function appendInTx(tx: Tx, prepared: PreparedReceipt, ctx: AppendContext): Promise<AppendResult> {
  const { content, hash, spec, texts } = prepared;
  const tenantId = content.tenant_id;

  const assumedNew = (await tx.prefetchForAppend?.(tenantId, appendLookup(prepared))) === 'assumed-new';
  const stored = await storedAnswer(tx, content, hash, spec.success);
  if (stored) return stored;
  let unlocatable: boolean;
  try {
    unlocatable = await checkParentsAndLocatability(tx, prepared, ctx);
  } catch (e) {
    // The store answered rule 2 without looking: a stored duplicate must still win over this refusal, as it does
    // when rule 2 looks (the same content, resent, answers what it answered the first time).
    if (assumedNew && isQuittanceError(e)) {
      const again = await storedAnswer(tx, content, hash, spec.success);
      if (again) return again;
    }
    throw e;
  }
  const isTerminator = spec.role === 'terminator';
  const discharges = isTerminator && !unlocatable;

  // Rule 5: chain, write, projections.
  const receipt = await chainAndInsert(tx, content, hash, texts, discharges, ctx);
  if (spec.role === 'obligation') await tx.openObligation(receipt);
  if (discharges) {
    for (const parentId of content.parents) await tx.closeObligation(tenantId, parentId, receipt.receipt_id, receipt.created_at);
  }
  if (!unlocatable) return { status: 'created', receipt };

  const anomaly = await appendAnomaly(tx, ctx, tenantId, 'success_without_locatability', locatabilityAnomaly(receipt));
  return { status: 'not_discharged', receipt, anomaly };
}

/** The success_without_locatability anomaly a success receipt without a locatable product raises. */
function locatabilityAnomaly(r: Receipt): AnomalyFields {
  return {
    to: r.from,
    parents: [r.receipt_id],
    body: {
      receipt_id: r.receipt_id,
      receipt_type: r.type,
      message: 'Success receipt has neither artifacts nor delivery_proof; its parent obligations stay open. Resend it with a locatable product.',
      open_parents: r.parents,
    },
    task_id: r.task_id,
  };
}

/** Rule 2: idempotency. Same content ⇒ same hash ⇒ the stored receipt, nothing new written. */
async function storedAnswer(tx: Tx, content: ReceiptContent, hash: string, success: boolean | undefined): Promise<AppendResult | undefined> {
  const tenantId = content.tenant_id;
  const same = await tx.receiptByHash(tenantId, hash);
  if (same && isUndischargedSuccess(same, success)) {
    // Answered as the first time: the receipt and the anomaly it raised (its content, hence its hash, follows).
    const a = anomalyContent(tenantId, 'success_without_locatability', locatabilityAnomaly(same));
    const anomaly = await tx.receiptByHash(tenantId, contentHash(a));
    return { status: 'not_discharged', receipt: same, ...(anomaly && { anomaly }) };
  }
  if (same) return { status: 'duplicate', receipt: same };
  if (content.idempotency_key !== undefined) {
    const byKey = await tx.receiptByIdempotencyKey(tenantId, content.idempotency_key);
    if (byKey) {
      throw new QuittanceError('QUITTANCE_ERR_IDEMPOTENCY_CONFLICT', [JSON.stringify(content.idempotency_key)], {
        details: { receipt_id: byKey.receipt_id },
      });
    }
  }
  return undefined;
}

/** Rules 3 and 4: parent linkage and locatability. Answers whether the receipt is a success without a locatable product. */
async function checkParentsAndLocatability(tx: Tx, prepared: PreparedReceipt, ctx: AppendContext): Promise<boolean> {
  const { content, spec } = prepared;
  const tenantId = content.tenant_id;
  // Rule 3: parent linkage. Principals need not match: different actors discharge obligations.
  const isTerminator = spec.role === 'terminator';
  if (isTerminator && content.parents.length === 0) {
    throw new QuittanceError('QUITTANCE_ERR_TERMINATOR_NEEDS_PARENT', [content.type]);
  }
  if (content.parents.length > 0) {
    const parents = await tx.receiptTypes(tenantId, content.parents);
    if (parents.length !== content.parents.length) {
      const found = new Set(parents.map((p) => p.receipt_id));
      const missing = content.parents.find((id) => !found.has(id));
      // Another tenant's id is reported exactly like a missing one: no existence leak.
      throw new QuittanceError('QUITTANCE_ERR_PARENT_NOT_FOUND', [missing], { details: { parent: missing } });
    }
    if (isTerminator) {
      for (const p of parents) {
        if (!canTerminate(content.type, p.type)) {
          const legal = legalTerminators(p.type);
          throw new QuittanceError('QUITTANCE_ERR_TERMINATOR_ILLEGAL', [
            content.type, p.receipt_id, p.type, legal.length ? legal.join(', ') : 'none, it is not an obligation',
          ]);
        }
        await assertClosableBy(tx, tenantId, p, prepared.writer);
      }
      const states = await tx.obligationStates(tenantId, content.parents);
      for (const s of states) {
        if (!s.open) {
          throw new QuittanceError('QUITTANCE_ERR_OBLIGATION_CLOSED', [s.receipt_id, s.closed_by], {
            details: { parent: s.receipt_id, closed_by: s.closed_by },
          });
        }
      }
    }
  }

  // Rule 4: locatability. A success without a locatable product closes nothing.
  const unlocatable = spec.success === true && content.artifacts === undefined && content.delivery_proof === undefined;
  if (unlocatable && ctx.locatability === 'strict') {
    throw new QuittanceError('QUITTANCE_ERR_LOCATABILITY_REQUIRED', [content.type]);
  }
  return unlocatable;
}

/**
 * An obligation an engine keeps a projection of is closed only by that engine: a lease, or the task.assigned of a
 * task queued through POST /v1/tasks. Closed by a client's receipt, the engine's rows would not follow (the task
 * stays claimable, the lease active), every later write of the engine under it would be refused as closed, and
 * the lease sweeper, meeting one such lease, failed its whole batch: no lease of any tenant expired any more.
 */
async function assertClosableBy(tx: Tx, tenantId: string, parent: ReceiptRef, writer: PreparedReceipt['writer']): Promise<void> {
  const keeper = await keeperOf(parent, writer, async () => {
    const [r] = await tx.receiptsByIds(tenantId, [parent.receipt_id]);
    return r?.task_id !== undefined ? tx.taskById(tenantId, r.task_id) : undefined;
  });
  if (keeper !== 'any' && keeper !== writer) {
    throw new QuittanceError('QUITTANCE_ERR_OBLIGATION_RESERVED', [parent.receipt_id, parent.type, keeper]);
  }
}

/**
 * Who may close `parent`: a receipt from anyone ('any'), or only the engine that keeps it. A task.assigned is the
 * tasks engine's when a task row holds it (it queued the task); one a client wrote is anyone's to close. `taskOf`
 * reads the task of the parent's task_id, asked only when that decides (never for `writer`'s own obligations).
 */
export async function keeperOf(
  parent: ReceiptRef, writer: PreparedReceipt['writer'], taskOf: () => Promise<TaskRow | undefined>,
): Promise<ReceiptTypeSpec['writer']> {
  const spec = receiptTypeSpec(parent.type);
  if (!spec) return 'any';
  if (spec.writer !== 'any') return spec.writer;
  if (spec.keptBy === undefined || spec.keptBy === writer) return 'any';
  return (await taskOf())?.assigned_receipt_id === parent.receipt_id ? spec.keptBy : 'any';
}

function isUndischargedSuccess(r: Receipt, success: boolean | undefined): boolean {
  return success === true && !r.discharges;
}

async function chainAndInsert(
  tx: Tx, content: ReceiptContent, hash: string, texts: ReceiptTexts, discharges: boolean, ctx: AppendContext,
): Promise<Receipt> {
  const head = await tx.chainHead(content.tenant_id);
  const seq = head.seq + 1;
  const receipt_id = ctx.newId();
  const created_at = isoTime(ctx.clock.now());
  const receipt: Receipt = {
    receipt_id,
    ...content,
    seq,
    created_at,
    hash,
    prev_hash: head.chain_hash,
    chain_hash: chainHash(head.chain_hash, receipt_id, seq, created_at, hash),
    discharges,
  };
  await tx.insertReceipt(receipt, texts);
  await tx.setChainHead(content.tenant_id, { seq, chain_hash: receipt.chain_hash });
  return receipt;
}

/** Appends a `system.anomaly` receipt from the ledger itself. Anomalies never discharge anything. */
export async function appendAnomaly(
  tx: Tx,
  ctx: AppendContext,
  tenantId: string,
  kind: AnomalyKind,
  fields: AnomalyFields,
): Promise<Receipt> {
  const content = anomalyContent(tenantId, kind, fields);
  const texts = receiptTexts(content);
  const hash = contentHash(content, texts);
  const same = await tx.receiptByHash(tenantId, hash);
  if (same) return same;
  return chainAndInsert(tx, content, hash, texts, false, ctx);
}

type AnomalyFields = { to?: ReceiptContent['to']; parents?: string[]; body?: Record<string, unknown>; task_id?: string | undefined; stamp_id?: string | undefined; lease_id?: string | undefined; session_id?: string | undefined };

function anomalyContent(tenantId: string, kind: AnomalyKind, fields: AnomalyFields): ReceiptContent {
  const content: ReceiptContent = {
    tenant_id: tenantId,
    type: 'system.anomaly',
    from: LEDGER_PRINCIPAL,
    to: fields.to ?? LEDGER_PRINCIPAL,
    parents: (fields.parents ?? []).slice().sort(),
    body: { kind, ...fields.body },
  };
  if (fields.task_id !== undefined) content.task_id = fields.task_id;
  if (fields.lease_id !== undefined) content.lease_id = fields.lease_id;
  if (fields.stamp_id !== undefined) content.stamp_id = fields.stamp_id;
  if (fields.session_id !== undefined) content.session_id = fields.session_id;
  return content;
}

/** Exposed for verification: the canonical text a stored receipt's hash covers. */
export function contentOf(r: Receipt): ReceiptContent {
  const c: ReceiptContent = { tenant_id: r.tenant_id, type: r.type, from: r.from, to: r.to, parents: r.parents, body: r.body };
  if (r.task_id !== undefined) c.task_id = r.task_id;
  if (r.lease_id !== undefined) c.lease_id = r.lease_id;
  if (r.stamp_id !== undefined) c.stamp_id = r.stamp_id;
  if (r.session_id !== undefined) c.session_id = r.session_id;
  if (r.artifacts !== undefined) c.artifacts = r.artifacts;
  if (r.delivery_proof !== undefined) c.delivery_proof = r.delivery_proof;
  if (r.idempotency_key !== undefined) c.idempotency_key = r.idempotency_key;
  return c;
}

