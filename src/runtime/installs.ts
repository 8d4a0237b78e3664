import { QuittanceError } from '../errors.js';
import { isoTime, type Clock } from '../clock.js';
import { createUuidV7 } from '../ids.js';
import { assertValidDocument } from '../contracts/validate.js';
import type { RuntimeInstallReceipt } from '../contracts/types.js';
import { canonicalize } from '../ledger/canonical.js';
import type { Ledger } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Principal, type Receipt, type ReceiptInput } from '../ledger/types.js';
import type { Evidence } from '../evidence/evidence.js';
import { sha256Digest } from '../evidence/digest.js';
import type { StoredBlob } from '../evidence/types.js';
import type { Tx } from '../store/types.js';
import { runtimeInstallDocument, type InstallStep } from './document.js';
import type { InstallState, RuntimeInstallRow } from './types.js';

/** A step to record: the step's facts plus the full manifest, which goes to the evidence store. */
export interface InstallReport extends InstallStep {
  manifest: unknown;
}

export interface RecordedInstall {
  /** True when this repeated the chain's head (same manifest digest and state): nothing was written. */
  unchanged: boolean;
  install_id: string;
  manifest: StoredBlob;
  /** The runtime.install receipt of this step (for an unchanged repeat, the head's). */
  receipt: Receipt;
  document: RuntimeInstallReceipt;
}

export interface InstallChain {
  install_id: string;
  runtime_ref: string;
  target_ref: string;
  install_state: InstallState;
  manifest_digest: string;
  /** Receipts in the chain; `receipts` holds the newest of them, up to the page size, oldest first. */
  links: number;
  receipts: Receipt[];
}

/** What a runtime.install receipt's body holds. */
export interface RuntimeInstallBody {
  install_id: string;
  document: RuntimeInstallReceipt;
}

function documentOf(r: Receipt): RuntimeInstallReceipt {
  return (r.body as unknown as RuntimeInstallBody).document;
}

/** Does a step repeat the chain's head? Then it says nothing new. */
function repeats(head: RuntimeInstallRow, manifestDigest: string, state: string): boolean {
  return head.manifest_digest === manifestDigest && head.install_state === state;
}

/**
 * Most UTF-8 bytes of runtimeRef and of targetRef. The pair names the chain and is indexed, with the tenant, as one
 * key, which PostgreSQL holds only up to 2704 bytes: two refs of 1024 characters (the route's bound, which counts
 * characters) of 4 bytes each were an index error there, a 500, while SQLite recorded them. 1024 bytes each fit.
 */
export const INSTALL_REF_MAX_BYTES = 1024;

function assertRefBytes(field: 'runtimeRef' | 'targetRef', value: string): void {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > INSTALL_REF_MAX_BYTES) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [
      `body/${field} takes ${bytes} bytes as UTF-8, over the ${INSTALL_REF_MAX_BYTES} it may take (with the other ref it keys the install's chain)`,
    ]);
  }
}

/**
 * Runtime install receipts (DESIGN §8). Each runtime on a target has one chain: every change of state appends a
 * runtime.install receipt whose parent is the previous step's, carrying a valid RuntimeInstallReceipt that
 * points at the full manifest by digest. The manifest itself goes to the evidence store, never into a receipt
 * or a log. Repeating the head (same runtime, target, manifest digest and state) writes nothing and answers it.
 */
export class RuntimeInstalls {
  private readonly newId: () => string;

  constructor(private readonly ledger: Ledger, private readonly evidence: Evidence, private readonly clock: Clock) {
    this.newId = createUuidV7(clock);
  }

  async record(tenantId: string, by: Principal, report: InstallReport): Promise<RecordedInstall> {
    const { manifest, ...step } = report;
    assertRefBytes('runtimeRef', step.runtimeRef);
    assertRefBytes('targetRef', step.targetRef);
    // Canonical JSON: the same manifest sent with other key order or spacing has the same digest.
    const bytes = Buffer.from(canonicalize(manifest), 'utf8');
    if (bytes.length > this.evidence.maxBytes) throw new QuittanceError('QUITTANCE_ERR_EVIDENCE_TOO_LARGE', [this.evidence.maxBytes]);
    const blob: StoredBlob = { digest: sha256Digest(bytes), size_bytes: bytes.length };
    const store = this.ledger.store;

    const head = await store.runtimeInstalls.runtimeInstallByTarget(tenantId, step.runtimeRef, step.targetRef);
    const repeat = head !== undefined && repeats(head, blob.digest, step.installState) ? head : undefined;
    // Invalid steps are refused before anything is stored, and before a repeat is recognised: a step the contract
    // refuses (no artifacts, an unknown platform) is not the step that was recorded, so it is a 422, never a 200.
    // A repeat is checked as the step it repeats: started when the head started, unless it says otherwise.
    this.document(repeat ? { ...step, startedAt: step.startedAt ?? repeat.started_at } : step, head, head?.install_id ?? 'pending', blob.digest);
    // An identical repeat is answered from a read: no write, no file, no transaction.
    if (repeat) return this.unchanged(repeat, blob, await store.receipt(tenantId, repeat.head_receipt_id));

    // The receipt this step appends is checked (shape and size: a body over the limit is a 413) before the manifest
    // is stored: a refused step leaves no bytes behind in the blob store, which is shared by every tenant and never
    // swept. Only a head that moved in between (a concurrent step) can make the receipt differ from this one.
    const newId = head?.install_id ?? this.newId();
    this.ledger.prepare(tenantId, this.receiptInput(by, step, head, newId, blob).input, { writer: 'runtime' });
    await this.evidence.storeBlob(bytes);
    return store.write(async (tx) => {
      // The head may have moved since it was read: decide again, under the write.
      const current = await tx.runtimeInstallByTarget(tenantId, step.runtimeRef, step.targetRef);
      if (current !== undefined && repeats(current, blob.digest, step.installState)) {
        return this.unchanged(current, blob, (await tx.receiptsByIds(tenantId, [current.head_receipt_id]))[0]);
      }
      return this.append(tx, tenantId, by, step, current, current?.install_id ?? newId, blob);
    });
  }

