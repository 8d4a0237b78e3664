/**
 * Introspection of stamp tokens (RFC 7662 shape): how a token is judged, and what is remembered between requests
 * to judge it fast (cache.ts says for how long). The stamps engine owns the writes; this owns the reads of a gate's
 * hot path, which must not wait for anything it already knows.
 */
import type { StampReads } from '../store/types.js';
import { StampStates, VerifiedTokens, type StampSnapshot, type VerifiedToken } from './cache.js';
import { decodeJws, verifyJws } from './jws.js';
import type { KeyRing } from './keys.js';
import { readClaims, type StampClaims } from './token.js';
import type { StampState } from './types.js';

/** Why a token is not active. Only reasons about the caller's own, validly signed stamps are ever shown. */
export type InactiveReason =
  | 'invalid_token' | 'unknown_key' | 'unknown_stamp'
  | 'tombstoned' | 'ambiguous' | 'expired' | 'superseded_generation' | 'unknown_generation';

/** RFC 7662-shaped answer. Inactive answers about tokens that are not the caller's own valid stamps are exactly {active: false}. */
export type Introspection =
  | ({ active: true; token_type: 'stamp'; state: 'active' } & StampClaims & { event_receipt_id?: string })
  | { active: false; stamp_id?: string; state?: StampState; outcome?: string; inactive_reason?: InactiveReason; event_receipt_id?: string };

/** Every inactive answer about a token that is not the caller's own valid stamp. */
const INACTIVE_TEXT = JSON.stringify({ active: false });

export interface Verdict {
  active: boolean;
  reason?: InactiveReason;
  state: StampState;
}

/** What a token's signature check found: its claims, or why it has none (and the stamp it names, if it says). */
export interface CheckedToken {
  claims?: StampClaims;
  verified?: VerifiedToken;
  claimedStampId?: string;
  reason?: InactiveReason;
}

/** TTL passed with no tombstone is ambiguous, whether or not the sweep has written it down yet. */
export function effectiveState(s: { state: StampState; expires_ms: number }, nowMs: number): StampState {
  return s.state === 'active' && nowMs >= s.expires_ms ? 'ambiguous' : s.state;
}

export function judge(claims: StampClaims, s: Pick<StampSnapshot, 'state' | 'generation' | 'expires_ms'>, nowMs: number): Verdict {
  const state = effectiveState(s, nowMs);
  if (s.state === 'tombstoned') return { active: false, reason: 'tombstoned', state };
  if (s.state === 'ambiguous') return { active: false, reason: 'ambiguous', state };
  if (state !== 'active') return { active: false, reason: 'expired', state };
  if (claims.gen < s.generation) return { active: false, reason: 'superseded_generation', state };
  if (claims.gen > s.generation) return { active: false, reason: 'unknown_generation', state };
  if (claims.exp * 1000 <= nowMs) return { active: false, reason: 'expired', state };
  return { active: true, state };
}

export function answer(claims: StampClaims, s: Pick<StampSnapshot, 'outcome'>, v: Verdict): Introspection {
  if (v.active) return { active: true, token_type: 'stamp', state: 'active', ...claims };
  const a: Introspection = { active: false, stamp_id: claims.stamp_id, state: v.state };
  if (s.outcome !== null) a.outcome = s.outcome;
  if (v.reason !== undefined) a.inactive_reason = v.reason;
  return a;
}

export class Introspector {
  private readonly tokens: VerifiedTokens;
  private readonly states: StampStates;

  constructor(
    private readonly keyRing: KeyRing,
    private readonly reads: Pick<StampReads, 'stampStatus'>,
    private readonly now: () => number,
    cache: { entriesMax: number; stateMs: number; monotonic: () => number },
  ) {
    this.tokens = new VerifiedTokens(cache.entriesMax);
    this.states = new StampStates(cache.entriesMax, cache.stateMs, cache.monotonic);
  }

  /** Introspection without recording: the caller's own validly signed token, judged by its stamp's state. */
  async introspect(tenantId: string, token: string): Promise<Introspection> {
    const j = await this.judgeToken(tenantId, token);
    return j ? answer(j.own.claims, j.snap, j.verdict) : { active: false };
  }

  /**
   * introspect() as the JSON text of the answer (what the HTTP route sends). The text of an active answer is kept
   * with the verified token: it depends only on the claims, so repeated checks of a live token skip building and
   * serialising it. Whether it is the answer is still decided per call by the stamp's state.
   *
   * The hot path of every gate (a token verified before, its stamp's state known and fresh) answers synchronously:
   * no promise, no microtask. Anything else takes judgeToken's path, which may verify or read the store.
   */
  introspectText(tenantId: string, token: string): string | Promise<string> {
    const own = this.tokens.get(token);
    if (own !== undefined && own.claims.tenant === tenantId) {
      const snap = this.states.usable(own.stateKey, own.claims.gen);
      if (snap) return this.answerText(own, snap, judge(own.claims, snap, this.now()));
    }
    return this.judgeToken(tenantId, token).then((j) => (j ? this.answerText(j.own, j.snap, j.verdict) : INACTIVE_TEXT));
  }

  /** Signature check, remembered per token: an Ed25519 verification costs more than the rest of a request. */
  async checkToken(token: string): Promise<CheckedToken> {
    const hit = this.tokens.get(token);
    if (hit) return { claims: hit.claims, verified: hit };
    const decoded = decodeJws(token);
    if (!decoded) return { reason: 'invalid_token' };
    const claimed = typeof decoded.payload['stamp_id'] === 'string' ? (decoded.payload['stamp_id'] as string).slice(0, 128) : undefined;
    const partial = claimed === undefined ? {} : { claimedStampId: claimed };
    const key = await this.keyRing.publicKey(decoded.header.kid);
    if (!key) return { ...partial, reason: 'unknown_key' };
    if (!verifyJws(decoded, key)) return { ...partial, reason: 'invalid_token' };
    const claims = readClaims(decoded.payload);
    if (!claims) return { ...partial, reason: 'invalid_token' };
    return { claims, verified: this.tokens.set(token, claims) };
  }

  /** A token the ledger itself just signed: no need to verify it when it comes back. */
  signed(token: string, claims: StampClaims): void {
    this.tokens.set(token, claims);
  }

  /** Called inside the transaction that changes the stamp: see StampStates.changing. */
  changing(tenantId: string, stampId: string, expect: { state: StampState; generation: number }): void {
    this.states.changing(StampStates.key(tenantId, stampId), expect);
  }

  private answerText(own: VerifiedToken, snap: StampSnapshot, verdict: Verdict): string {
    if (verdict.active) return (own.activeText ??= JSON.stringify(answer(own.claims, snap, verdict)));
    return JSON.stringify(answer(own.claims, snap, verdict));
  }

  /** The caller's own validly signed token, judged by the stamp's state; undefined answers exactly {active: false}. */
  private async judgeToken(tenantId: string, token: string): Promise<{ own: VerifiedToken; snap: StampSnapshot; verdict: Verdict } | undefined> {
    const own = (await this.checkToken(token)).verified;
    if (own === undefined || own.claims.tenant !== tenantId) return undefined;
    let snap = this.states.usable(own.stateKey, own.claims.gen);
    if (!snap) {
      const status = await this.reads.stampStatus(tenantId, own.claims.stamp_id);
      if (!status) return undefined;
      snap = this.states.observe(own.stateKey, status);
    }
    return { own, snap, verdict: judge(own.claims, snap, this.now()) };
  }
}
