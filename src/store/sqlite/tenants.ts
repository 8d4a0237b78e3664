import type { Database } from 'better-sqlite3';
import { QuittanceError } from '../../errors.js';
import { API_KEY_COLUMNS, API_KEY_INFO_COLUMNS, LEDGER_TENANT_IDS_SQL, decodeScopes, type ApiKeyInfoRaw, type ApiKeyRowRaw } from '../codecs/tenants.js';
import type { ApiKeyInfo, ApiKeyRevocation, ApiKeyRow, TenantRow } from '../types.js';

/** Tenants and API keys. The writes run on the writer inside SqliteStore.write (see SqliteStore.createTenant). */
export class SqliteTenants {
  constructor(private readonly writer: Database, private readonly reader: Database) {}

  createTenant(row: TenantRow): void {
    try {
      this.writer.prepare('INSERT INTO tenants (tenant_id, name, created_at) VALUES (?, ?, ?)').run(row.tenant_id, row.name, row.created_at);
    } catch (e) {
      // Normalised at the store boundary: the same coded error on every backend.
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new QuittanceError('QUITTANCE_ERR_TENANT_EXISTS', [JSON.stringify(row.name)], { cause: e });
      throw e;
    }
  }

  tenantByName(name: string): TenantRow | undefined {
    return this.reader.prepare('SELECT tenant_id, name, created_at FROM tenants WHERE name = ?').get(name) as TenantRow | undefined;
  }

  tenantById(id: string): TenantRow | undefined {
    return this.reader.prepare('SELECT tenant_id, name, created_at FROM tenants WHERE tenant_id = ?').get(id) as TenantRow | undefined;
  }

  listTenants(): TenantRow[] {
    return this.reader.prepare('SELECT tenant_id, name, created_at FROM tenants ORDER BY created_at, name').all() as TenantRow[];
  }

  ledgerTenantIds(): string[] {
    return (this.reader.prepare(LEDGER_TENANT_IDS_SQL).all() as { tenant_id: string }[]).map((r) => r.tenant_id);
  }

  createApiKey(row: ApiKeyRow): void {
    this.writer
      .prepare(`INSERT INTO api_keys (${API_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(row.key_id, row.tenant_id, row.secret_hash, row.scopes.join(','), row.label, row.created_at, row.revoked_at);
  }

  apiKeyById(keyId: string): ApiKeyRow | undefined {
    const raw = this.reader
      .prepare(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE key_id = ?`)
      .get(keyId) as ApiKeyRowRaw | undefined;
    return raw && decodeScopes(raw);
  }

  listApiKeys(tenantId: string): ApiKeyInfo[] {
    const raws = this.reader
      .prepare(`SELECT ${API_KEY_INFO_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY created_at, key_id`)
      .all(tenantId) as ApiKeyInfoRaw[];
    return raws.map(decodeScopes);
  }

  /** Runs inside a write transaction on the writer (see SqliteStore.revokeApiKey), so the read sees the update. */
  revokeApiKey(keyId: string, revokedAt: string, tenantId: string | undefined): ApiKeyRevocation | undefined {
    const onlyTenant = tenantId ?? null; // NULL: any tenant
    const changed = this.writer
      .prepare('UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND tenant_id = coalesce(?, tenant_id) AND revoked_at IS NULL')
      .run(revokedAt, keyId, onlyTenant).changes;
    const raw = this.writer
      .prepare(`SELECT ${API_KEY_INFO_COLUMNS} FROM api_keys WHERE key_id = ? AND tenant_id = coalesce(?, tenant_id)`)
      .get(keyId, onlyTenant) as ApiKeyInfoRaw | undefined;
    return raw && { key: decodeScopes(raw), revokedNow: changed === 1 };
  }
}
