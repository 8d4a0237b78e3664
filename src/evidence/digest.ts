import { createHash } from 'node:crypto';
import { QuittanceError } from '../errors.js';

/** How evidence is addressed: `sha256:` and 64 hex digits. Lower case is the stored form. */
export const EVIDENCE_DIGEST_RE = /^sha256:[0-9a-fA-F]{64}$/;

export function sha256Digest(bytes: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

/** The stored (lower-case) form of a digest a caller wrote; a coded 400 for anything that is not one. */
export function normalizeDigest(digest: string): string {
  if (!EVIDENCE_DIGEST_RE.test(digest)) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`evidence digest ${JSON.stringify(digest)} must be sha256:<64 hex>`]);
  }
  return digest.toLowerCase();
}
