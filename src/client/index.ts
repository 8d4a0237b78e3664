/** `quittance/client`: the HTTP client for agents and tools, the worker SDK, and StampGate (offline stamp checks). */
export { QuittanceClient } from './client.js';
export type { AppendAnswer, TaskView, LeaseGrant, LeaseRenewal, CreateTask, LeaseProof, Completion } from './client.js';
export type { SessionView, SessionAnswer, SessionDag, DagNode, DagEdge, OrphanView, EventAnswer, EventBatchItem, Reconciliation } from './sessions.js';
export type {
  CapabilityView, CapabilityMatrixRow, CapabilityEventView, CapabilityAnswer, ObservationAnswer, DeclareCapability, PlaneReport,
  StartAutomation, AutomationSessionView, AutomationAnswer, AutomationEndAnswer, DenialReason,
} from './capabilities.js';
export { QuittanceClientError } from './http.js';
export { createWorker, PermanentError } from './worker.js';
export type { Job, Worker, WorkerOptions } from './worker.js';
// The offline stamp gate belongs to agent runtimes, which install this subpath: it needs nothing but node.
export { StampGate } from '../stamps/gate.js';
export type { StampGateOptions, GateDecision, GateReason, GatePrincipal } from '../stamps/gate.js';
export type { StampClaims } from '../stamps/token.js';
export type { StampView } from '../stamps/types.js';
export type { Investigation } from '../stamps/stamps.js';
