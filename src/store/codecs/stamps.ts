import { canonicalize } from '../../ledger/canonical.js';
import type { SigningKeyRole, SigningKeyRow, StampClosing, StampRow } from '../../stamps/types.js';

export const STAMP_COLUMNS =
  'tenant_id, stamp_id, subject, task_ref, scope, task_id, lease_id, worker, minted_receipt_id, status_idx, generation, kid, issued_at, expires_at, expires_ms, state, outcome, closed_by, closed_reason, tombstoned_at, tombstone_receipt_id, late, ambiguous_at, anomaly_receipt_id, anomaly_seq';
/** The columns of StampStatus: what introspection re-reads when its cached view of a stamp is too old. */
export const STAMP_STATUS_COLUMNS = 'state, generation, expires_ms, outcome, minted_receipt_id';
/** The columns of StampClosing, and its decoding. */
export const STAMP_CLOSING_COLUMNS = 'tenant_id, stamp_id, subject, task_id, lease_id, minted_receipt_id, generation, expires_ms, state, outcome, closed_by, tombstone_receipt_id';
export function stampClosingFromColumns(r: Omit<StampClosing, 'subject'> & { subject: string }): StampClosing {
  return { ...r, subject: JSON.parse(r.subject) as StampClosing['subject'] };
}
export const SIGNING_KEY_COLUMNS = 'kid, alg, public_jwk, private_pkcs8, role, created_at, retired_at, verify_until_ms';

/**
 * A stamps row as the store reads it: JSON columns as text. `Flag` is how the backend stores the boolean `late`
 * (each backend's StampDbRow says which).
 */
export type StampColumns<Flag> = Omit<StampRow, 'subject' | 'scope' | 'state' | 'outcome' | 'closed_by' | 'late'> & {
  subject: string; scope: string; state: string; outcome: string | null; closed_by: string | null; late: Flag;
};

export interface SigningKeyDbRow {
  kid: string;
  alg: string;
  public_jwk: string;
  private_pkcs8: string;
  role: string;
  created_at: string;
  retired_at: string | null;
  verify_until_ms: number | null;
}

/** `late`: the row's flag, already read as a boolean by the backend. */
export function stampFromColumns(r: StampColumns<unknown>, late: boolean): StampRow {
  return {
    tenant_id: r.tenant_id,
    stamp_id: r.stamp_id,
    subject: JSON.parse(r.subject) as StampRow['subject'],
    task_ref: r.task_ref,
    scope: JSON.parse(r.scope) as string[],
    task_id: r.task_id,
    lease_id: r.lease_id,
    worker: r.worker,
    minted_receipt_id: r.minted_receipt_id,
    status_idx: r.status_idx,
    generation: r.generation,
    kid: r.kid,
    issued_at: r.issued_at,
    expires_at: r.expires_at,
    expires_ms: r.expires_ms,
    state: r.state as StampRow['state'],
    outcome: r.outcome as StampRow['outcome'],
    closed_by: r.closed_by as StampRow['closed_by'],
    closed_reason: r.closed_reason,
    tombstoned_at: r.tombstoned_at,
    tombstone_receipt_id: r.tombstone_receipt_id,
    late,
    ambiguous_at: r.ambiguous_at,
    anomaly_receipt_id: r.anomaly_receipt_id,
    anomaly_seq: r.anomaly_seq,
  };
}

/** Every column in STAMP_COLUMNS order; `late`: the stamp's flag as the backend stores it. */
export function stampToRow(s: StampRow, late: unknown): unknown[] {
  return [
    s.tenant_id, s.stamp_id, canonicalize(s.subject), s.task_ref, JSON.stringify(s.scope), s.task_id, s.lease_id, s.worker,
    s.minted_receipt_id, s.status_idx, s.generation, s.kid, s.issued_at, s.expires_at, s.expires_ms, s.state, s.outcome,
    s.closed_by, s.closed_reason, s.tombstoned_at, s.tombstone_receipt_id, late, s.ambiguous_at, s.anomaly_receipt_id,
    s.anomaly_seq,
  ];
}

export function rowToSigningKey(r: SigningKeyDbRow): SigningKeyRow {
  return {
    kid: r.kid,
    alg: 'EdDSA',
    public_jwk: JSON.parse(r.public_jwk) as SigningKeyRow['public_jwk'],
    private_pkcs8: r.private_pkcs8,
    role: r.role as SigningKeyRole,
    created_at: r.created_at,
    retired_at: r.retired_at,
    verify_until_ms: r.verify_until_ms,
  };
}

/** Every column in SIGNING_KEY_COLUMNS order. */
export function signingKeyToRow(k: SigningKeyRow): unknown[] {
  return [k.kid, k.alg, JSON.stringify(k.public_jwk), k.private_pkcs8, k.role, k.created_at, k.retired_at, k.verify_until_ms];
}
