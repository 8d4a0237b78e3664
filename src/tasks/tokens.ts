/**
 * Lease tokens: the credential a claim answers for each lease it grants, which every lease-bound write presents. Only
 * their sha256 hashes are kept (as for API keys), so a token is shown once, in the answer that minted it.
 */
import { timingSafeEqual } from 'node:crypto';
import { randomToken } from '../ids.js';
import { sha256Hex } from '../ledger/hashing.js';
import type { LeaseRow } from './types.js';

/** A lease keeps the tokens of at most this many resends of its claim (the newest), beside its first token. */
const RESENT_TOKENS_MAX = 16;

/** A new lease token and the hash the lease keeps of it. */
export function mintToken(): { token: string; hash: string } {
  const token = randomToken(24);
  return { token, hash: sha256Hex(token) };
}

/**
 * A new token for a lease its claim, sent again, answers once more: added to the lease's tokens (the row is the
 * caller's to write). The earlier ones keep working: the answer the worker waits for is not always the last one
 * written (a resend can be written before the original it repeats, held up on its way).
 */
export function addResentToken(lease: LeaseRow): string {
  const { token, hash } = mintToken();
  lease.resent_token_hashes = [...tokenHashes(lease).slice(1), hash].slice(-RESENT_TOKENS_MAX).join(' ');
  return token;
}

/** The hashes of every token the lease's claim answered: the first answer's, then its resends' (oldest first). */
function tokenHashes(lease: LeaseRow): string[] {
  return [lease.token_hash, ...(lease.resent_token_hashes ? lease.resent_token_hashes.split(' ') : [])];
}

/** Whether `token` is one of the lease's tokens (compared in constant time, each of them). */
export function tokenMatches(lease: LeaseRow, token: string): boolean {
  const b = Buffer.from(sha256Hex(token), 'hex');
  let match = false;
  for (const hash of tokenHashes(lease)) {
    const a = Buffer.from(hash, 'hex');
    if (a.length === b.length && timingSafeEqual(a, b)) match = true;
  }
  return match;
}
