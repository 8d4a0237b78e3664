/** `quittance/client`: the HTTP client for agents and tools, and the worker SDK. */
export { QuittanceClient } from './client.js';
export type { AppendAnswer, TaskView, LeaseGrant, CreateTask, LeaseProof, Completion } from './client.js';
export type { SessionView, SessionAnswer, SessionDag, DagNode, DagEdge, OrphanView, EventAnswer, EventBatchItem, Reconciliation } from './sessions.js';
export type {
  CapabilityView, CapabilityMatrixRow, CapabilityEventView, CapabilityAnswer, ObservationAnswer, DeclareCapability, PlaneReport,
  StartAutomation, AutomationSessionView, AutomationAnswer, AutomationEndAnswer, DenialReason,
} from './capabilities.js';
export { QuittanceClientError } from './http.js';
export { createWorker, PermanentError } from './worker.js';
export type { Job, Worker, WorkerOptions } from './worker.js';
