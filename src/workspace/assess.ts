import type {
  Actionability,
  CommandClass,
  CommandNeed,
  GitWorkspaceStateName,
  RemoteState,
  Severity,
  WorkspaceOperation,
} from './types.js';

/**
 * Precedence and severity: pure functions from observed states and the operation to what a caller should do.
 *
 * PRECEDENCE. Several states often apply at once (a repository root with no remote and a detached HEAD). The
 * reported `state` is the one listed first here; every state that applies is kept in `observedStates`, so nothing
 * is lost by choosing. The order puts first what invalidates the rest:
 *   1. operation_superseded — the facts are stale; nothing else in them may be acted on.
 *   2. permission_denied   — we could not read what we needed; any other state would be a guess.
 *   3. corrupt_repo        — Git would fail or misread here; where the path sits no longer matters.
 *   4. not_a_repo          — there is no repository to say anything more about.
 *   5. inside_git_dir      — a worktree command here would act on Git's own files.
 *   6. bare_repo           — there is no working tree.
 *   7. detached_head       — new commits would belong to no branch: the condition most likely to lose work,
 *                            so it outranks…
 *   8. worktree_no_remote  — nothing can be fetched or pushed, but local work is safe.
 *   9. inside_worktree, repo_root — the healthy locations.
 *
 * SEVERITY. An operation "depends on Git" when it is user_requested_command or agent_requested_command and the
 * command it stands for runs Git (`runsGit`, default true). Then every expected negative state is at least `warning`
 * with a `remediation_hint`, and `error` + `blocked` where it actually stops what the command needs (types.ts,
 * CommandClass): a bare repository or `.git` blocks a `status`-class command but not a `rev_parse` one; a missing
 * remote blocks a `remote` command only; no repository (or no permission) blocks everything. In every other
 * operation (passive_discovery, watcher_refresh, ci_validation, requested commands that do not run Git) expected
 * negative states are `info` with actionability `none`: facts about the filesystem, not problems.
 * Healthy states are `debug` for background operations (passive_discovery, watcher_refresh) and `info` otherwise.
 * corrupt_repo is the one unexpected state: always `quarantined` (keep automation away until a person repairs it),
 * `warning` in the background, `error` for CI and for operations that depend on Git.
 * The severity and actionability of a classification are the highest over all its observed states, plus the
 * remote rule (a `remote` command with no remote is blocked, even in a bare repository, which has no
 * worktree_no_remote state). `expectedNegativeState` is true exactly when the reported state is negative and
 * expected for this operation, so it is logged at `info`.
 */
export const STATE_PRECEDENCE: readonly GitWorkspaceStateName[] = [
  'operation_superseded',
  'permission_denied',
  'corrupt_repo',
  'not_a_repo',
  'inside_git_dir',
  'bare_repo',
  'detached_head',
  'worktree_no_remote',
  'inside_worktree',
  'repo_root',
];

const RANK = new Map(STATE_PRECEDENCE.map((s, i) => [s, i]));
const SEVERITY_RANK: Record<Severity, number> = { debug: 0, info: 1, warning: 2, error: 3 };
const ACTIONABILITY_RANK: Record<Actionability, number> = { none: 0, remediation_hint: 1, blocked: 2, quarantined: 3 };

/** De-duplicated and sorted by precedence: the first element is the state to report. */
export function orderStates(states: Iterable<GitWorkspaceStateName>): GitWorkspaceStateName[] {
  return [...new Set(states)].sort((a, b) => RANK.get(a)! - RANK.get(b)!);
}

export function isHealthyState(state: GitWorkspaceStateName): boolean {
  return state === 'repo_root' || state === 'inside_worktree';
}

/** Negative states that are ordinary facts of a filesystem: everything that is neither healthy nor damage. */
export function isExpectedNegativeState(state: GitWorkspaceStateName): boolean {
  return !isHealthyState(state) && state !== 'corrupt_repo';
}

export function isBackgroundOperation(operation: WorkspaceOperation): boolean {
  return operation === 'passive_discovery' || operation === 'watcher_refresh';
}

function isRequested(operation: WorkspaceOperation): boolean {
  return operation === 'user_requested_command' || operation === 'agent_requested_command';
}

/** What the command needs from the workspace; a requested command that names no class is taken to need a worktree. */
export function commandNeed(commandClass: CommandClass | undefined): CommandNeed {
  if (commandClass === undefined || commandClass === 'status') return 'worktree';
  return commandClass === 'remote' ? 'remote' : 'repository';
}

