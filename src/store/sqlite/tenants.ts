import type { Database } from 'better-sqlite3';
import { QuittanceError } from '../../errors.js';
import type { ApiKeyRow, TenantRow } from '../types.js';

interface KeyRowRaw extends Omit<ApiKeyRow, 'scopes'> {
  scopes: string;
}

/** Tenants and API keys. Writes go straight to the writer connection: rare, administrative, autocommitted. */
export class SqliteTenants {
  constructor(private readonly writer: Database, private readonly reader: Database) {}

  createTenant(row: TenantRow): void {
    try {
      this.writer.prepare('INSERT INTO tenants (tenant_id, name, created_at) VALUES (?, ?, ?)').run(row.tenant_id, row.name, row.created_at);
    } catch (e) {
      // Normalised at the store boundary: the same coded error on every backend.
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new QuittanceError('QUITTANCE_ERR_TENANT_EXISTS', [row.name], { cause: e });
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

  createApiKey(row: ApiKeyRow): void {
    this.writer
      .prepare('INSERT INTO api_keys (key_id, tenant_id, secret_hash, scopes, label, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(row.key_id, row.tenant_id, row.secret_hash, row.scopes.join(','), row.label, row.created_at, row.revoked_at);
  }

  apiKeyById(keyId: string): ApiKeyRow | undefined {
    const raw = this.reader
      .prepare('SELECT key_id, tenant_id, secret_hash, scopes, label, created_at, revoked_at FROM api_keys WHERE key_id = ?')
      .get(keyId) as KeyRowRaw | undefined;
    return raw && { ...raw, scopes: raw.scopes.split(',').filter(Boolean) };
  }
}
