/**
 * Capability negotiation (DESIGN §8): the planes that take part, what each may report, and the one effective
 * state the ledger computes from their reports. Plane and state names are the SourceOS CapabilityLedger
 * contract's (schemas/CapabilityLedger.schema.json), so every record the ledger writes validates.
 */

/** Every plane a capability can be declared by or negotiated with (the contract's declaredBy/negotiatedBy enum). */
export const PLANES = ['config', 'ui', 'runtime', 'server', 'plugin', 'policy', 'schema', 'transport', 'user', 'agent', 'workspace'] as const;
export type Plane = (typeof PLANES)[number];

/** What one plane says about one capability. */
export const PLANE_STATUSES = ['supported', 'unsupported', 'missing', 'degraded', 'blocked', 'failed'] as const;
export type PlaneStatus = (typeof PLANE_STATUSES)[number];

export const EFFECTIVE_STATES = [
  'declared', 'requested', 'negotiating', 'available', 'enabled', 'degraded',
  'blocked_by_policy', 'unsupported_by_runtime', 'unsupported_by_server', 'missing_plugin', 'missing_schema', 'failed',
] as const;
export type EffectiveState = (typeof EFFECTIVE_STATES)[number];

/** A capability reference: urn:srcos:capability:<name>@<version> (the contract's pattern). */
export const CAPABILITY_REF_PATTERN = '^urn:srcos:capability:[^\\s@]+@[^\\s@]+$';
export const SESSION_REF_PATTERN = '^urn:srcos:session:\\S+$';
export const DECISION_REF_PATTERN = '^urn:srcos:decision:\\S+$';
/** URNs or sha256:<64 hex>, as the contracts' evidenceRefs items. */
export const EVIDENCE_REF_PATTERN = '^(urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\\S+|sha256:[0-9a-fA-F]{64})$';

/** The latest report of one plane, as stored and shown. */
export interface PlaneReport {
  status: PlaneStatus;
  reason: string | null;
  evidenceRefs: string[];
  policyDecisionRef: string | null;
  reportedAt: string;
}

/** The SourceOS CapabilityLedger document the ledger writes on every change of effective state. */
export interface CapabilityLedgerDocument {
  id: string;
  type: 'CapabilityLedger';
  specVersion: string;
  capabilityRef: string;
  sessionRef: string | null;
  declaredBy: Plane[];
  negotiatedBy: Plane[];
  effectiveState: EffectiveState;
  stateReason: string;
  causalRefs?: string[];
  policyDecisionRef: string;
  evidenceRefs: string[];
  capturedAt: string;
}

/** One capability of one tenant, as stored (store/types.ts CapabilityTx). */
export interface CapabilityRow {
  tenant_id: string;
  capability_ref: string;
  declared_by: Plane[];
  required_planes: Plane[];
  optional_planes: Plane[];
  session_ref: string | null;
  /** The latest report of each plane that has reported. */
  planes: Partial<Record<Plane, PlaneReport>>;
  effective_state: EffectiveState;
  state_reason: string;
  /** The latest CapabilityLedger record (carried by the capability.ledger receipt `receipt_id`). */
  record: CapabilityLedgerDocument;
  receipt_id: string;
  /** How many history events the capability has; the next one is numbered events + 1. */
  events: number;
  declared_at: string;
  updated_at: string;
}

export type CapabilityEventKind = 'declared' | 'plane_report' | 'observation';

/** One entry of a capability's history: a declaration, a plane report or a surface's observation. */
export interface CapabilityEventRow {
  tenant_id: string;
  capability_ref: string;
  event_no: number;
  kind: CapabilityEventKind;
  plane: Plane | null;
  /** What was said: the declaration, the report (status, reason, evidenceRefs, ...) or the claimed state. */
  detail: Record<string, unknown>;
  /** The effective state right after this event. */
  effective_state: EffectiveState;
  /** The capability.ledger receipt when this event changed the effective state. */
  receipt_id: string | null;
  /** The capability_split_brain anomaly this observation raised, if it raised one. */
  anomaly_receipt_id: string | null;
  at: string;
}

export interface CapabilityListFilter {
  state?: EffectiveState;
  /** Only capabilities whose ref sorts after this one (the cursor). */
  after_ref?: string;
  limit: number;
}
