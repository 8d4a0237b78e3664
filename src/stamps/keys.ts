/**
 * The deployment's Ed25519 signing keys. Three roles: `next` is published in the JWKS before it signs anything (a
 * verifier that cached the JWKS already holds it when it takes over), `current` signs every new token, `retired`
 * signs nothing and stays published until the last stamp it signed has ended.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isoTime } from '../clock.js';
import type { StampReads, Tx } from '../store/types.js';
import { publicKeyFromJwk } from './jws.js';
import type { PublicJwk, SigningKeyRole, SigningKeyRow, VerificationKeyRow } from './types.js';

/** RFC 7638 JWK thumbprint of an Ed25519 public key: the kid. */
export function jwkThumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

export function generateSigningKey(role: SigningKeyRole, nowMs: number): SigningKeyRow {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  const kid = jwkThumbprint(x);
  return {
    kid,
    alg: 'EdDSA',
    public_jwk: { kty: 'OKP', crv: 'Ed25519', x },
    private_pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    role,
    created_at: isoTime(nowMs),
    retired_at: null,
    verify_until_ms: null,
  };
}

/** The JWKS entry of a key. */
export function publishedJwk(k: Pick<VerificationKeyRow, 'kid' | 'public_jwk'>): Required<PublicJwk> {
  return { kty: 'OKP', crv: 'Ed25519', x: k.public_jwk.x, kid: k.kid, alg: 'EdDSA', use: 'sig' };
}

/** Makes sure a current and a next key exist; safe when several servers start at once (the role index decides). */
export async function ensureSigningKeysInTx(tx: Tx, nowMs: number): Promise<SigningKeyRow> {
  let current = await tx.currentSigningKey();
  if (!current) {
    const fresh = generateSigningKey('current', nowMs);
    current = (await tx.insertSigningKey(fresh)) ? fresh : await tx.currentSigningKey();
    if (!current) throw new Error('no current signing key after inserting one');
  }
  if (!(await tx.nextSigningKey())) await tx.insertSigningKey(generateSigningKey('next', nowMs));
  return current;
}

export interface KeyRotation {
  retired_kid: string;
  /** Until then the retired key stays in the JWKS: the last expiry of an active stamp it signed. */
  retired_verify_until: string;
  current_kid: string;
  next_kid: string;
}

/**
 * `quittance keys rotate`: current → retired, next → current, a fresh next. One transaction, so every token minted
 * after it commits carries the new kid (mints read the current key inside their own write).
 */
export async function rotateSigningKeysInTx(tx: Tx, nowMs: number, minVerifyMs: number): Promise<KeyRotation> {
  const current = await ensureSigningKeysInTx(tx, nowMs);
  const next = (await tx.nextSigningKey())!;
  const lastExpiry = (await tx.lastActiveExpiry(current.kid)) ?? 0;
  // Status lists it signed must verify until they expire, too.
  const verifyUntil = Math.max(lastExpiry, nowMs + minVerifyMs);
  // Order matters for the role index: free `current` before promoting, free `next` before inserting.
  await tx.setSigningKeyRole(current.kid, 'retired', isoTime(nowMs), verifyUntil);
  await tx.setSigningKeyRole(next.kid, 'current', null, null);
  const fresh = generateSigningKey('next', nowMs);
  if (!(await tx.insertSigningKey(fresh))) throw new Error('a next signing key appeared during rotation');
  return { retired_kid: current.kid, retired_verify_until: isoTime(verifyUntil), current_kid: next.kid, next_kid: fresh.kid };
}

/**
 * In-process key material: private keys by kid (parsing PKCS#8 per mint would cost more than the signature) and
 * the public keys verification may use, reloaded from the store when an unknown kid shows up (rate-limited, so a
 * stream of made-up kids cannot turn into a stream of queries) and at least every `reloadMs`.
 */
export class KeyRing {
  private readonly privateKeys = new Map<string, KeyObject>();
  private publicKeys = new Map<string, { key: KeyObject; row: VerificationKeyRow }>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly reads: StampReads,
    private readonly now: () => number,
    private readonly monotonic: () => number,
    private readonly reloadMs: number,
    private readonly unknownKidReloadMs = 200,
  ) {}

  privateKey(row: SigningKeyRow): KeyObject {
    let k = this.privateKeys.get(row.kid);
    if (!k) {
      k = createPrivateKey({ key: Buffer.from(row.private_pkcs8, 'base64'), format: 'der', type: 'pkcs8' });
      this.privateKeys.set(row.kid, k);
    }
    return k;
  }

  /** The public key for `kid` if it may verify tokens now; undefined for an unknown or fully retired key. */
  async publicKey(kid: string): Promise<KeyObject | undefined> {
    const age = this.monotonic() - this.loadedAt;
    let hit = this.publicKeys.get(kid);
    if (age >= this.reloadMs || (!hit && age >= this.unknownKidReloadMs)) {
      await this.reload();
      hit = this.publicKeys.get(kid);
    }
    if (!hit) return undefined;
    const r = hit.row;
    return r.role !== 'retired' || (r.verify_until_ms !== null && r.verify_until_ms > this.now()) ? hit.key : undefined;
  }

  /** Forget the loaded set (after a rotation in this process). */
  invalidate(): void {
    this.loadedAt = -Infinity;
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const rows = await this.reads.verificationKeys(this.now());
        const next = new Map<string, { key: KeyObject; row: VerificationKeyRow }>();
        for (const row of rows) next.set(row.kid, { key: this.publicKeys.get(row.kid)?.key ?? publicKeyFromJwk(row.public_jwk), row });
        this.publicKeys = next;
        this.loadedAt = this.monotonic();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
