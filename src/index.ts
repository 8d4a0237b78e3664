/**
 * quittance: the accountability ledger as a library. Subpaths: `quittance/client` (HTTP client and worker SDK),
 * `quittance/server` (build or start the HTTP server).
 */
export { createServices, buildApp, startServer } from './server/index.js';
export type { Services, ServicesOptions, RunningServer } from './server/index.js';
export { Ledger } from './ledger/ledger.js';
export type { AppendResult } from './ledger/append.js';
export type { Receipt, ReceiptInput, Principal, Artifact, DeliveryProof } from './ledger/types.js';
export { RECEIPT_TYPES, ANOMALY_KINDS, legalTerminators, canTerminate } from './ledger/registry.js';
export { canonicalize } from './ledger/canonical.js';
export { TaskEngine } from './tasks/engine.js';
export { openSqliteStore } from './store/sqlite/index.js';
export type { Store } from './store/types.js';
export { resolveConfig, DEFAULTS } from './config.js';
export type { QuittanceConfig, ConfigInput } from './config.js';
export { QuittanceError, ERRORS } from './errors.js';
export type { ErrorCode } from './errors.js';
export { systemClock, ManualClock } from './clock.js';
export type { Clock } from './clock.js';
export { validateDocument, validateDocuments } from './contracts/index.js';
export { WorkspaceClassifier } from './workspace/index.js';
