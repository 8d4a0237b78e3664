/**
 * The vocabulary of Git workspace classification (DESIGN §8, §9 GitWorkspaceState). Every enum is a const tuple so
 * the CLI and tests can enumerate it, and the TypeScript type is derived from it.
 */

/** The ten states of DESIGN §8. */
export const GIT_WORKSPACE_STATES = [
  'not_a_repo',
  'repo_root',
  'inside_worktree',
  'inside_git_dir',
  'bare_repo',
  'worktree_no_remote',
  'detached_head',
  'corrupt_repo',
  'permission_denied',
  'operation_superseded',
] as const;
export type GitWorkspaceStateName = (typeof GIT_WORKSPACE_STATES)[number];

/** Where a path sits relative to a repository, before any condition (detached, no remote) or failure is applied. */
export type WorkspaceLocation = 'not_a_repo' | 'repo_root' | 'inside_worktree' | 'inside_git_dir' | 'bare_repo';

export const SEVERITIES = ['debug', 'info', 'warning', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const OPERATIONS = [
  'passive_discovery',
  'watcher_refresh',
  'user_requested_command',
  'agent_requested_command',
  'ci_validation',
] as const;
export type WorkspaceOperation = (typeof OPERATIONS)[number];

export const ACTIONABILITIES = ['none', 'remediation_hint', 'blocked', 'quarantined'] as const;
export type Actionability = (typeof ACTIONABILITIES)[number];

/**
 * The class of Git command about to run (the GitWorkspaceState schema's `gitFacts.commandClass` vocabulary). For a
 * requested operation it refines the severity discipline by what the command needs from the workspace:
 * - `status` needs a working tree (as do add, commit, checkout, diff);
 * - `config`, `rev_parse`, `symbolic_ref`, `for_each_ref`, `watcher` need only the repository: they work in a bare
 *   repository and inside `.git`;
 * - `remote` (fetch, pull, push) needs a configured remote.
 * A requested command that names no class is taken to need a working tree, the most demanding and most common case.
 */
export const COMMAND_CLASSES = ['config', 'rev_parse', 'symbolic_ref', 'for_each_ref', 'status', 'remote', 'watcher'] as const;
export type CommandClass = (typeof COMMAND_CLASSES)[number];

/** What a command needs from the workspace; derived from its CommandClass. */
export type CommandNeed = 'worktree' | 'repository' | 'remote';

/**
 * Whether a remote is configured (the schema's vocabulary): `available` (at least one remote with a URL), `missing`
 * (none), `not_applicable` (no repository), `error` (the config could not be read), `unknown` (the config includes
 * other files, which may define one). "Available" means configured: reachability is never probed, since that would
 * take the network and a Git process.
 */
export const REMOTE_STATES = ['available', 'missing', 'not_applicable', 'error', 'unknown'] as const;
export type RemoteState = (typeof REMOTE_STATES)[number];

/** How a linked `.git` was found: the main worktree, a `git worktree add` worktree, or a submodule checkout. */
export type WorktreeKind = 'main' | 'linked' | 'submodule';

/**
 * How `redactedPathHint` was redacted (the schema's vocabulary; privacy.ts explains the hint):
 * `user_home_redacted` — under the home folder: `~`, `~/name` or `~/…/name`;
 * `workspace_alias` — elsewhere: only the last segment, `…/name`, standing for the workspace;
 * `none` — the filesystem root or a folder directly under it, which reveal nothing more than their name;
 * `digest_only` — no hint at all (not produced by the classifier; part of the vocabulary for other producers).
 */
export type PathRedaction = 'none' | 'user_home_redacted' | 'workspace_alias' | 'digest_only';

/** DESIGN §9 `pathEvidence`. Never holds the raw path: `rawPathStored` is the literal `false`. */
export interface PathEvidence {
  /** `sha256:<64 hex>` of the canonical (symlink-resolved) absolute path. */
  pathDigest: string;
  redactedPathHint: string;
  redaction: PathRedaction;
  rawPathStored: false;
}

/** DESIGN §9 `gitFacts`. Fields that do not apply are `null`; the two optional ones are omitted when there is nothing to say. */
export interface GitFacts {
  /** Short branch name (`main`) when HEAD is a symbolic ref under refs/heads/, the full ref name elsewhere; null when detached. */
  branch: string | null;
  /** The commit HEAD resolves to (40 or 64 hex); null on an unborn branch (no commit yet) or when HEAD could not be read. */
  headSha: string | null;
  remoteState: RemoteState;
  /** Digest of the working tree root; null for bare repositories and where there is none. */
  worktreeRootDigest: string | null;
  /** Digest of the Git directory (for a linked worktree: its own `.git/worktrees/<name>`); null when none was found. */
  gitDirDigest: string | null;
  /** A short machine code (never a path, never an OS error message) for the negative states. */
  failureReason?: string;
  commandClass?: CommandClass;
}

/** The facts of a classification that go into a GitWorkspaceState document verbatim. */
export interface GitWorkspaceFacts {
  state: GitWorkspaceStateName;
  severity: Severity;
  operation: WorkspaceOperation;
  actionability: Actionability;
  expectedNegativeState: boolean;
  pathEvidence: PathEvidence;
  gitFacts: GitFacts;
}

/** The result of classifying one path. JSON-safe; holds no raw path anywhere. */
export interface WorkspaceClassification extends GitWorkspaceFacts {
  /** Every state that applies, highest precedence first; `state` is always `observedStates[0]`. */
  observedStates: GitWorkspaceStateName[];
  /** The location before conditions and failures; null when a failure stopped discovery before it was known. */
  location: WorkspaceLocation | null;
  worktreeKind: WorktreeKind | null;
  /** A one-line hint for a person or agent, present whenever actionability is not `none`. Never contains a path. */
  remediation?: string;
  /** Whether the operation depends on Git: a user- or agent-requested command that runs Git (the severity discipline). */
  dependsOnGit: boolean;
  /** Identity of the workspace for supersession: a digest, stable across paths inside the same worktree. */
  workspaceKey: string;
  /** Process-wide ticket taken when this classification started; a higher ticket for the same workspace supersedes it. */
  generation: number;
  /** Set on an `operation_superseded` result: the generation of the newer classification that replaced it. */
  supersededByGeneration?: number;
}
