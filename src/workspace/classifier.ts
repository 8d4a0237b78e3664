import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { QuittanceError } from '../errors.js';
import { assess, orderStates } from './assess.js';
import { discover, emptyDiscovery, type Discovery } from './discover.js';
import { FileCache, ProbeFailure } from './fs-probe.js';
import { WorkspaceGenerations } from './generations.js';
import { PathPrivacy, usableHomeDirs } from './privacy.js';
import {
  COMMAND_CLASSES,
  OPERATIONS,
  type CommandClass,
  type GitFacts,
  type GitWorkspaceStateName,
  type RemoteState,
  type WorkspaceClassification,
  type WorkspaceOperation,
} from './types.js';

/**
 * The Git workspace classifier (DESIGN §8): what a path is, Git-wise, read from the filesystem before any Git
 * command runs. One instance holds the caches and the generation tracker; share it across a process.
 */

export interface WorkspaceClassifierOptions {
  /** Used by the file cache to tell settled files from racily written ones. */
  clock?: Clock;
  /** The folder shown as `~` in path hints. Defaults to os.homedir(); null shows no `~`. */
  homeDir?: string | null;
  /** Prepended to every path before hashing (see privacy.ts). Default '' (digests comparable across processes). */
  pathDigestSalt?: string;
  /** See FileCacheOptions.racyWindowMs. */
  racyWindowMs?: number;
  /** Most small Git files (HEAD, refs, config, ...) kept in memory. */
  maxCachedFiles?: number;
  /** Most workspaces whose newest generation is remembered. */
  maxTrackedWorkspaces?: number;
}

export interface ClassifyOptions {
  /** What the classification is for; decides severity. Default `passive_discovery`. */
  operation?: WorkspaceOperation;
  /** The class of Git command about to run (types.ts); a requested command without one is taken to need a worktree. */
  commandClass?: CommandClass;
  /** For requested operations: false when the command does not run Git, so Git states stay informational. */
  runsGit?: boolean;
  /** Base for a relative path. Default process.cwd(). */
  cwd?: string;
}

const DEFAULT_RACY_WINDOW_MS = 2000;

function validationError(detail: string): QuittanceError {
  return new QuittanceError('QUITTANCE_ERR_VALIDATION', [detail]);
}

function remoteStateOf(d: Discovery): RemoteState {
  if (d.location === 'not_a_repo') return 'not_applicable';
  if (d.configUnreadable) return 'error';
  if (d.config === null) return 'unknown';
  if (d.config.remotesWithUrl.length > 0) return 'available';
  // An include may define a remote in a file we did not read: do not claim there is none.
  return d.config.hasIncludes ? 'unknown' : 'missing';
}

/** What a path that cannot be resolved is: unreadable (permission_denied) or absent (not_a_repo, with why). */
function unresolvable(e: unknown): [Discovery, string] {
  const code = (e as { code?: unknown } | null)?.code;
  const d = emptyDiscovery();
  if (code === 'EACCES' || code === 'EPERM') {
    d.failure = new ProbeFailure('permission_denied', 'access_denied');
    return [d, ''];
  }
  if (typeof code !== 'string') throw e;
  d.location = 'not_a_repo';
  return [d, code === 'ENOENT' || code === 'ENOTDIR' ? 'path_missing' : 'path_unresolvable'];
}

/** Turns a current classification into its `operation_superseded` form; the earlier facts stay, marked stale. */
export function markSuperseded(c: WorkspaceClassification, newerGeneration: number): WorkspaceClassification {
  if (c.state === 'operation_superseded') return c;
  const observedStates = orderStates(['operation_superseded', ...c.observedStates]);
  const a = assess({
    observedStates,
    operation: c.operation,
    commandClass: c.gitFacts.commandClass,
    runsGit: c.dependsOnGit,
    remoteState: c.gitFacts.remoteState,
  });
  const out: WorkspaceClassification = {
    ...c,
    state: 'operation_superseded',
    observedStates,
    severity: a.severity,
    actionability: a.actionability,
    expectedNegativeState: a.expectedNegativeState,
    gitFacts: { ...c.gitFacts, failureReason: 'superseded_by_newer_classification' },
    supersededByGeneration: newerGeneration,
  };
  if (a.remediation !== undefined) out.remediation = a.remediation;
  else delete out.remediation;
  return out;
}

export class WorkspaceClassifier {
  private readonly files: FileCache;
  private readonly privacy: PathPrivacy;
  private readonly generations: WorkspaceGenerations;

