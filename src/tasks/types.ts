import type { Artifact, DeliveryProof, Principal, Receipt } from '../ledger/types.js';

export const TASK_STATUSES = ['queued', 'leased', 'running', 'succeeded', 'failed', 'canceled', 'escalated'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const FINAL_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'canceled', 'escalated'];

export type LeaseState = 'active' | 'released' | 'expired' | 'completed' | 'failed' | 'retry' | 'canceled';

/** A task as stored and as the API shows it (DESIGN §5). Times in the API are RFC 3339; in rows, ms. */
export interface TaskRow {
  tenant_id: string;
  task_id: string;
  type: string;
  payload: Record<string, unknown> | null;
  payload_ref: string | null;
  capabilities: string[];
  priority: number;
  status: TaskStatus;
  attempt: number;
  max_attempts: number;
  lease_expiries: number;
  max_lease_expiries: number;
  claims: number;
  retry_backoff_seconds: number;
  next_eligible_at: number;
  idempotency_key: string | null;
  created_by: Principal;
  assigned_to: Principal;
  assigned_receipt_id: string;
  queue_seq: number;
  lease_id: string | null;
  outcome: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

export interface LeaseRow {
  tenant_id: string;
  lease_id: string;
  task_id: string;
  worker_id: string;
  token_hash: string;
  granted_receipt_id: string;
  attempt: number;
  state: LeaseState;
  granted_at: number;
  expires_at: number;
  last_heartbeat_at: number;
  renewals: number;
  stamp_id: string | null;
  ended_at: number | null;
  /** The claim_id of the claim that granted it (with worker_id, the key a resent claim finds it by). */
  claim_id: string | null;
  /**
   * The sha256 hashes (hex) of the lease tokens that claim's resends answered, space-separated, oldest first, at most
   * 16, the newest (null: none). Each is as good as token_hash: the worker holds one answer, not always the last.
   */
  resent_token_hashes: string | null;
}

export interface TaskFilter {
  status?: TaskStatus;
  type?: string;
  after_seq: number;
  limit: number;
}

/** What creating a task takes (POST /v1/tasks); shared by the engine and the client. */
export interface TaskCreateInput {
  task_id?: string;
  type: string;
  payload?: Record<string, unknown>;
  payload_ref?: string;
  requirements?: { capabilities?: string[] };
  priority?: number;
  idempotency_key?: string;
  max_attempts?: number;
  max_lease_expiries?: number;
  retry_backoff_seconds?: number;
  delay_seconds?: number;
  /** Who hands the work over (defaults to the API key). */
  created_by?: Principal;
  /** Who the task.assigned obligation is addressed to (defaults to the worker pool). */
  assign_to?: Principal;
}

/** One task handed to a worker by a claim (POST /v1/leases/claim); shared by the engine and the client. */
export interface Grant {
  task_id: string;
  type: string;
  lease_id: string;
  lease_token: string;
  payload: Record<string, unknown> | null;
  payload_ref: string | null;
  attempt: number;
  expires_at: string;
  stamp?: { stamp_id: string; token: string; expires_at: string };
}

/** The answer to a renewal (POST /v1/leases/renew); shared by the engine and the client. */
export interface LeaseRenewal {
  /** `duplicate`: the same renewal sent again (its answer lost), answered as it was, nothing written (a server before 'renewal' sends none). */
  status?: 'renewed' | 'duplicate';
  lease_id: string;
  expires_at: string;
  /** Renewals so far, and how many more the lease may have. */
  renewals: number;
  renewals_left: number;
  /** The lease's lifetime limit: no renewal may extend it past this instant. */
  renewable_until: string;
  /** The longest TTL a renewal may ask for. */
  lease_ttl_seconds_max: number;
}

// ── what the engine's operations take and answer ──

export interface ClaimInput {
  worker_id: string;
  capabilities?: string[];
  accept_types?: string[];
  max_tasks?: number;
  lease_ttl_seconds?: number;
  /**
   * The worker's name for this claim. Sent again (same worker_id) because the answer was lost, it answers the leases
   * that claim granted which are still active, each with a new lease token (the earlier answers' tokens keep working), and grants nothing.
   */
  claim_id?: string;
}

export interface LeaseProof {
  lease_id: string;
  lease_token: string;
}

export interface CompleteInput extends LeaseProof {
  artifacts?: Artifact[];
  delivery_proof?: DeliveryProof;
  result_summary?: string;
}

export interface FailInput extends LeaseProof {
  error: string | Record<string, unknown>;
  retryable: boolean;
}

export interface Created {
  status: 'created' | 'duplicate';
  task: TaskRow;
  receipt: Receipt;
}
