import type { Pool, QueryResultRow } from 'pg';
import { assertStorable, readableParams } from './values.js';
import { QuittanceError } from '../../errors.js';
import { GENESIS_HASH } from '../../ledger/types.js';
import { API_KEY_COLUMNS, API_KEY_INFO_COLUMNS, LEDGER_TENANT_IDS_SQL, decodeScopes, type ApiKeyInfoRaw, type ApiKeyRowRaw } from '../codecs/tenants.js';
import type { ApiKeyInfo, ApiKeyRevocation, ApiKeyRow, TenantRow } from '../types.js';

/** Tenants and API keys: rare, administrative, each one autocommitted statement through the pool. */
export class PgTenants {
  constructor(private readonly pool: Pool) {}

  async createTenant(row: TenantRow, firstKey?: ApiKeyRow): Promise<void> {
    assertStorable([row.tenant_id, row.name, row.created_at]);
    if (firstKey) assertStorable(apiKeyValues(firstKey));
    try {
      // The tenant, its chain head (appends then always find a head row to lock) and its first key, if any, in one
      // statement: one transaction, so no other server sees the tenant without the key.
      await this.pool.query(
        `WITH t AS (INSERT INTO tenants (tenant_id, name, created_at) VALUES ($1, $2, $3) RETURNING tenant_id)${firstKey ? `,
         k AS (INSERT INTO api_keys (${API_KEY_COLUMNS}) SELECT $5, tenant_id, $6, $7, $8, $9, $10 FROM t)` : ''}
         INSERT INTO chain_heads (tenant_id, seq, chain_hash) SELECT tenant_id, 0, $4 FROM t ON CONFLICT (tenant_id) DO NOTHING`,
        [row.tenant_id, row.name, row.created_at, GENESIS_HASH, ...(firstKey ? apiKeyValues(firstKey).filter((_, i) => i !== 1) : [])],
      );
    } catch (e) {
      // Normalised at the store boundary: the same coded error on every backend.
      const err = e as { code?: string; constraint?: string };
      if (err.code === '23505' && err.constraint === 'tenants_name_key') throw new QuittanceError('QUITTANCE_ERR_TENANT_EXISTS', [JSON.stringify(row.name)], { cause: e });
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

  async ledgerTenantIds(): Promise<string[]> {
    return (await this.pool.query<{ tenant_id: string }>(LEDGER_TENANT_IDS_SQL)).rows.map((r) => r.tenant_id);
  }

  async createApiKey(row: ApiKeyRow): Promise<void> {
    const values = apiKeyValues(row);
    assertStorable(values);
    await this.pool.query(`INSERT INTO api_keys (${API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, values);
  }

  async apiKeyById(keyId: string): Promise<ApiKeyRow | undefined> {
    const raw = (await this.rows<ApiKeyRowRaw>(
      't_key_by_id', `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE key_id = $1`, [keyId],
    ))[0];
    return raw && decodeScopes(raw);
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyInfo[]> {
    // key_id COLLATE "C": byte order for the tie-break, as SQLite compares.
    const raws = await this.rows<ApiKeyInfoRaw>(
      't_keys_of_tenant', `SELECT ${API_KEY_INFO_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, key_id COLLATE "C"`, [tenantId],
    );
    return raws.map(decodeScopes);
  }

  /**
   * One autocommitted UPDATE (durable when it answers). When it changes nothing the key is absent or already
   * revoked; the SELECT after it is a new statement, so it sees a revocation that a concurrent revoke committed.
   */
  async revokeApiKey(keyId: string, revokedAt: string, tenantId: string | undefined): Promise<ApiKeyRevocation | undefined> {
    const onlyTenant = tenantId ?? null; // NULL: any tenant
    const revoked = (await this.rows<ApiKeyInfoRaw>(
      't_key_revoke',
      `UPDATE api_keys SET revoked_at = $3 WHERE key_id = $1 AND tenant_id = coalesce($2, tenant_id) AND revoked_at IS NULL
       RETURNING ${API_KEY_INFO_COLUMNS}`,
      [keyId, onlyTenant, revokedAt],
    ))[0];
    if (revoked) return { key: decodeScopes(revoked), revokedNow: true };
    const found = (await this.rows<ApiKeyInfoRaw>(
      't_key_of_tenant', `SELECT ${API_KEY_INFO_COLUMNS} FROM api_keys WHERE key_id = $1 AND tenant_id = coalesce($2, tenant_id)`, [keyId, onlyTenant],
    ))[0];
    return found && { key: decodeScopes(found), revokedNow: false };
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}

/** An API key row as its columns take it, in API_KEY_COLUMNS order. */
function apiKeyValues(row: ApiKeyRow): (string | null)[] {
  return [row.key_id, row.tenant_id, row.secret_hash, row.scopes.join(','), row.label, row.created_at, row.revoked_at];
}
