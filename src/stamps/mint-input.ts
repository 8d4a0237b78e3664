/** What a mint is checked for before anything is written: the TTL's bounds, task_ref, scope tokens and subject. */
import type { QuittanceConfig } from '../config.js';
import { QuittanceError } from '../errors.js';
import { PRINCIPAL_KINDS } from '../ledger/types.js';
import { characterCount } from '../text.js';
import type { MintInput } from './types.js';

/** Longest task_ref, in characters (code points) as the route's JSON Schema maxLength counts them. */
const TASK_REF_CHARACTERS_MAX = 256;

/** Scope tokens as RFC 6749 §3.3 allows them: printable ASCII without space, quote or backslash. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

export function checkMint(input: MintInput, c: Readonly<QuittanceConfig['stamps']>): void {
  if (!Number.isInteger(input.ttl_seconds) || input.ttl_seconds < c.ttlSecondsMin || input.ttl_seconds > c.ttlSecondsMax) {
    throw new QuittanceError('QUITTANCE_ERR_STAMP_TTL', [input.ttl_seconds, c.ttlSecondsMin, c.ttlSecondsMax]);
  }
  if (typeof input.task_ref !== 'string' || input.task_ref.length === 0 || characterCount(input.task_ref) > TASK_REF_CHARACTERS_MAX) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', ['task_ref must be a string of 1 to 256 characters']);
  }
  if (!Array.isArray(input.scope) || input.scope.length > c.scopeEntriesMax || !input.scope.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`scope must be at most ${c.scopeEntriesMax} scope tokens (printable ASCII, no spaces, quotes or backslashes)`]);
  }
  if (!input.subject || !PRINCIPAL_KINDS.includes(input.subject.kind) || typeof input.subject.id !== 'string' || input.subject.id.length === 0) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', ['subject must be a principal {kind, id}']);
  }
}
