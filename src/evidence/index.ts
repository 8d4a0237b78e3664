/** The evidence store (DESIGN §1, §8): content-addressed blobs, verified on read, visible per tenant. */
export { Evidence, type PutResult } from './evidence.js';
export { EVIDENCE_DIGEST_RE, normalizeDigest, sha256Digest } from './digest.js';
export type { BlobStore, EvidenceRow, StoredBlob } from './types.js';
