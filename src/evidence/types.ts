/** Evidence (DESIGN §1): content-addressed blobs kept by the ledger. Receipts point at evidence; they never contain it. */

/** A blob as the blob store holds it: its digest and size. */
export interface StoredBlob {
  /** `sha256:<64 lower-case hex>` of the bytes. */
  digest: string;
  size_bytes: number;
}

/** One tenant's record of holding a blob: what makes the blob visible to that tenant. */
export interface EvidenceRow extends StoredBlob {
  tenant_id: string;
  /** The content type the tenant's first put sent, or null. */
  content_type: string | null;
  created_at: string;
}

/**
 * The bytes of evidence, addressed by digest and shared by every tenant that put the same bytes (which tenant may
 * see them is a row of the store, not the blob store's concern). The SQLite store keeps files under its data
 * folder; a store without a filesystem of its own (PostgreSQL) keeps them in a table.
 */
export interface BlobStore {
  /**
   * Reads `source` to its end, computing the digest as the bytes pass, and stores the bytes durably under it.
   * Putting bytes that are already there rewrites them in place (which also repairs a damaged copy). Past
   * `maxBytes` it stops reading, keeps nothing and throws QUITTANCE_ERR_EVIDENCE_TOO_LARGE.
   */
  put(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StoredBlob>;
  /** The bytes stored under `digest` exactly as found, unverified (the caller verifies); undefined when there are none. */
  read(digest: string): Promise<Buffer | undefined>;
}
