/** Runtime install receipts (DESIGN §8): one chain per runtime on a target, manifests in the evidence store. */
export { RuntimeInstalls, type InstallChain, type InstallReport, type RecordedInstall, type RuntimeInstallBody } from './installs.js';
export { runtimeInstallDocument, RUNTIME_INSTALL_ID_PREFIX, RUNTIME_INSTALL_SPEC_VERSION, RUNTIME_INSTALL_TYPE, type InstallStep } from './document.js';
export { INSTALL_STATES, type InstallState, type RuntimeInstallRow } from './types.js';
