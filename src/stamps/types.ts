/** Stamps (DESIGN §6): task-scoped credentials, closed by exactly one tombstone, with TTL only as the safety net. */
import type { Principal, Receipt } from '../ledger/types.js';

export const STAMP_STATES = ['active', 'tombstoned', 'ambiguous'] as const;
export type StampState = (typeof STAMP_STATES)[number];

export const TOMBSTONE_OUTCOMES = ['completed', 'crashed', 'timeout', 'revoked'] as const;
export type TombstoneOutcome = (typeof TOMBSTONE_OUTCOMES)[number];

export const CLOSERS = ['subject', 'gate', 'operator'] as const;
export type ClosedBy = (typeof CLOSERS)[number];

export const EVENT_OUTCOMES = ['executed', 'denied', 'error'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

/** A stamps row as the store keeps it (snake_case, one row per stamp). */
export interface StampRow {
  tenant_id: string;
  stamp_id: string;
  subject: Principal;
  task_ref: string;
  scope: string[];
  task_id: string | null;
  lease_id: string | null;
  worker: string | null;
  minted_receipt_id: string;
  status_idx: number;
  generation: number;
  kid: string;
  issued_at: string;
  expires_at: string;
  expires_ms: number;
  state: StampState;
  outcome: TombstoneOutcome | null;
  closed_by: ClosedBy | null;
  closed_reason: string | null;
  tombstoned_at: string | null;
  tombstone_receipt_id: string | null;
  late: boolean;
  ambiguous_at: string | null;
  anomaly_receipt_id: string | null;
  anomaly_seq: number | null;
}

export type SigningKeyRole = 'next' | 'current' | 'retired';

/** An Ed25519 signing key of the deployment. private_pkcs8 never leaves the store and the signer. */
export interface SigningKeyRow {
  kid: string;
  alg: 'EdDSA';
  public_jwk: PublicJwk;
  private_pkcs8: string;
  role: SigningKeyRole;
  created_at: string;
  retired_at: string | null;
  verify_until_ms: number | null;
}

/** The public half of a key as published in the JWKS (RFC 8037 OKP). */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid?: string;
  alg?: 'EdDSA';
  use?: 'sig';
}

export type VerificationKeyRow = Omit<SigningKeyRow, 'private_pkcs8'>;

/** What the status list is built from: a tenant's stamps whose TTL has not passed. */
/** What a tombstone reads of its stamp: whom it was issued to, its obligation, and whether (and how) it is closed. */
export type StampClosing = Pick<StampRow,
  'tenant_id' | 'stamp_id' | 'subject' | 'task_id' | 'lease_id' | 'minted_receipt_id' | 'generation' | 'expires_ms' | 'state' | 'outcome' | 'closed_by' | 'tombstone_receipt_id'>;

/** What a tombstone writes onto its stamp (state becomes tombstoned; nothing else changes). */
export interface StampClose {
  outcome: TombstoneOutcome;
  closed_by: ClosedBy;
  closed_reason: string | null;
  tombstoned_at: string;
  tombstone_receipt_id: string;
  late: boolean;
}

/** What introspection judges a token by: the part of a stamp row that changes when it is closed or rotated. */
export type StampStatus = Pick<StampRow, 'state' | 'generation' | 'expires_ms' | 'outcome' | 'minted_receipt_id'>;

export interface LiveStampStatus {
  stamp_id: string;
  status_idx: number;
  state: StampState;
  generation: number;
}

export interface MintInput {
  /** Whom the stamp is issued to: the principal that owes its tombstone. */
  subject: Principal;
  /** The task the stamp is scoped to (the agent runtime's own reference, or the ledger's task_id). */
  task_ref: string;
  scope: readonly string[];
  ttl_seconds: number;
  task_id?: string | undefined;
  lease_id?: string | undefined;
  /** Worker id the stamp is bound to (lease stamps). */
  worker?: string | undefined;
  /** Receipts the stamp.minted receipt answers (e.g. the lease.granted it belongs to). */
  parents?: readonly string[] | undefined;
  /** A standalone mint's retry key: the same key and request again answers the stamp it minted (see Stamps.mint). */
  idempotency_key?: string | undefined;
}

export interface TombstoneInput {
  outcome: TombstoneOutcome;
  reason?: string | undefined;
  closed_by: ClosedBy;
  /** Who writes the tombstone receipt; defaults to the subject (closed_by subject) or the ledger. */
  by?: Principal | undefined;
}

/** The task_tombstone event: the body of a stamp.tombstoned receipt. */
export interface Tombstone {
  stamp_id: string;
  outcome: TombstoneOutcome;
  timestamp: string;
  closed_by: ClosedBy;
  reason?: string;
  /** Present (true) when the tombstone arrived after the stamp's TTL. */
  late?: true;
}

export interface StampEventInput {
  action: string;
  outcome: EventOutcome;
  gate_reason?: string | undefined;
  /** Makes a retried report idempotent (other content under the same id is 409); generated when absent. */
  event_id?: string | undefined;
  /** Who made the decision (the gate); defaults to the ledger. */
  by?: Principal | undefined;
  /** Which generation of the credential was presented, when known. */
  generation?: number | undefined;
}

/** The public view of a stamp (GET /v1/stamps/{id}). Never contains a token. */
export interface StampView {
  stamp_id: string;
  tenant_id: string;
  subject: Principal;
  task_ref: string;
  scope: string[];
  task_id?: string;
  lease_id?: string;
  worker?: string;
  state: StampState;
  outcome: TombstoneOutcome | null;
  closed_by: ClosedBy | null;
  late: boolean;
  generation: number;
  kid: string;
  issued_at: string;
  expires_at: string;
  minted_receipt_id: string;
  tombstone_receipt_id: string | null;
  anomaly_receipt_id: string | null;
}

export interface MintResult {
  /** `duplicate`: a retry (same idempotency_key and request) answered with the stamp minted before. */
  status: 'created' | 'duplicate';
  stamp: StampView;
  /** The compact JWS. Shown once: the ledger never stores it. */
  token: string;
  receipt: Receipt;
}

/** A stamp minted inside a write whose token is still to be signed: `sign()` once the write has committed. */
export interface MintedUnsigned {
  stamp: StampView;
  receipt: Receipt;
  sign(): Promise<string>;
}

export interface TombstoneResult {
  tombstone: Tombstone;
  receipt: Receipt;
  status: 'created' | 'duplicate';
}

export interface RotateResult {
  /** `duplicate`: a retry (same idempotency_key) answered with the rotation made before. */
  status: 'created' | 'duplicate';
  stamp: StampView;
  token: string;
  receipt: Receipt;
}

export function stampView(r: StampRow): StampView {
  const v: StampView = {
    stamp_id: r.stamp_id,
    tenant_id: r.tenant_id,
    subject: r.subject,
    task_ref: r.task_ref,
    scope: r.scope,
    state: r.state,
    outcome: r.outcome,
    closed_by: r.closed_by,
    late: r.late,
    generation: r.generation,
    kid: r.kid,
    issued_at: r.issued_at,
    expires_at: r.expires_at,
    minted_receipt_id: r.minted_receipt_id,
    tombstone_receipt_id: r.tombstone_receipt_id,
    anomaly_receipt_id: r.anomaly_receipt_id,
  };
  if (r.task_id !== null) v.task_id = r.task_id;
  if (r.lease_id !== null) v.lease_id = r.lease_id;
  if (r.worker !== null) v.worker = r.worker;
  return v;
}