/** The severity discipline's condition: a user- or agent-requested command that runs Git. */
export function dependsOnGit(operation: WorkspaceOperation, runsGit = true): boolean {
  return isRequested(operation) && runsGit;
}

export interface Impact {
  severity: Severity;
  actionability: Actionability;
  remediation?: string;
}

const REMEDIATION = {
  not_a_repo: 'The path is not inside a Git repository: run the command in a repository, or initialise one.',
  inside_git_dir: "The path is inside Git's own directory, not a working tree: run the command from the working tree.",
  bare_repo: 'A bare repository has no working tree: run the command in a worktree of it (git worktree add).',
  detached_head: 'HEAD is detached, so new commits belong to no branch: create or switch to a branch first (git switch -c <name>).',
  no_remote: 'No remote is configured: add one (git remote add <name> <url>) before fetching or pushing.',
  permission_denied: "The workspace cannot be read with this process's permissions.",
  corrupt_repo: 'The repository is damaged (see failureReason): keep automation away until a person repairs it (git fsck).',
  operation_superseded: 'A newer classification of this workspace exists: classify again before acting on it.',
} as const;

const QUIET: Impact = { severity: 'info', actionability: 'none' };

function hint(remediation: string): Impact {
  return { severity: 'warning', actionability: 'remediation_hint', remediation };
}

function blocked(remediation: string): Impact {
  return { severity: 'error', actionability: 'blocked', remediation };
}

function stateImpact(state: GitWorkspaceStateName, operation: WorkspaceOperation, gitDependent: boolean, need: CommandNeed): Impact {
  if (isHealthyState(state)) return { severity: isBackgroundOperation(operation) ? 'debug' : 'info', actionability: 'none' };
  if (state === 'corrupt_repo') {
    const loud = operation === 'ci_validation' || gitDependent;
    return { severity: loud ? 'error' : 'warning', actionability: 'quarantined', remediation: REMEDIATION.corrupt_repo };
  }
  if (!gitDependent) return QUIET;
  switch (state) {
    case 'operation_superseded':
      // Not an error of the user's: the workspace moved on. The stale result must not be acted on.
      return { severity: 'warning', actionability: 'blocked', remediation: REMEDIATION.operation_superseded };
    case 'permission_denied':
      return blocked(REMEDIATION.permission_denied);
    case 'not_a_repo':
      return blocked(REMEDIATION.not_a_repo);
    case 'inside_git_dir':
      return need === 'worktree' ? blocked(REMEDIATION.inside_git_dir) : hint(REMEDIATION.inside_git_dir);
    case 'bare_repo':
      return need === 'worktree' ? blocked(REMEDIATION.bare_repo) : hint(REMEDIATION.bare_repo);
    case 'detached_head':
      return hint(REMEDIATION.detached_head);
    case 'worktree_no_remote':
      return need === 'remote' ? blocked(REMEDIATION.no_remote) : hint(REMEDIATION.no_remote);
    default:
      return QUIET;
  }
}

export interface AssessInput {
  observedStates: readonly GitWorkspaceStateName[];
  operation: WorkspaceOperation;
  commandClass?: CommandClass | undefined;
  /** For requested operations: whether the command runs Git at all. Default true. */
  runsGit?: boolean | undefined;
  remoteState: RemoteState;
}

export interface Assessment extends Impact {
  expectedNegativeState: boolean;
  dependsOnGit: boolean;
}

export function assess(input: AssessInput): Assessment {
  const gitDependent = dependsOnGit(input.operation, input.runsGit ?? true);
  const need = commandNeed(input.commandClass);
  const impacts = input.observedStates.map((s) => stateImpact(s, input.operation, gitDependent, need));
  if (gitDependent && need === 'remote' && input.remoteState === 'missing') impacts.push(blocked(REMEDIATION.no_remote));
  let severity: Severity = 'debug';
  let worst: Impact = { severity: 'debug', actionability: 'none' };
  for (const impact of impacts) {
    if (SEVERITY_RANK[impact.severity] > SEVERITY_RANK[severity]) severity = impact.severity;
    // The first (highest-precedence) state among the most actionable ones names the remediation.
    if (ACTIONABILITY_RANK[impact.actionability] > ACTIONABILITY_RANK[worst.actionability]) worst = impact;
  }
  const primary = input.observedStates[0];
  const out: Assessment = {
    severity,
    actionability: worst.actionability,
    expectedNegativeState:
      primary !== undefined &&
      isExpectedNegativeState(primary) &&
      !gitDependent &&
      !input.observedStates.includes('corrupt_repo'),
    dependsOnGit: gitDependent,
  };
  if (worst.remediation !== undefined) out.remediation = worst.remediation;
  return out;
}
