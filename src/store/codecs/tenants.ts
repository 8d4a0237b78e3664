import type { ApiKeyInfo, ApiKeyRow } from '../types.js';

/** Every column of an API key, in the order both backends insert them. */
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
