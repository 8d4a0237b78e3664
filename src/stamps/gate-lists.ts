/**
 * The status lists a StampGate holds, and which one it may take next.
 *
 * Several servers behind one load balancer build lists on their own clocks, so a list fetched later may carry an
 * earlier `iat_ms` (its server's clock is behind) or may even have been built earlier (a server serves its cached
 * list for up to statusListCacheMs). Two rules keep that safe and live:
 *
 * - A list is taken unless its `iat_ms` is more than `maxSkewMs` before the newest one held that is still usable
 *   (an old list replayed or served again would otherwise reopen stamps). Once the held lists are stale, any list
 *   that verifies is taken: a server clock stepped back (NTP) stops the gate for at most `maxStalenessMs`.
 * - Closing a stamp and rotating its credential cannot be undone, so what a held list says about them stays true:
 *   a list whose `iat_ms` is within `maxSkewMs` of the new one (it may have been built after it) is kept beside it,
 *   and a token is denied when any kept list denies it. A list built `maxSkewMs` after another knows all it knew.
 *
 * Ages are on the gate's monotonic clock; an age below zero (that clock went back) is unknown, so treated as stale.
 */
import type { StatusBits, StatusListPayload } from './status-list.js';
import type { StampClaims } from './token.js';

export interface LoadedList {
  payload: StatusListPayload;
  bits: StatusBits;
  /** The list's compact JWS, to tell the same list served again. */
  jws: string;
  /** On the monotonic clock, as is usableUntil. */
  fetchedAt: number;
  /** After this the list must not be used: fetch time + the list's own exp − iat. */
  usableUntil: number;
}

/** What the held lists say of a token: denied (and why), or not known closed; `after_list` when the newest has not seen it. */
export type ListVerdict = { denied: 'expired' | 'closed' | 'superseded_generation' } | { denied?: undefined; afterList: boolean };

export class GateLists {
  /** Newest fetched first. */
  private lists: LoadedList[] = [];

  constructor(private readonly maxStalenessMs: number, private readonly maxSkewMs: number) {}

  /** The list fetched last, fresh or not (it names the gate's tenant). */
  get newest(): LoadedList | undefined {
    return this.lists[0];
  }

  /** How long ago `at` was on the monotonic clock `now`; Infinity when that clock has gone back since. */
  static age(now: number, at: number): number {
    return now >= at ? now - at : Infinity;
  }

  /** The newest list if it may be used now. */
  usable(now: number): LoadedList | undefined {
    const l = this.lists[0];
    return l && this.isUsable(l, now) ? l : undefined;
  }

  /** Takes a verified list fetched at `list.fetchedAt`; false when it is refused as older than what is held. */
  take(list: LoadedList, now: number): boolean {
    const sameTenant = this.lists.filter((l) => l.payload.sub === list.payload.sub);
    const newestIat = Math.max(-Infinity, ...sameTenant.filter((l) => this.isUsable(l, now)).map((l) => l.payload.iat_ms));
    if (list.payload.iat_ms < newestIat - this.maxSkewMs) return false;
    const kept = sameTenant.filter((l) => l.jws !== list.jws && l.payload.iat_ms > list.payload.iat_ms - this.maxSkewMs
      && GateLists.age(now, l.fetchedAt) <= this.maxStalenessMs);
    this.lists = [list, ...kept];
    return true;
  }

  /** Judges a token of the lists' tenant by every list held (see the file's comment). */
  judge(claims: StampClaims): ListVerdict {
    let afterList = false;
    for (const [i, l] of this.lists.entries()) {
      // The list leaves out stamps whose TTL had passed on the ledger's clock when it was built, closed ones too: a
      // token that expired by then is judged on that clock, or a gate whose clock is behind would read the slot of a
      // revoked stamp as open for as long as it is behind.
      if (claims.exp * 1000 <= l.payload.iat_ms) return { denied: 'expired' };
      const slot = l.bits.slot(claims.status.idx);
      if (slot === 'closed') return { denied: 'closed' };
      if (slot === 'before_list') return { denied: 'expired' };
      const current = l.payload.generations[claims.stamp_id];
      if (current !== undefined && current > claims.gen) return { denied: 'superseded_generation' };
      if (i === 0) afterList = slot === 'after_list';
    }
    return { afterList };
  }

  private isUsable(l: LoadedList, now: number): boolean {
    return GateLists.age(now, l.fetchedAt) <= this.maxStalenessMs && now <= l.usableUntil;
  }
}
