/** Git workspace classification (DESIGN §8) and the GitWorkspaceState document (DESIGN §9). */
export {
  WorkspaceClassifier,
  classifyWorkspace,
  markSuperseded,
  type ClassifyOptions,
  type WorkspaceClassifierOptions,
} from './classifier.js';
export {
  STATE_PRECEDENCE,
  assess,
  dependsOnGit,
  commandNeed,
  isExpectedNegativeState,
  orderStates,
  type Assessment,
  type AssessInput,
} from './assess.js';
export {
  GIT_WORKSPACE_STATE_ID_PREFIX,
  GIT_WORKSPACE_STATE_SPEC_VERSION,
  GIT_WORKSPACE_STATE_TYPE,
  buildGitWorkspaceState,
  gitWorkspaceFacts,
  type GitWorkspaceStateDocument,
  type GitWorkspaceStateRefs,
} from './document.js';
export { redactPath } from './privacy.js';
export { WorkspaceGenerations } from './generations.js';
export * from './types.js';
