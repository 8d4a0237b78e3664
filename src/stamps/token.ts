/**
 * The stamp credential: a compact JWS (EdDSA/Ed25519, `typ: JWT`) whose claims say which stamp, tenant, subject,
 * task, scope, lifetime and generation it carries. Any JOSE library verifies it against /.well-known/jwks.json;
 * whether the stamp is still active is a separate question (introspection or the signed status list).
 */
import type { Principal } from '../ledger/types.js';
import type { StampRow } from './types.js';

export interface StampClaims {
  iss: string;
  /** `<kind>:<id>` of the subject principal. */
  sub: string;
  /** `<stamp_id>.<generation>`: one id per issued credential. */
  jti: string;
  stamp_id: string;
  tenant: string;
  /** The task reference the stamp is scoped to. */
  task: string;
  /** Space-separated scope tokens (RFC 6749 §3.3, as RFC 7662 reports them). */
  scope: string;
  iat: number;
  exp: number;
  /** Generation of the session credential: rotation issues gen + 1 and invalidates gen. */
  gen: number;
  /** The stamp's slot in its tenant's signed status list (GET /v1/stamps/status). */
  status: { idx: number };
  task_id?: string;
  lease?: string;
  worker?: string;
}

export function subjectClaim(p: Principal): string {
  return `${p.kind}:${p.id}`;
}

/** Claims for the current generation of a stamp, issued at `nowMs`. */
export function stampClaims(row: StampRow, issuer: string, nowMs: number): StampClaims {
  const c: StampClaims = {
    iss: issuer,
    sub: subjectClaim(row.subject),
    jti: `${row.stamp_id}.${row.generation}`,
    stamp_id: row.stamp_id,
    tenant: row.tenant_id,
    task: row.task_ref,
    scope: row.scope.join(' '),
    iat: Math.floor(nowMs / 1000),
    // Rounded down: a verifier never accepts a token the ledger already treats as expired.
    exp: Math.floor(row.expires_ms / 1000),
    gen: row.generation,
    status: { idx: row.status_idx },
  };
  if (row.task_id !== null) c.task_id = row.task_id;
  if (row.lease_id !== null) c.lease = row.lease_id;
  if (row.worker !== null) c.worker = row.worker;
  return c;
}

/** The claims of a verified payload, or undefined when a required claim is missing or has the wrong type. */
export function readClaims(p: Record<string, unknown>): StampClaims | undefined {
  const str = (k: string) => typeof p[k] === 'string';
  const int = (k: string) => Number.isSafeInteger(p[k]);
  if (!str('iss') || !str('sub') || !str('jti') || !str('stamp_id') || !str('tenant') || !str('task') || !str('scope')) return undefined;
  if (!int('iat') || !int('exp') || !int('gen')) return undefined;
  const status = p['status'] as { idx?: unknown } | undefined;
  if (typeof status !== 'object' || status === null || !Number.isSafeInteger(status.idx)) return undefined;
  return p as unknown as StampClaims;
}
