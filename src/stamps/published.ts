/**
 * What offline verifiers read from Quittance: the JWKS and each tenant's signed status list (status-list.ts), built
 * from the store and kept for a short while. A change this process makes to a tenant's stamps (`changing`, inside
 * its write) rebuilds that tenant's list at the next request, and no list is kept that does not show it yet (built
 * before the write committed), so the first request after the commit sees it; other servers' changes show within
 * `statusListCacheMs`.
 */
import type { QuittanceConfig } from '../config.js';
import type { Store } from '../store/types.js';
import { signJws } from './jws.js';
import { ensureSigningKeysInTx, publishedJwk, rotateSigningKeysInTx, type KeyRing, type KeyRotation } from './keys.js';
import { STATUS_LIST_TYP, buildStatusBitsAsync, type StatusListPayload } from './status-list.js';
import { notBehind } from './cache.js';
import type { LiveStampStatus, PublicJwk, SigningKeyRow, StampState } from './types.js';

/** Longer than any write transaction can stay uncommitted (as StampStates' pending marks). */
const PENDING_MS = 10_000;

export class Published {
  private readonly statusLists = new Map<string, { jws: string; builtAt: number; version: number }>();
  private readonly statusVersions = new Map<string, number>();
  /** The build in flight per tenant, and the version of the tenant's stamps it started at. */
  private readonly building = new Map<string, { version: number; jws: Promise<string> }>();
  /** Per tenant, the changes of this process's writes that a list must show to be kept: stamp id → state, until. */
  private readonly pending = new Map<string, Map<string, { expect: { state: StampState; generation: number }; until: number }>>();
  private jwksCache: { body: { keys: Required<PublicJwk>[] }; builtAt: number } | undefined;
  private listSigner: { row: SigningKeyRow; at: number } | undefined;

  constructor(
    private readonly store: Store,
    private readonly keyRing: KeyRing,
    private readonly config: QuittanceConfig['stamps'],
    private readonly now: () => number,
    private readonly monotonic: () => number,
  ) {}

  /** Creates the first signing keys if there are none (every server may call this at start). */
  async ensureKeys(): Promise<void> {
    await this.store.write((tx) => ensureSigningKeysInTx(tx, this.now()));
  }

  /** `quittance keys rotate`: new tokens use the next key at once; the old one verifies until its stamps end. */
  async rotateSigningKeys(): Promise<KeyRotation> {
    // A retired key must also outlive every status list it signed and every cached copy of itself.
    const minVerifyMs = this.config.statusListTtlSeconds * 1000 + 2 * this.config.jwksCacheMs;
    const r = await this.store.write((tx) => rotateSigningKeysInTx(tx, this.now(), minVerifyMs));
    this.keyRing.invalidate();
    this.jwksCache = undefined;
    this.listSigner = undefined;
    return r;
  }

  /** The public JWKS: next, current and still-needed retired keys. */
  async jwks(): Promise<{ keys: Required<PublicJwk>[] }> {
    const c = this.jwksCache;
    if (c && this.monotonic() - c.builtAt < this.config.jwksCacheMs) return c.body;
    const builtAt = this.monotonic();
    let rows = await this.store.stamps.verificationKeys(this.now());
    if (rows.length === 0) {
      await this.ensureKeys();
      rows = await this.store.stamps.verificationKeys(this.now());
    }
    const body = { keys: rows.map(publishedJwk) };
    this.jwksCache = { body, builtAt };
    return body;
  }

  /**
   * The tenant's signed status list, rebuilt at most every statusListCacheMs and after this process's changes.
   * Requests that come while a build is in flight share it (one store read, one deflate), unless this process has
   * changed the tenant's stamps since it started: those get a build of their own.
   */
  async statusList(tenantId: string): Promise<string> {
    const version = this.statusVersions.get(tenantId) ?? 0;
    const hit = this.statusLists.get(tenantId);
    if (hit && hit.version === version && this.monotonic() - hit.builtAt < this.config.statusListCacheMs) return hit.jws;
    const inFlight = this.building.get(tenantId);
    if (inFlight && inFlight.version === version) return inFlight.jws;
    const build = { version, jws: this.buildStatusList(tenantId, version) };
    this.building.set(tenantId, build);
    try {
      return await build.jws;
    } finally {
      if (this.building.get(tenantId) === build) this.building.delete(tenantId);
    }
  }

  private async buildStatusList(tenantId: string, version: number): Promise<string> {
    const builtAt = this.monotonic();
    const now = this.now();
    const signer = await this.statusListSigner();
    const live = await this.store.stamps.liveStamps(tenantId, now);
    const showsChanges = this.showsPending(tenantId, live);
    const { status_list, generations } = await buildStatusBitsAsync(live);
    const iat = Math.floor(now / 1000);
    const payload: StatusListPayload = {
      iss: this.config.issuer, sub: tenantId, iat, iat_ms: now, exp: iat + this.config.statusListTtlSeconds, ttl: 1, status_list, generations,
    };
    const jws = signJws({ alg: 'EdDSA', kid: signer.kid, typ: STATUS_LIST_TYP }, payload as unknown as Record<string, unknown>, this.keyRing.privateKey(signer));
    if (showsChanges && (this.statusVersions.get(tenantId) ?? 0) === version) this.statusLists.set(tenantId, { jws, builtAt, version });
    return jws;
  }

  /** A stamp of the tenant changed (or is changing): its next status list is built anew. */
  changed(tenantId: string): void {
    this.statusVersions.set(tenantId, (this.statusVersions.get(tenantId) ?? 0) + 1);
  }

  /**
   * Called inside the write that changes the stamp: its next list is built anew, and a list built before that write
   * commits (it does not show the change yet) is served but not kept.
   */
  changing(tenantId: string, stampId: string, expect: { state: StampState; generation: number }): void {
    this.changed(tenantId);
    const now = this.monotonic();
    let p = this.pending.get(tenantId);
    if (!p) this.pending.set(tenantId, (p = new Map()));
    // Kept in the order they were set (delete + set): those that ran out are at the front. A tenant whose list
    // nobody asks for keeps no more than its last PENDING_MS of changes.
    for (const [k, e] of p) {
      if (e.until > now) break;
      p.delete(k);
    }
    p.delete(stampId);
    p.set(stampId, { expect, until: now + PENDING_MS });
  }

  /** Whether `live` shows every change pending for the tenant; drops those it shows, and those that ran out. */
  private showsPending(tenantId: string, live: readonly LiveStampStatus[]): boolean {
    const p = this.pending.get(tenantId);
    if (!p) return true;
    const byId = new Map(live.map((s) => [s.stamp_id, s]));
    const now = this.monotonic();
    for (const [stampId, { expect, until }] of p) {
      const s = byId.get(stampId);
      // Not in the list (its TTL has passed): nothing to show. A write that rolled back shows nothing, ever.
      if (!s || notBehind(s, expect) || now >= until) p.delete(stampId);
    }
    if (p.size > 0) return false;
    this.pending.delete(tenantId);
    return true;
  }

  private async statusListSigner(): Promise<SigningKeyRow> {
    const s = this.listSigner;
    if (s && this.monotonic() - s.at < this.config.jwksCacheMs) return s.row;
    const row = await this.store.write((tx) => ensureSigningKeysInTx(tx, this.now()));
    this.listSigner = { row, at: this.monotonic() };
    return row;
  }
}
