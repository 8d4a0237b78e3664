import assert from 'node:assert/strict';
import type { Harness } from '../helpers.js';

export const subject = { kind: 'agent', id: 'planner' } as const;

export interface Minted {
  stamp_id: string;
  token: string;
  minted_receipt_id: string;
}

export async function mint(h: Harness, extra: Record<string, unknown> = {}, key?: string): Promise<Minted> {
  const r = await h.req('POST', '/v1/stamps', { subject, task_ref: 'report-42', scope: ['fs:read', 'net:fetch'], ttl_seconds: 3600, ...extra }, key);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return { stamp_id: r.json.stamp.stamp_id, token: r.json.token, minted_receipt_id: r.json.receipt.receipt_id };
}

export async function introspect(h: Harness, token: string, extra: Record<string, unknown> = {}, key?: string): Promise<any> {
  const r = await h.req('POST', '/v1/stamps/introspect', { token, ...extra }, key);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

/** Changes one character of the token's payload (still valid base64url), so the signature no longer covers it. */
export function tamper(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  claims.scope = claims.scope + ' admin:all';
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

export function claimsOf(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

export function headerOf(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'));
}

/** The stamp.event receipts of the caller's tenant, oldest first. */
export async function stampEvents(h: Harness, key?: string): Promise<any[]> {
  const r = await h.req('GET', '/v1/receipts?type=stamp.event&limit=1000', undefined, key);
  assert.equal(r.status, 200);
  return r.json.receipts;
}
