import { basename, dirname, join, resolve } from 'node:path';
import { entryKind, ProbeFailure, type FileCache } from './fs-probe.js';
import type { GitConfigFacts } from './git-config.js';
import { looksLikeGitDir, readConfig, readHead, readLayout, type GitDirLayout, type HeadFacts } from './git-dir.js';
import type { WorkspaceLocation, WorktreeKind } from './types.js';

/**
 * Finding the repository a path belongs to, the way Git's own discovery walks: from the path up to the filesystem
 * root, at each directory first `<dir>/.git` (a directory, or a file naming the Git directory of a linked worktree
 * or submodule), then `<dir>` itself as a Git directory (bare repository, or somewhere inside a `.git`).
 *
 * One deliberate difference from Git: a `.git` that exists but is damaged ends the walk as `corrupt_repo`. Git
 * would skip it and keep walking, and could then run the command against an enclosing repository the user did not
 * mean, which is exactly the accident this classification exists to prevent.
 *
 * "Damaged" means what makes Git refuse or misread the directory: a missing or unparsable HEAD, `.git` file or
 * `commondir`, missing objects/ or refs/, a malformed ref or packed-refs. The object graph itself is not walked
 * (that is `git fsck`, far too slow to run before every command).
 *
 * Paths are compared as given by the caller, who passes a canonical (symlink-resolved) absolute path. Paths read
 * from `.git` files and `commondir` are resolved lexically against it. GIT_DIR, GIT_CEILING_DIRECTORIES and
 * filesystem-boundary limits are environment of a Git process, not of a path, and are not applied.
 */
export interface Discovery {
  location: WorkspaceLocation | null;
  worktreeRoot: string | null;
  gitDir: string | null;
  worktreeKind: WorktreeKind | null;
  head: HeadFacts | null;
  config: GitConfigFacts | null;
  /** The config exists but reading it failed (the failure below says how). */
  configUnreadable: boolean;
  /** Set when reading stopped at something denied or damaged; the fields above hold what was known by then. */
  failure: ProbeFailure | null;
}

const GITFILE_RE = /^gitdir:\s*(.+?)\s*$/;

function readGitFile(dotGit: string, dir: string, files: FileCache): string {
  const text = files.readText(dotGit, 'gitfile') ?? '';
  const m = GITFILE_RE.exec(text.split('\n', 1)[0] ?? '');
  if (m === null) throw new ProbeFailure('corrupt_repo', 'gitfile_malformed');
  const target = resolve(dir, m[1]!);
  if (entryKind(target) !== 'dir') throw new ProbeFailure('corrupt_repo', 'gitfile_target_missing');
  return target;
}

/** The working tree a Git directory belongs to, for a path found inside that Git directory. */
function owningWorktree(gitDir: string, config: GitConfigFacts, files: FileCache): string | null {
  if (config.worktree !== null) return resolve(gitDir, config.worktree);
  if (basename(gitDir) === '.git') return dirname(gitDir);
  // A linked worktree's admin dir (.git/worktrees/<name>) records where the worktree's `.git` file is.
  const back = files.readText(join(gitDir, 'gitdir'), 'gitdir_backlink');
  return back === null || back.trim() === '' ? null : dirname(resolve(gitDir, back.trim()));
}

/** Reads layout and config of d.gitDir: enough to know where the path sits, before HEAD is read. */
function openGitDir(d: Discovery, files: FileCache): GitDirLayout {
  const layout = readLayout(d.gitDir!, files);
  try {
    d.config = readConfig(layout, files);
  } catch (e) {
    d.configUnreadable = true;
    throw e;
  }
  return layout;
}

function walk(target: string, d: Discovery, files: FileCache): void {
  // No stat of the target itself: when it is a file, `<file>/.git` and `<file>/HEAD` answer ENOTDIR (missing),
  // and the walk moves on to its folder, one level up, as it should.
  let dir = target;
  for (;;) {
    const dotGit = join(dir, '.git');
    const kind = entryKind(dotGit);
    if (kind !== 'missing') {
      d.worktreeRoot = dir;
      d.location = dir === target ? 'repo_root' : 'inside_worktree';
      if (kind === 'other') throw new ProbeFailure('corrupt_repo', 'dotgit_not_file_or_dir');
      d.gitDir = kind === 'dir' ? dotGit : readGitFile(dotGit, dir, files);
      const layout = openGitDir(d, files);
      d.worktreeKind = layout.commonDir === layout.gitDir ? 'main' : 'linked';
      if (kind === 'dir' && d.config!.bare === true) {
        // A `.git` directory configured as bare has no working tree: Git refuses worktree commands in it.
        d.location = 'bare_repo';
        d.worktreeRoot = null;
        d.worktreeKind = null;
      }
      d.head = readHead(layout, files);
      return;
    }
    if (looksLikeGitDir(dir)) {
      d.gitDir = dir;
      // Until the config is read: a `.git` or a worktree admin dir is never a bare repository.
      const insideDotGit = basename(dir) === '.git' || entryKind(join(dir, 'commondir')) === 'file';
      d.location = insideDotGit ? 'inside_git_dir' : 'bare_repo';
      const layout = openGitDir(d, files);
      // Git's rule: core.bare decides; unset, a Git directory not named `.git` is bare.
      const bare = d.config!.bare ?? !insideDotGit;
      d.location = bare ? 'bare_repo' : 'inside_git_dir';
      if (!bare) d.worktreeRoot = owningWorktree(dir, d.config!, files);
      d.head = readHead(layout, files);
      return;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      d.location = 'not_a_repo';
      return;
    }
    dir = parent;
  }
}

/** A discovery that has found nothing yet: where discover() starts, and the base of what an unresolvable path reports. */
export function emptyDiscovery(): Discovery {
  return {
    location: null,
    worktreeRoot: null,
    gitDir: null,
    worktreeKind: null,
    head: null,
    config: null,
    configUnreadable: false,
    failure: null,
  };
}

/** Discovers the repository of `target`, a canonical absolute path that exists. Never throws a ProbeFailure. */
export function discover(target: string, files: FileCache): Discovery {
  const d = emptyDiscovery();
  try {
    walk(target, d, files);
  } catch (e) {
    if (!(e instanceof ProbeFailure)) throw e;
    d.failure = e;
  }
  return d;
}
