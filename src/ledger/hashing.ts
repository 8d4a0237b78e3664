import { createHash } from 'node:crypto';
import { canonicalize } from './canonical.js';
import type { ReceiptContent } from './types.js';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 over the JCS form of the content fields; receipt_id, seq, created_at and the chain fields are not in it. */
export function contentHash(content: ReceiptContent): string {
  return sha256Hex(canonicalize(content));
}

/**
 * The chain link: sha256(prev_hash ‖ receipt_id ‖ seq ‖ created_at ‖ hash), plain concatenation of the ASCII
 * forms. Unambiguous without separators because every part but seq has a fixed length (64, 36, 24, 64 chars)
 * and seq is decimal between two fixed-length fields.
 */
export function chainHash(prevHash: string, receiptId: string, seq: number, createdAt: string, hash: string): string {
  return sha256Hex(prevHash + receiptId + String(seq) + createdAt + hash);
}
