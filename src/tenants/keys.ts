import { createHash, timingSafeEqual } from 'node:crypto';
import { QuittanceError } from '../errors.js';
import { isoTime, type Clock } from '../clock.js';
import { randomToken } from '../ids.js';
import { Bounded } from '../bounded.js';
import { quotedOneLine } from '../text.js';
import type { ApiKeyInfo, ApiKeyRevocation, ApiKeyRow, Store, TenantRow } from '../store/types.js';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Caller {
  tenant_id: string;
  key_id: string;
  scopes: readonly Scope[];
}

/** API keys look like `qk_<key_id>.<secret>`; only sha256(secret) is stored. Secrets carry 192 bits of entropy. */
const KEY_RE = /^qk_([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{32})$/;

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function parseScopes(text: string | readonly string[]): Scope[] {
  const list = typeof text === 'string' ? text.split(',').map((s) => s.trim()).filter(Boolean) : [...text];
  for (const s of list) if (!(SCOPES as readonly string[]).includes(s)) throw new QuittanceError('QUITTANCE_ERR_INVALID_SCOPE', [JSON.stringify(s)]);
  return Array.from(new Set(list)) as Scope[];
}

/**
 * Control characters (C0, DEL, C1: a newline, a bell, a terminal escape) and the Unicode line and paragraph
 * separators: none belongs in a name or label that is printed on one line of a listing or a message.
 */
const CONTROL_OR_LINE_BREAK = /[\p{Cc}\u2028\u2029]/u;

/**
 * A new tenant's name: not empty, and no whitespace at either end, which no listing shows and no one types back
 * (`tenant create " acme"` made a tenant apart from "acme"), and no control character or line break (an "a\nb"
 * tenant printed as two lines, "\u001b[2J" cleared the terminal of whoever listed it). Names stored before this
 * rule are still found as they are.
 */
export function checkTenantName(name: string): void {
  if (name === '' || name.trim() !== name || CONTROL_OR_LINE_BREAK.test(name)) throw new QuittanceError('QUITTANCE_ERR_INVALID_TENANT_NAME', [quotedOneLine(name)]);
}

/** A new API key's label: free text, but one line of it (see CONTROL_OR_LINE_BREAK). */
export function checkKeyLabel(label: string | null): void {
  if (label !== null && CONTROL_OR_LINE_BREAK.test(label)) throw new QuittanceError('QUITTANCE_ERR_INVALID_KEY_LABEL', [quotedOneLine(label)]);
}

/** `admin` may do anything; otherwise the key must hold the scope. */
export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.includes('admin') || caller.scopes.includes(scope);
}

/**
 * Most verified keys the authentication fast path remembers. Each entry is one key in use; past this many the
 * oldest is dropped and simply verified again (a store read and a hash) the next time it is presented.
 */
const VERIFIED_KEYS_MAX = 1024;

/**
 * A fresh key id: 16 base64url characters that never start with '-', so the id `quittance key list` shows can be
 * given to `quittance key revoke` as it is (a leading '-' reads as an option; older ids like that need `--` first).
 */
function newKeyId(): string {
  for (;;) {
    const id = randomToken(12);
    if (!id.startsWith('-')) return id;
  }
}

export class Tenants {
  private readonly cache = new Map<string, { caller: Caller; secretHash: Buffer; until: number }>();
  /**
   * Keys presented in full and verified, so a request with one skips the parse, the SHA-256 and the comparison.
   * Filled only after the secret matched the stored hash, so a wrong secret never finds an entry here (a lookup by
   * the whole string cannot match a different string), and an entry lives no longer than the by-id entry it was
   * verified against: revoking a key takes effect within apiKeyCacheMs either way.
   */
  private readonly verified = new Bounded<{ caller: Caller; until: number }>(VERIFIED_KEYS_MAX);

  /**
   * `monotonic`: what cache ages are measured on. A clock that never steps, so that a wall clock set back (NTP)
   * cannot keep a revoked key working for as long as the step; the ledger `clock` only dates what is stored.
   */
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly cacheMs = 1000,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  async createTenant(name: string): Promise<TenantRow> {
    checkTenantName(name);
    const row: TenantRow = { tenant_id: `tnt_${randomToken(12)}`, name, created_at: isoTime(this.clock.now()) };
    await this.store.createTenant(row);
    return row;
  }

  async tenantByName(name: string): Promise<TenantRow> {
    const t = await this.store.tenantByName(name);
    if (!t) throw new QuittanceError('QUITTANCE_ERR_TENANT_NOT_FOUND', [quotedOneLine(name)]);
    return t;
  }

