export { Stamps, type Investigation } from './stamps.js';
export { effectiveState, type Introspection, type InactiveReason } from './introspection.js';
export { StampGate, type StampGateOptions, type GateDecision, type GateReason } from './gate.js';
export { leaseStamps } from './lease.js';
export { type StampClaims } from './token.js';
export { StatusBits, buildStatusBits, STATUS_LIST_TYP, type StatusListPayload } from './status-list.js';
export { type KeyRotation } from './keys.js';
export * from './types.js';
