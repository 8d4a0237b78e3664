import type { CapabilityEventRow, CapabilityRow } from '../../capabilities/types.js';

export const CAPABILITY_COLUMNS = 'tenant_id, capability_ref, declared_by, required_planes, optional_planes, session_ref, planes, effective_state, state_reason, record, receipt_id, events, declared_at, updated_at';
export const CAPABILITY_EVENT_COLUMNS = 'tenant_id, capability_ref, event_no, kind, plane, detail, effective_state, receipt_id, anomaly_receipt_id, at';

/** A capabilities row as the store reads it: JSON columns as text. */
export interface RawCapability {
  tenant_id: string;
  capability_ref: string;
  declared_by: string;
  required_planes: string;
  optional_planes: string;
  session_ref: string | null;
  planes: string;
  effective_state: string;
  state_reason: string;
  record: string;
  receipt_id: string;
  events: number;
  declared_at: string;
  updated_at: string;
}

export interface RawCapabilityEvent {
  tenant_id: string;
  capability_ref: string;
  event_no: number;
  kind: string;
  plane: string | null;
  detail: string;
  effective_state: string;
  receipt_id: string | null;
  anomaly_receipt_id: string | null;
  at: string;
}

export function capabilityFromRaw(r: RawCapability): CapabilityRow {
  return {
    ...r,
    declared_by: JSON.parse(r.declared_by),
    required_planes: JSON.parse(r.required_planes),
    optional_planes: JSON.parse(r.optional_planes),
    planes: JSON.parse(r.planes),
    effective_state: r.effective_state as CapabilityRow['effective_state'],
    record: JSON.parse(r.record),
  };
}

export function capabilityEventFromRaw(r: RawCapabilityEvent): CapabilityEventRow {
  return {
    ...r,
    kind: r.kind as CapabilityEventRow['kind'],
    plane: r.plane as CapabilityEventRow['plane'],
    detail: JSON.parse(r.detail),
    effective_state: r.effective_state as CapabilityEventRow['effective_state'],
  };
}

/** Every column in CAPABILITY_COLUMNS order. */
export function capabilityValues(r: CapabilityRow): unknown[] {
  return [
    r.tenant_id, r.capability_ref, JSON.stringify(r.declared_by), JSON.stringify(r.required_planes), JSON.stringify(r.optional_planes),
    r.session_ref, JSON.stringify(r.planes), r.effective_state, r.state_reason, JSON.stringify(r.record), r.receipt_id, r.events,
    r.declared_at, r.updated_at,
  ];
}

/** The mutable columns in update order (declared_by … updated_at), without the key. */
export function capabilityMutableValues(r: CapabilityRow): unknown[] {
  return [
    JSON.stringify(r.declared_by), JSON.stringify(r.required_planes), JSON.stringify(r.optional_planes), r.session_ref,
    JSON.stringify(r.planes), r.effective_state, r.state_reason, JSON.stringify(r.record), r.receipt_id, r.events, r.updated_at,
  ];
}

/** Every column in CAPABILITY_EVENT_COLUMNS order. */
export function capabilityEventValues(e: CapabilityEventRow): unknown[] {
  return [e.tenant_id, e.capability_ref, e.event_no, e.kind, e.plane, JSON.stringify(e.detail), e.effective_state, e.receipt_id, e.anomaly_receipt_id, e.at];
}