  /** The install's chain of receipts, oldest first (at most a page of the newest), with the head's facts. */
  async chain(tenantId: string, installId: string): Promise<InstallChain> {
    const store = this.ledger.store;
    const head = await store.runtimeInstalls.runtimeInstall(tenantId, installId);
    if (!head) throw new QuittanceError('QUITTANCE_ERR_RUNTIME_INSTALL_NOT_FOUND', [installId]);
    const receipts: Receipt[] = [];
    const max = this.ledger.config.obligations.pageSizeMax;
    let next: string | undefined = head.head_receipt_id;
    // Each step's only parent is the step before it: walk back from the head.
    while (next !== undefined && receipts.length < max) {
      const r = await store.receipt(tenantId, next);
      if (!r) break;
      receipts.push(r);
      next = r.parents[0];
    }
    return {
      install_id: head.install_id,
      runtime_ref: head.runtime_ref,
      target_ref: head.target_ref,
      install_state: head.install_state,
      manifest_digest: head.manifest_digest,
      links: head.links,
      receipts: receipts.reverse(),
    };
  }

  private document(step: InstallStep, previous: RuntimeInstallRow | undefined, installId: string, manifestDigest: string): RuntimeInstallReceipt {
    const doc = runtimeInstallDocument(step, {
      installId,
      link: (previous?.links ?? 0) + 1,
      now: isoTime(this.clock.now()),
      manifestDigest,
      previous,
    });
    return assertValidDocument(doc, { schema: 'RuntimeInstallReceipt' });
  }

  /** The runtime.install receipt a step appends after `previous` (the chain's head, if any), with its document. */
  private receiptInput(
    by: Principal, step: InstallStep, previous: RuntimeInstallRow | undefined, installId: string, blob: StoredBlob,
  ): { document: RuntimeInstallReceipt; input: ReceiptInput } {
    const document = this.document(step, previous, installId, blob.digest);
    const body: RuntimeInstallBody = { install_id: installId, document };
    return {
      document,
      input: {
        type: 'runtime.install',
        from: by,
        to: LEDGER_PRINCIPAL,
        parents: previous ? [previous.head_receipt_id] : [],
        body: body as unknown as Record<string, unknown>,
        // The receipt points at its evidence: the manifest, in the evidence store.
        artifacts: [{ kind: 'blob', uri: blob.digest, digest: blob.digest, size_bytes: blob.size_bytes, role: 'manifest' }],
      },
    };
  }

  private async append(
    tx: Tx, tenantId: string, by: Principal, step: InstallStep, previous: RuntimeInstallRow | undefined, installId: string, blob: StoredBlob,
  ): Promise<RecordedInstall> {
    const { document, input } = this.receiptInput(by, step, previous, installId, blob);
    await tx.recordEvidence(this.evidence.row(tenantId, blob, 'application/json'));
    const { receipt } = await this.ledger.appendInTx(tx, tenantId, input, { writer: 'runtime' });
    await tx.putRuntimeInstall({
      tenant_id: tenantId,
      install_id: installId,
      runtime_ref: step.runtimeRef,
      target_ref: step.targetRef,
      head_receipt_id: receipt.receipt_id,
      head_document_id: document.id,
      install_state: document.installState,
      manifest_digest: blob.digest,
      started_at: document.startedAt,
      links: (previous?.links ?? 0) + 1,
      updated_at: receipt.created_at,
    });
    return { unchanged: false, install_id: installId, manifest: blob, receipt, document };
  }

  private unchanged(head: RuntimeInstallRow, blob: StoredBlob, receipt: Receipt | undefined): RecordedInstall {
    if (!receipt) throw new Error(`runtime install ${head.install_id} names head receipt ${head.head_receipt_id}, which does not exist`);
    return { unchanged: true, install_id: head.install_id, manifest: blob, receipt, document: documentOf(receipt) };
  }
}
