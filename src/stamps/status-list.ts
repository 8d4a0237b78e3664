/**
 * The signed status list (GET /v1/stamps/status): what an offline verifier needs, besides the JWKS, to see that a
 * stamp was closed or its credential rotated — without asking the ledger per token.
 *
 * Format (a compact JWS, header `{alg: EdDSA, kid, typ: "statuslist+jwt"}`, signed by the same keys as stamps):
 *
 *   {
 *     "iss": "quittance",
 *     "sub": "<tenant_id>",          the list covers this tenant's stamps only
 *     "iat": 1772366400,             seconds, as in any JWT
 *     "iat_ms": 1772366400123,       the build time in milliseconds, for freshness checks finer than a second
 *     "exp": 1772366410,             a verifier must not use the list after this (fail closed)
 *     "ttl": 1,                      seconds a verifier may keep it before fetching a new one
 *     "status_list": {
 *       "bits": 1,                   one bit per slot: 1 = closed (tombstoned or ambiguous), 0 = not closed
 *       "base": 120,                 index of the first slot
 *       "size": 4096,                number of slots
 *       "lst": "eNrt..."             base64url of the zlib-DEFLATE-compressed bytes
 *     },
 *     "generations": {"<stamp_id>": 3}   current generation of active stamps that were rotated
 *   }
 *
 * A stamp token carries `status.idx`, its slot. Slot i is bit (i − base) mod 8, least significant first, of byte
 * ⌊(i − base) / 8⌋ (the bit order of the IETF OAuth Token Status List draft). The list covers every stamp of the
 * tenant whose TTL has not passed. A verifier decides:
 * - the token's exp (in ms) not after iat_ms: its TTL had passed when the list was built, so the list no longer
 *   says whether it was closed → inactive (judged on the ledger's clock: a verifier's own clock may be behind);
 * - idx < base: the stamp's TTL has passed → inactive;
 * - idx ≥ base + size: minted after the list was built → not known to be closed (the list is at most a second old);
 * - bit set → closed → inactive;
 * - `generations[stamp_id]` greater than the token's `gen` → superseded by a rotation → inactive.
 * Slots of other receipts (the index is the seq of the stamp's `stamp.minted` receipt) are 0 and compress away.
 */
import { promisify } from 'node:util';
import { deflate, deflateSync, inflate, inflateSync } from 'node:zlib';
import type { LiveStampStatus } from './types.js';

export interface StatusListBits {
  bits: 1;
  base: number;
  size: number;
  lst: string;
}

export interface StatusListPayload {
  iss: string;
  sub: string;
  iat: number;
  iat_ms: number;
  exp: number;
  ttl: number;
  status_list: StatusListBits;
  generations: Record<string, number>;
}

export const STATUS_LIST_TYP = 'statuslist+jwt';

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);

/** The bit array and the rotated generations for a tenant's live stamps. Pure. */
export function buildStatusBits(live: readonly LiveStampStatus[]): { status_list: StatusListBits; generations: Record<string, number> } {
  const { base, size, bytes, generations } = statusBytes(live);
  return { status_list: { bits: 1, base, size, lst: deflateSync(bytes).toString('base64url') }, generations };
}

/**
 * The same, compressed on libuv's thread pool. The array spans the seqs between a tenant's oldest and newest live
 * stamp, not just its stamps: one long-lived stamp under a busy ledger (a 30-day TTL over 100M receipts) makes it
 * 12.5 MB, ~90 ms of deflate that would otherwise hold every request of the server at each rebuild of the list.
 */
export async function buildStatusBitsAsync(live: readonly LiveStampStatus[]): Promise<{ status_list: StatusListBits; generations: Record<string, number> }> {
  const { base, size, bytes, generations } = statusBytes(live);
  const lst = (await deflateAsync(bytes)).toString('base64url');
  return { status_list: { bits: 1, base, size, lst }, generations };
}

function statusBytes(live: readonly LiveStampStatus[]): { base: number; size: number; bytes: Buffer; generations: Record<string, number> } {
  let base = Infinity;
  let max = -1;
  for (const s of live) {
    if (s.status_idx < base) base = s.status_idx;
    if (s.status_idx > max) max = s.status_idx;
  }
  if (max < 0) base = 0;
  const size = max < 0 ? 0 : max - base + 1;
  const bytes = Buffer.alloc(Math.ceil(size / 8));
  const generations: Record<string, number> = {};
  for (const s of live) {
    if (s.state !== 'active') {
      const p = s.status_idx - base;
      bytes[p >> 3]! |= 1 << (p & 7);
    } else if (s.generation > 1) {
      generations[s.stamp_id] = s.generation;
    }
  }
  return { base, size, bytes, generations };
}

export type SlotStatus = 'closed' | 'open' | 'before_list' | 'after_list';

/** Decompresses a status list once, for many lookups. */
export class StatusBits {
  private readonly bytes: Buffer;

  /** Unpacks on the calling thread: for small lists. A verifier's event loop unpacks with `StatusBits.unpack`. */
  constructor(list: StatusListBits);
  constructor(list: StatusListBits, bytes: Buffer);
  constructor(private readonly list: StatusListBits, bytes?: Buffer) {
    const want = checkedLength(list);
    // maxOutputLength: a hostile list cannot inflate into more memory than its declared size.
    this.bytes = bytes ?? (want === 0 ? Buffer.alloc(0) : inflateSync(Buffer.from(list.lst, 'base64url'), { maxOutputLength: want }));
    if (this.bytes.length !== want) throw new Error('status list size does not match its bits');
  }

  /**
   * The same, unpacked on libuv's thread pool: a list spanning 100M seqs is 12.5 MB of bits, 12-95 ms of inflate
   * that would otherwise hold every check of the gate that loads it.
   */
  static async unpack(list: StatusListBits): Promise<StatusBits> {
    const want = checkedLength(list);
    const bytes = want === 0 ? Buffer.alloc(0) : await inflateAsync(Buffer.from(list.lst, 'base64url'), { maxOutputLength: want });
    return new StatusBits(list, bytes);
  }

  slot(idx: number): SlotStatus {
    if (idx < this.list.base) return 'before_list';
    const p = idx - this.list.base;
    if (p >= this.list.size) return 'after_list';
    return (this.bytes[p >> 3]! >> (p & 7)) & 1 ? 'closed' : 'open';
  }
}

/** The byte length a list's declared size takes; throws for a list this reader does not support. */
function checkedLength(list: StatusListBits): number {
  if (list.bits !== 1 || !Number.isSafeInteger(list.base) || !Number.isSafeInteger(list.size) || list.size < 0 || typeof list.lst !== 'string') {
    throw new Error('unsupported status list');
  }
  return Math.ceil(list.size / 8);
}
