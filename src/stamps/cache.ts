/**
 * What introspection may remember between requests, and for how long.
 *
 * - Verified tokens: an Ed25519 signature over the same bytes verifies forever, so a verified token's claims are
 *   kept (bounded, oldest evicted first). Tokens that fail are not remembered: they cannot crowd out good ones.
 * - Stamp states: a snapshot is trusted for `freshMs`, then re-read. That bound is how late a tombstone or
 *   rotation committed by ANOTHER server is seen here. Changes made by THIS process are seen at once: the writer
 *   marks the stamp "pending" inside its transaction, and until the store shows the change (or the pending mark
 *   runs out, if that transaction rolled back), every check of that stamp reads the store, which switches
 *   atomically at COMMIT. So there is no instant at which this process calls two generations active.
 * - Snapshots only move forward: a read that raced a newer one (PostgreSQL reads can complete out of order) never
 *   reopens a closed stamp or brings back an older generation.
 */
import type { StampState, StampStatus, TombstoneOutcome } from './types.js';
import type { StampClaims } from './token.js';
import { Bounded } from '../bounded.js';

export interface StampSnapshot {
  state: StampState;
  generation: number;
  expires_ms: number;
  outcome: TombstoneOutcome | null;
  minted_receipt_id: string;
  fetchedAt: number;
}

/** Where a state stands in a stamp's life: it only moves forward. */
const RANK: Record<StampState, number> = { active: 0, ambiguous: 1, tombstoned: 2 };

/** Whether a stamp's state and generation `n` show the change `e` (or a later one). */
export function notBehind(n: { state: StampState; generation: number }, e: { state: StampState; generation: number }): boolean {
  const rn = RANK[n.state];
  const re = RANK[e.state];
  return rn > re || (rn === re && n.generation >= e.generation);
}

export function snapshotOf(row: StampStatus, fetchedAt: number): StampSnapshot {
  return { state: row.state, generation: row.generation, expires_ms: row.expires_ms, outcome: row.outcome, minted_receipt_id: row.minted_receipt_id, fetchedAt };
}

/**
 * A token whose signature verified, and the JSON text of its active introspection answer once one was given: that
 * text depends on the claims alone (the state check decides only whether it is the answer), so it is built once.
 * `stateKey` is its stamp's StampStates key, built once too: the same string every time hashes once.
 */
export interface VerifiedToken {
  readonly claims: StampClaims;
  readonly stateKey: string;
  activeText?: string;
}

export class VerifiedTokens {
  private readonly m: Bounded<VerifiedToken>;
  constructor(max: number) {
    this.m = new Bounded(max);
  }
  get(token: string): VerifiedToken | undefined {
    return this.m.get(token);
  }
  set(token: string, claims: StampClaims): VerifiedToken {
    const v: VerifiedToken = { claims, stateKey: StampStates.key(claims.tenant, claims.stamp_id) };
    this.m.set(token, v);
    return v;
  }
}

interface Pending {
  /** The change this process's write makes: the store shows it once the state/generation is at least this. */
  expect: { state: StampState; generation: number };
  until: number;
}

export class StampStates {
  private readonly snapshots: Bounded<StampSnapshot>;
  private readonly pending = new Map<string, Pending>();

  constructor(
    max: number,
    private readonly freshMs: number,
    private readonly monotonic: () => number,
    /** Longer than any write transaction can stay uncommitted. */
    private readonly pendingMs = 10_000,
  ) {
    this.snapshots = new Bounded(max);
  }

  static key(tenantId: string, stampId: string): string {
    return `${tenantId}\u0000${stampId}`;
  }

  /** A snapshot good enough to judge a token of generation `gen`, or undefined: read the store. */
  usable(key: string, gen: number): StampSnapshot | undefined {
    if (this.pending.size > 0 && this.isPending(key)) return undefined;
    const s = this.snapshots.get(key);
    if (!s || this.monotonic() - s.fetchedAt >= this.freshMs) return undefined;
    // A token newer than what we know may come from a rotation we have not seen yet.
    if (gen > s.generation && s.state === 'active') return undefined;
    return s;
  }

  /** Records what the store said; returns the snapshot to judge by (never older than one already known). */
  observe(key: string, row: StampStatus): StampSnapshot {
    const n = snapshotOf(row, this.monotonic());
    const p = this.pending.get(key);
    if (p) {
      if (!notBehind(n, p.expect)) return n; // our write is not committed (yet): the store is the truth
      this.pending.delete(key);
    }
    const e = this.snapshots.get(key);
    if (e && !notBehind(n, e)) {
      e.fetchedAt = n.fetchedAt;
      return e;
    }
    this.snapshots.set(key, n);
    return n;
  }

  /** Called inside the transaction that changes the stamp: trust only the store for it until the change shows. */
  changing(key: string, expect: { state: StampState; generation: number }): void {
    const now = this.monotonic();
    // Entries are kept in the order they were set (delete + set), so the ones that ran out are at the front.
    for (const [k, p] of this.pending) {
      if (p.until > now) break;
      this.pending.delete(k);
    }
    this.pending.delete(key);
    this.pending.set(key, { expect, until: now + this.pendingMs });
    this.snapshots.delete(key);
  }

  private isPending(key: string): boolean {
    const p = this.pending.get(key);
    if (!p) return false;
    if (this.monotonic() >= p.until) {
      this.pending.delete(key);
      return false;
    }
    return true;
  }
}
