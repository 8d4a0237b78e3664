import type { Pool, QueryResultRow } from 'pg';
import { assertStorable, readableParams } from './batch.js';
import { QuittanceError } from '../../errors.js';
import { GENESIS_HASH } from '../../ledger/types.js';
import type { ApiKeyRow, TenantRow } from '../types.js';

interface KeyRowRaw extends Omit<ApiKeyRow, 'scopes'> {
  scopes: string;
}

/** Tenants and API keys: rare, administrative, each one autocommitted statement through the pool. */
export class PgTenants {
  constructor(private readonly pool: Pool) {}

  async createTenant(row: TenantRow): Promise<void> {
    assertStorable([row.tenant_id, row.name, row.created_at]);
    try {
      // The tenant and its chain head in one statement: appends then always find a head row to lock.
      await this.pool.query(
        `WITH t AS (INSERT INTO tenants (tenant_id, name, created_at) VALUES ($1, $2, $3) RETURNING tenant_id)
         INSERT INTO chain_heads (tenant_id, seq, chain_hash) SELECT tenant_id, 0, $4 FROM t ON CONFLICT (tenant_id) DO NOTHING`,
        [row.tenant_id, row.name, row.created_at, GENESIS_HASH],
      );
    } catch (e) {
      // Normalised at the store boundary: the same coded error on every backend.
      const err = e as { code?: string; constraint?: string };
      if (err.code === '23505' && err.constraint === 'tenants_name_key') throw new QuittanceError('QUITTANCE_ERR_TENANT_EXISTS', [row.name], { cause: e });
      throw e;
    }
  }

  async tenantByName(name: string): Promise<TenantRow | undefined> {
    return (await this.rows<TenantRow>('t_by_name', 'SELECT tenant_id, name, created_at FROM tenants WHERE name = $1', [name]))[0];
  }

  async tenantById(id: string): Promise<TenantRow | undefined> {
    return (await this.rows<TenantRow>('t_by_id', 'SELECT tenant_id, name, created_at FROM tenants WHERE tenant_id = $1', [id]))[0];
  }

  async listTenants(): Promise<TenantRow[]> {
    return (await this.pool.query<TenantRow>('SELECT tenant_id, name, created_at FROM tenants ORDER BY created_at, name')).rows;
  }

  async createApiKey(row: ApiKeyRow): Promise<void> {
    assertStorable([row.key_id, row.tenant_id, row.secret_hash, row.scopes.join(','), row.label, row.created_at, row.revoked_at]);
    await this.pool.query(
      'INSERT INTO api_keys (key_id, tenant_id, secret_hash, scopes, label, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [row.key_id, row.tenant_id, row.secret_hash, row.scopes.join(','), row.label, row.created_at, row.revoked_at],
    );
  }

  async apiKeyById(keyId: string): Promise<ApiKeyRow | undefined> {
    const raw = (await this.rows<KeyRowRaw>(
      't_key_by_id', 'SELECT key_id, tenant_id, secret_hash, scopes, label, created_at, revoked_at FROM api_keys WHERE key_id = $1', [keyId],
    ))[0];
    return raw && { ...raw, scopes: raw.scopes.split(',').filter(Boolean) };
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
