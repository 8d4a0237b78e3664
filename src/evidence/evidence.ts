import { QuittanceError } from '../errors.js';
import { isoTime } from '../clock.js';
import { appendAnomaly } from '../ledger/append.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Store } from '../store/types.js';
import { normalizeDigest, sha256Digest } from './digest.js';
import type { EvidenceRow, StoredBlob } from './types.js';

export interface PutResult extends StoredBlob {
  /** False when the tenant already held these bytes: nothing new was recorded. */
  created: boolean;
}

/** Longest content type kept with a blob; a longer header is not a content type anyone relies on. */
const CONTENT_TYPE_MAX_CHARS = 255;

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * The evidence store: bytes in, `sha256:<hex>` out, deduplicated; bytes back only after they are verified against
 * their digest. Which tenant may see which blob is a row in the store; the bytes sit in the store's blob store,
 * shared by every tenant that put the same bytes. Another tenant's digest is missing, exactly like an unknown one.
 */
export class Evidence {
  private readonly store: Store;

  /** The ledger is where a blob that fails verification is reported (an `evidence_corrupt` anomaly). */
  constructor(private readonly ledger: Ledger) {
    this.store = ledger.store;
  }

  get maxBytes(): number {
    return this.ledger.config.evidence.blobMaxBytes;
  }

  /** Stores bytes for a tenant. Durable (bytes and row) before it resolves. */
  async put(tenantId: string, source: AsyncIterable<Uint8Array> | Uint8Array, contentType: string | null): Promise<PutResult> {
    const blob = await this.storeBlob(source);
    const created = await this.store.write((tx) => tx.recordEvidence(this.row(tenantId, blob, contentType)));
    return { ...blob, created };
  }

  /**
   * Only the bytes, not the tenant's row: for engines that record the row inside their own write transaction
   * (see RuntimeInstalls), so a receipt and the evidence it points at become visible together.
   */
  storeBlob(source: AsyncIterable<Uint8Array> | Uint8Array): Promise<StoredBlob> {
    return this.store.blobs.put(source instanceof Uint8Array ? once(source) : source, this.maxBytes);
  }

  row(tenantId: string, blob: StoredBlob, contentType: string | null): EvidenceRow {
    const type = contentType?.trim().slice(0, CONTENT_TYPE_MAX_CHARS) || null;
    return { tenant_id: tenantId, digest: blob.digest, size_bytes: blob.size_bytes, content_type: type, created_at: isoTime(this.ledger.clock.now()) };
  }

  /** The tenant's record of a blob, without its bytes. */
  async describe(tenantId: string, digest: string): Promise<EvidenceRow> {
    const d = normalizeDigest(digest);
    const row = await this.store.evidence.evidenceRow(tenantId, d);
    if (!row) throw new QuittanceError('QUITTANCE_ERR_EVIDENCE_NOT_FOUND', [d]);
    return row;
  }

  /**
   * The bytes of a blob the tenant holds, verified: size and digest are checked against what was put, and a blob
   * that fails either (or has vanished) is refused with QUITTANCE_ERR_EVIDENCE_CORRUPT; wrong bytes never leave.
   * Each failure also leaves an `evidence_corrupt` anomaly in the tenant's ledger before the refusal is answered.
   */
  async get(tenantId: string, digest: string): Promise<{ row: EvidenceRow; bytes: Buffer }> {
    const row = await this.describe(tenantId, digest);
    const bytes = await this.store.blobs.read(row.digest);
    if (bytes === undefined) return this.refuse(tenantId, row, undefined, 'the stored bytes are missing');
    if (bytes.length !== row.size_bytes) return this.refuse(tenantId, row, bytes, `${bytes.length} bytes stored, ${row.size_bytes} put`);
    if (sha256Digest(bytes) !== row.digest) return this.refuse(tenantId, row, bytes, 'digest mismatch');
    return { row, bytes };
  }

  /**
   * Records the failed verification as a `system.anomaly` (kind `evidence_corrupt`), then throws the coded error.
   * The anomaly's content holds no time or request detail, only the damage: reading the same damaged blob again
   * hashes to the stored anomaly and appends nothing (DESIGN §2 rule 2), so there is one anomaly per damage, not
   * one per read. A failure to record it does not change the answer: it travels as the error's cause (and is
   * logged with it).
   */
  private async refuse(tenantId: string, row: EvidenceRow, bytes: Buffer | undefined, reason: string): Promise<never> {
    let cause: unknown;
    try {
      await this.store.write((tx) => appendAnomaly(tx, this.ledger.ctx, tenantId, 'evidence_corrupt', {
        body: {
          evidence_digest: row.digest,
          expected_digest: row.digest,
          actual_digest: bytes === undefined ? null : sha256Digest(bytes),
          expected_size_bytes: row.size_bytes,
          actual_size_bytes: bytes === undefined ? null : bytes.length,
          reason,
          message: 'The stored bytes of this evidence are not the bytes that were put; reads of it are refused. Put the original bytes again to repair the copy, and find out what damaged it.',
        },
      }));
    } catch (e) {
      cause = e;
    }
    throw new QuittanceError('QUITTANCE_ERR_EVIDENCE_CORRUPT', [row.digest, reason], cause === undefined ? undefined : { cause });
  }
}
