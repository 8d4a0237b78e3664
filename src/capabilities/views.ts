/** What the HTTP API shows of capabilities (camelCase, as the CapabilityLedger contract): the server and the client share these shapes. */
import { negotiationPlanes } from './precedence.js';
import type { CapabilityEventKind, CapabilityEventRow, CapabilityLedgerDocument, CapabilityRow, EffectiveState, Plane, PlaneReport, PlaneStatus } from './types.js';

export interface CapabilityView {
  capabilityRef: string;
  effectiveState: EffectiveState;
  stateReason: string;
  declaredBy: Plane[];
  requiredPlanes: Plane[];
  optionalPlanes: Plane[];
  sessionRef: string | null;
  /** The latest report of each plane that has reported. */
  planes: Partial<Record<Plane, PlaneReport>>;
  /** Required planes (and policy) that have not reported yet. */
  pendingPlanes: Plane[];
  /** The latest CapabilityLedger record, and the capability.ledger receipt carrying it. */
  record: CapabilityLedgerDocument;
  receiptId: string;
  declaredAt: string;
  updatedAt: string;
}

/** One row of the capability matrix. */
export interface CapabilityMatrixRow {
  capabilityRef: string;
  effectiveState: EffectiveState;
  /** What each plane that reported said. */
  planes: Partial<Record<Plane, PlaneStatus>>;
  declaredBy: Plane[];
  requiredPlanes: Plane[];
  optionalPlanes: Plane[];
  sessionRef: string | null;
  updatedAt: string;
}

/** One entry of a capability's history. */
export interface CapabilityEventView {
  eventNo: number;
  kind: CapabilityEventKind;
  plane: Plane | null;
  detail: Record<string, unknown>;
  effectiveState: EffectiveState;
  /** The capability.ledger receipt, when this event changed the effective state. */
  receiptId: string | null;
  /** The capability_split_brain anomaly, when this observation raised one. */
  anomalyReceiptId: string | null;
  at: string;
}

export function capabilityView(c: CapabilityRow): CapabilityView {
  const { required } = negotiationPlanes(c.required_planes, c.optional_planes);
  return {
    capabilityRef: c.capability_ref,
    effectiveState: c.effective_state,
    stateReason: c.state_reason,
    declaredBy: c.declared_by,
    requiredPlanes: c.required_planes,
    optionalPlanes: c.optional_planes,
    sessionRef: c.session_ref,
    planes: c.planes,
    pendingPlanes: [...required, 'policy' as const].filter((p) => c.planes[p] === undefined),
    record: c.record,
    receiptId: c.receipt_id,
    declaredAt: c.declared_at,
    updatedAt: c.updated_at,
  };
}

export function matrixRow(c: CapabilityRow): CapabilityMatrixRow {
  const planes: Partial<Record<Plane, PlaneStatus>> = {};
  for (const [p, r] of Object.entries(c.planes)) planes[p as Plane] = r.status;
  return {
    capabilityRef: c.capability_ref,
    effectiveState: c.effective_state,
    planes,
    declaredBy: c.declared_by,
    requiredPlanes: c.required_planes,
    optionalPlanes: c.optional_planes,
    sessionRef: c.session_ref,
    updatedAt: c.updated_at,
  };
}

export function eventView(e: CapabilityEventRow): CapabilityEventView {
  return {
    eventNo: e.event_no,
    kind: e.kind,
    plane: e.plane,
    detail: e.detail,
    effectiveState: e.effective_state,
    receiptId: e.receipt_id,
    anomalyReceiptId: e.anomaly_receipt_id,
    at: e.at,
  };
}