  constructor(options: WorkspaceClassifierOptions = {}) {
    this.files = new FileCache({
      clock: options.clock ?? systemClock,
      racyWindowMs: options.racyWindowMs ?? DEFAULT_RACY_WINDOW_MS,
      maxEntries: options.maxCachedFiles ?? 4096,
    });
    const home = options.homeDir === undefined ? homedir() : options.homeDir;
    const homes: Array<string | null> = [home];
    if (home) {
      // Paths are compared in canonical form, so the canonical home must match too (e.g. /home -> /usr/home).
      try {
        homes.push(realpathSync.native(home));
      } catch {
        // A home folder that does not exist redacts nothing extra.
      }
    }
    this.privacy = new PathPrivacy(usableHomeDirs(homes), options.pathDigestSalt ?? '');
    this.generations = new WorkspaceGenerations(options.maxTrackedWorkspaces);
  }

  classify(path: string, options: ClassifyOptions = {}): WorkspaceClassification {
    const operation = options.operation ?? 'passive_discovery';
    if (!(OPERATIONS as readonly string[]).includes(operation)) {
      throw validationError(`operation must be one of ${OPERATIONS.join(', ')}`);
    }
    if (options.commandClass !== undefined && !(COMMAND_CLASSES as readonly string[]).includes(options.commandClass)) {
      throw validationError(`commandClass must be one of ${COMMAND_CLASSES.join(', ')}`);
    }
    if (options.runsGit !== undefined && typeof options.runsGit !== 'boolean') throw validationError('runsGit must be a boolean');
    if (typeof path !== 'string' || path === '' || path.includes('\0')) {
      throw validationError('path must be a non-empty string without NUL characters');
    }
    const generation = this.generations.take();
    const lexical = resolve(options.cwd ?? process.cwd(), path);

    let canonical: string;
    try {
      // The physical path, as Git sees it from its working directory: symlinked spellings of one checkout are
      // one workspace, with one digest.
      canonical = realpathSync.native(lexical);
    } catch (e) {
      return this.build(...unresolvable(e), lexical, operation, options, generation);
    }
    return this.build(discover(canonical, this.files), 'no_repository_found', canonical, operation, options, generation);
  }

  /** The classification itself while it is the newest of its workspace; its `operation_superseded` form after. */
  current(c: WorkspaceClassification): WorkspaceClassification {
    const newest = this.generations.newestFor(c.workspaceKey);
    return newest > c.generation ? markSuperseded(c, newest) : c;
  }

  isCurrent(c: WorkspaceClassification): boolean {
    return !this.generations.isSuperseded(c.workspaceKey, c.generation);
  }

  private build(
    d: Discovery,
    notARepoReason: string,
    canonical: string,
    operation: WorkspaceOperation,
    options: ClassifyOptions,
    generation: number,
  ): WorkspaceClassification {
    const observed: GitWorkspaceStateName[] = [];
    if (d.failure !== null) observed.push(d.failure.state);
    if (d.location !== null) observed.push(d.location);
    const remoteState = remoteStateOf(d);
    if (d.failure === null && (d.location === 'repo_root' || d.location === 'inside_worktree')) {
      if (d.head?.detached === true) observed.push('detached_head');
      if (remoteState === 'missing') observed.push('worktree_no_remote');
    }
    const observedStates = orderStates(observed);
    const a = assess({ observedStates, operation, commandClass: options.commandClass, runsGit: options.runsGit, remoteState });

    const pathEvidence = this.privacy.evidence(canonical);
    const gitFacts: GitFacts = {
      branch: d.head?.branch ?? null,
      headSha: d.head?.headSha ?? null,
      remoteState,
      worktreeRootDigest: d.worktreeRoot === null ? null : this.privacy.digest(d.worktreeRoot),
      gitDirDigest: d.gitDir === null ? null : this.privacy.digest(d.gitDir),
    };
    const failureReason = d.failure?.reason ?? (d.location === 'not_a_repo' ? notARepoReason : undefined);
    if (failureReason !== undefined) gitFacts.failureReason = failureReason;
    if (options.commandClass !== undefined) gitFacts.commandClass = options.commandClass;

    const workspaceKey = gitFacts.worktreeRootDigest ?? gitFacts.gitDirDigest ?? pathEvidence.pathDigest;
    const result: WorkspaceClassification = {
      state: observedStates[0]!,
      observedStates,
      severity: a.severity,
      operation,
      actionability: a.actionability,
      expectedNegativeState: a.expectedNegativeState,
      location: d.location,
      worktreeKind: d.worktreeKind,
      dependsOnGit: a.dependsOnGit,
      pathEvidence,
      gitFacts,
      workspaceKey,
      generation,
    };
    if (a.remediation !== undefined) result.remediation = a.remediation;
    const newest = this.generations.record(workspaceKey, generation);
    return newest > generation ? markSuperseded(result, newest) : result;
  }
}

let defaultClassifier: WorkspaceClassifier | undefined;

/** Classifies with a process-wide classifier (shared caches and generations). */
export function classifyWorkspace(path: string, options?: ClassifyOptions): WorkspaceClassification {
  defaultClassifier ??= new WorkspaceClassifier();
  return defaultClassifier.classify(path, options);
}