  /**
   * Creates a tenant and its first key in one transaction, and returns the key in full. Two writes instead, a start
   * that stopped between them left a tenant no key opens, and a second server starting on the same database beside
   * the first saw the tenant without a key and made one too: two "shown once" keys.
   */
  async createTenantWithKey(name: string, scopes: readonly Scope[], label: string | null = null): Promise<{ tenant: TenantRow; api_key: string; key_id: string }> {
    checkTenantName(name);
    const tenant: TenantRow = { tenant_id: `tnt_${randomToken(12)}`, name, created_at: isoTime(this.clock.now()) };
    const key = this.newKey(tenant.tenant_id, scopes, label);
    await this.store.createTenant(tenant, key.row);
    return { tenant, api_key: key.api_key, key_id: key.row.key_id };
  }

  /** Creates a key and returns it in full: the only time the secret is ever visible. */
  async createKey(tenantId: string, scopes: readonly Scope[], label: string | null = null): Promise<{ api_key: string; key_id: string }> {
    const key = this.newKey(tenantId, scopes, label);
    await this.store.createApiKey(key.row);
    return { api_key: key.api_key, key_id: key.row.key_id };
  }

  private newKey(tenantId: string, scopes: readonly Scope[], label: string | null): { row: ApiKeyRow; api_key: string } {
    checkKeyLabel(label);
    const keyId = newKeyId();
    const secret = randomToken(24);
    const row: ApiKeyRow = {
      key_id: keyId, tenant_id: tenantId, secret_hash: hashSecret(secret), scopes: [...scopes], label,
      created_at: isoTime(this.clock.now()), revoked_at: null,
    };
    return { row, api_key: `qk_${keyId}.${secret}` };
  }

  /** A tenant's keys, revoked ones included, oldest first. Never the secrets, nor their hashes. */
  listKeys(tenantId: string): Promise<ApiKeyInfo[]> {
    return this.store.listApiKeys(tenantId);
  }

  /**
   * Revokes a key now; revoking it again changes nothing (the first revoked_at stays, revokedNow false). With
   * `tenantId`, a key of another tenant is API_KEY_NOT_FOUND, as an unknown one is. Every server, this process's
   * included, refuses the key once its cached verification lapses (apiKeyCacheMs).
   */
  async revokeKey(keyId: string, tenantId?: string): Promise<ApiKeyRevocation> {
    const r = await this.store.revokeApiKey(keyId, isoTime(this.clock.now()), tenantId);
    if (!r) throw new QuittanceError('QUITTANCE_ERR_API_KEY_NOT_FOUND', [keyId]);
    return r;
  }

  /** The caller behind a bearer key, or undefined. Unknown keys are never cached, so a new key works at once. */
  async authenticate(apiKey: string): Promise<Caller | undefined> {
    const known = this.verifiedCaller(apiKey);
    return known !== undefined ? known : this.verify(apiKey);
  }

  /** The caller of a key verified within apiKeyCacheMs, without a store read, or undefined: call authenticate(). */
  verifiedCaller(apiKey: string): Caller | undefined {
    const hit = this.verified.get(apiKey);
    if (hit === undefined) return undefined;
    if (hit.until > this.monotonic()) return hit.caller;
    this.verified.delete(apiKey);
    return undefined;
  }

  private async verify(apiKey: string): Promise<Caller | undefined> {
    const m = KEY_RE.exec(apiKey);
    if (!m) return undefined;
    const keyId = m[1]!;
    const presented = Buffer.from(hashSecret(m[2]!), 'hex');
    const now = this.monotonic();
    let entry = this.cache.get(keyId);
    if (!entry || entry.until <= now) {
      const row = await this.store.apiKeyById(keyId);
      if (!row || row.revoked_at !== null) {
        this.cache.delete(keyId);
        return undefined;
      }
      const caller: Caller = Object.freeze({ tenant_id: row.tenant_id, key_id: row.key_id, scopes: Object.freeze(parseScopes(row.scopes)) });
      entry = { caller, secretHash: Buffer.from(row.secret_hash, 'hex'), until: now + this.cacheMs };
      this.cache.set(keyId, entry);
    }
    if (!timingSafeEqual(entry.secretHash, presented)) return undefined;
    this.rememberVerified(apiKey, entry.caller, entry.until);
    return entry.caller;
  }

  private rememberVerified(apiKey: string, caller: Caller, until: number): void {
    this.verified.delete(apiKey); // re-verified: newest again, last to be dropped
    this.verified.set(apiKey, { caller, until });
  }
}
