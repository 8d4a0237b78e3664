import type { ApiKeyInfo, ApiKeyRow } from '../types.js';

/** Every column of an API key, in the order both backends insert them. */
/**
 * Every tenant id the ledger holds receipts or a chain head for, tenants row or not, in id order: a loose index scan
 * over the receipts' primary key (one probe per tenant, not a pass over every receipt). Same text on both backends.
 */
export const LEDGER_TENANT_IDS_SQL = `
  WITH RECURSIVE t(id) AS (
    SELECT min(tenant_id) FROM receipts
    UNION ALL
    SELECT (SELECT min(tenant_id) FROM receipts WHERE tenant_id > t.id) FROM t WHERE t.id IS NOT NULL
  )
  SELECT id AS tenant_id FROM t WHERE id IS NOT NULL
  UNION
  SELECT tenant_id FROM chain_heads
  ORDER BY tenant_id`;

export const API_KEY_COLUMNS = 'key_id, tenant_id, secret_hash, scopes, label, created_at, revoked_at';

/** The columns of an API key that may be shown: every one but secret_hash. */
export const API_KEY_INFO_COLUMNS = 'key_id, tenant_id, scopes, label, created_at, revoked_at';

/** Scopes are stored comma-separated (read,write,admin). */
export function decodeScopes<R extends { scopes: string }>(raw: R): Omit<R, 'scopes'> & { scopes: string[] } {
  return { ...raw, scopes: raw.scopes.split(',').filter(Boolean) };
}

export type ApiKeyInfoRaw = Omit<ApiKeyInfo, 'scopes'> & { scopes: string };

/** An API key row as stored: scopes comma-separated. */
export type ApiKeyRowRaw = Omit<ApiKeyRow, 'scopes'> & { scopes: string };
