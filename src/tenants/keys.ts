import { createHash, timingSafeEqual } from 'node:crypto';
import { QuittanceError } from '../errors.js';
import { isoTime, type Clock } from '../clock.js';
import { randomToken } from '../ids.js';
import type { ApiKeyRow, Store, TenantRow } from '../store/types.js';

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

/** `admin` may do anything; otherwise the key must hold the scope. */
export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.includes('admin') || caller.scopes.includes(scope);
}

export class Tenants {
  private readonly cache = new Map<string, { caller: Caller; secretHash: Buffer; until: number }>();

  constructor(private readonly store: Store, private readonly clock: Clock, private readonly cacheMs = 1000) {}

  async createTenant(name: string): Promise<TenantRow> {
    const row: TenantRow = { tenant_id: `tnt_${randomToken(12)}`, name, created_at: isoTime(this.clock.now()) };
    await this.store.createTenant(row);
    return row;
  }

  async tenantByName(name: string): Promise<TenantRow> {
    const t = await this.store.tenantByName(name);
    if (!t) throw new QuittanceError('QUITTANCE_ERR_TENANT_NOT_FOUND', [name]);
    return t;
  }

  /** Creates a key and returns it in full: the only time the secret is ever visible. */
  async createKey(tenantId: string, scopes: readonly Scope[], label: string | null = null): Promise<{ api_key: string; key_id: string }> {
    const keyId = randomToken(12);
    const secret = randomToken(24);
    const row: ApiKeyRow = {
      key_id: keyId, tenant_id: tenantId, secret_hash: hashSecret(secret), scopes: [...scopes], label,
      created_at: isoTime(this.clock.now()), revoked_at: null,
    };
    await this.store.createApiKey(row);
    return { api_key: `qk_${keyId}.${secret}`, key_id: keyId };
  }

  /** The caller behind a bearer key, or undefined. Unknown keys are never cached, so a new key works at once. */
  async authenticate(apiKey: string): Promise<Caller | undefined> {
    const m = KEY_RE.exec(apiKey);
    if (!m) return undefined;
    const keyId = m[1]!;
    const presented = Buffer.from(hashSecret(m[2]!), 'hex');
    const now = this.clock.now();
    const hit = this.cache.get(keyId);
    if (hit && hit.until > now) return timingSafeEqual(hit.secretHash, presented) ? hit.caller : undefined;
    const row = await this.store.apiKeyById(keyId);
    if (!row || row.revoked_at !== null) {
      this.cache.delete(keyId);
      return undefined;
    }
    const stored = Buffer.from(row.secret_hash, 'hex');
    const caller: Caller = Object.freeze({ tenant_id: row.tenant_id, key_id: row.key_id, scopes: Object.freeze(parseScopes(row.scopes)) });
    this.cache.set(keyId, { caller, secretHash: stored, until: now + this.cacheMs });
    return timingSafeEqual(stored, presented) ? caller : undefined;
  }
}
