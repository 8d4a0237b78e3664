/** The receipt and its parts (DESIGN §2). The ledger's own API speaks snake_case. */

export const PRINCIPAL_KINDS = ['agent', 'worker', 'service', 'system', 'human'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

export interface Principal {
  kind: PrincipalKind;
  id: string;
  instance_id?: string;
}

export const ARTIFACT_KINDS = ['s3', 'file', 'db', 'blob', 'url', 'git', 'other'] as const;

/** A store pointer: where the product of the work can be found. Extra keys are allowed and hashed. */
export interface Artifact {
  kind: (typeof ARTIFACT_KINDS)[number];
  uri: string;
  digest?: string;
  size_bytes?: number;
  [extra: string]: unknown;
}

export interface DeliveryProof {
  mode: 'push' | 'store';
  target: Record<string, unknown>;
  status: 'succeeded' | 'failed';
  at: string;
  proof: Record<string, unknown>;
}

/** What a producer sends. Everything else on a receipt is assigned by the ledger. */
export interface ReceiptInput {
  type: string;
  from: Principal;
  to: Principal;
  task_id?: string;
  lease_id?: string;
  stamp_id?: string;
  session_id?: string;
  parents?: string[];
  body?: Record<string, unknown>;
  artifacts?: Artifact[];
  delivery_proof?: DeliveryProof;
  idempotency_key?: string;
}

/** The hashed part of a receipt: tenant plus the normalised input. */
export interface ReceiptContent {
  tenant_id: string;
  type: string;
  from: Principal;
  to: Principal;
  task_id?: string;
  lease_id?: string;
  stamp_id?: string;
  session_id?: string;
  parents: string[];
  body: Record<string, unknown>;
  artifacts?: Artifact[];
  delivery_proof?: DeliveryProof;
  idempotency_key?: string;
}

export interface Receipt extends ReceiptContent {
  receipt_id: string;
  seq: number;
  created_at: string;
  hash: string;
  prev_hash: string;
  chain_hash: string;
  /** True when this terminator closed its parents; false for non-terminators and for a success without locatability. */
  discharges: boolean;
  /** Telemetry only: when an obligation was first served by GET /v1/obligations/open. Never read by control logic. */
  delivered_at?: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The principal the ledger itself writes as (anomalies, sweeps, the gate). */
export const LEDGER_PRINCIPAL: Principal = Object.freeze({ kind: 'system', id: 'quittance' }) as Principal;
