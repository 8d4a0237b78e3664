import { join, resolve } from 'node:path';
import { entryKind, ProbeFailure, type FileCache } from './fs-probe.js';
import { EMPTY_CONFIG, mergeConfigFacts, parseGitConfig, type GitConfigFacts } from './git-config.js';

/**
 * Reading one Git directory the way Git lays it out on disk (files ref backend): HEAD, loose refs, packed-refs,
 * config, and for linked worktrees the `commondir` that points at the shared repository. Everything that makes Git
 * refuse or misread the directory is a ProbeFailure with a short reason; nothing here spawns `git`.
 */

export interface GitDirLayout {
  /** The per-worktree Git directory: HEAD lives here (`.git`, or `.git/worktrees/<name>` for a linked worktree). */
  gitDir: string;
  /** The shared directory: objects, refs, packed-refs, config. Equal to gitDir except for linked worktrees. */
  commonDir: string;
}

export interface HeadFacts {
  /** Short name under refs/heads/, the full ref name elsewhere; null when detached or unknown. */
  branch: string | null;
  headSha: string | null;
  detached: boolean;
  /** `reftable` repositories keep refs in a binary table this reader does not parse: branch and sha stay null. */
  refStorage: 'files' | 'reftable';
}

const OBJECT_ID_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const MAX_SYMREF_DEPTH = 5;
/** What Git writes into HEAD of a reftable repository so that older Git versions refuse it. */
const REFTABLE_HEAD_STUB = 'refs/heads/.invalid';

export function isObjectId(s: string): boolean {
  return OBJECT_ID_RE.test(s);
}

/** `git check-ref-format` for a full ref name under refs/ (the rules that matter for reading one from disk). */
export function isValidRefName(name: string): boolean {
  if (!name.startsWith('refs/') || name.endsWith('/') || name.endsWith('.') || name.includes('..')) return false;
  if (name.includes('@{') || name.includes('//')) return false;
  // Control characters, space and the characters revision syntax reserves.
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  for (const component of name.split('/')) {
    if (component === '' || component.startsWith('.') || component.endsWith('.lock')) return false;
  }
  return true;
}

/** Refs Git keeps per worktree (in gitDir); every other ref lives in commonDir. */
function isPerWorktreeRef(name: string): boolean {
  return name.startsWith('refs/bisect/') || name.startsWith('refs/worktree/') || name.startsWith('refs/rewritten/');
}

/** The layout of a Git directory: follows `commondir` (linked worktrees) and checks objects/ and refs/ exist. */
export function readLayout(gitDir: string, files: FileCache): GitDirLayout {
  const commondir = files.readText(join(gitDir, 'commondir'), 'commondir');
  let commonDir = gitDir;
  if (commondir !== null) {
    const target = commondir.trim();
    if (target === '') throw new ProbeFailure('corrupt_repo', 'commondir_malformed');
    commonDir = resolve(gitDir, target);
    if (entryKind(commonDir) !== 'dir') throw new ProbeFailure('corrupt_repo', 'commondir_target_missing');
  }
  if (entryKind(join(commonDir, 'objects')) !== 'dir') throw new ProbeFailure('corrupt_repo', 'objects_dir_missing');
  if (entryKind(join(commonDir, 'refs')) !== 'dir') throw new ProbeFailure('corrupt_repo', 'refs_dir_missing');
  return { gitDir, commonDir };
}

interface PackedRefs {
  refs: Map<string, string>;
  malformed: boolean;
}

function parsePackedRefs(text: string): PackedRefs {
  const refs = new Map<string, string>();
  let malformed = false;
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#' || line[0] === '^') continue; // header, peeled-tag lines
    const space = line.indexOf(' ');
    const sha = line.slice(0, space);
    const name = line.slice(space + 1);
    if (space < 0 || !isObjectId(sha) || !isValidRefName(name)) malformed = true;
    else refs.set(name, sha);
  }
  return { refs, malformed };
}

function packedRef(layout: GitDirLayout, name: string, files: FileCache): string | null {
  const packed = files.readParsed(join(layout.commonDir, 'packed-refs'), 'packed_refs', parsePackedRefs);
  if (packed === null) return null;
  // Git stops at the first line it cannot read: a damaged packed-refs makes every ref lookup unreliable.
  if (packed.malformed) throw new ProbeFailure('corrupt_repo', 'packed_refs_malformed');
  return packed.refs.get(name) ?? null;
}

/** Resolves a ref name to an object id through loose refs, symbolic refs and packed-refs; null when it does not exist. */
function resolveRef(layout: GitDirLayout, start: string, files: FileCache): string | null {
  let name = start;
  for (let depth = 0; depth < MAX_SYMREF_DEPTH; depth++) {
    const dir = isPerWorktreeRef(name) ? layout.gitDir : layout.commonDir;
    const loose = files.readTextUnlessDir(join(dir, name), 'ref');
    if (loose === null) return packedRef(layout, name, files);
    const content = loose.trim();
    if (isObjectId(content)) return content;
    if (content.startsWith('ref:')) {
      const target = content.slice(4).trim();
      if (!isValidRefName(target)) throw new ProbeFailure('corrupt_repo', 'ref_malformed');
      name = target;
      continue;
    }
    throw new ProbeFailure('corrupt_repo', content === '' ? 'ref_truncated' : 'ref_malformed');
  }
  throw new ProbeFailure('corrupt_repo', 'symref_loop');
}

export function readHead(layout: GitDirLayout, files: FileCache): HeadFacts {
  const text = files.readText(join(layout.gitDir, 'HEAD'), 'head');
  if (text === null) throw new ProbeFailure('corrupt_repo', 'head_missing');
  const content = text.trim();
  if (content === '') throw new ProbeFailure('corrupt_repo', 'head_truncated');
  if (isObjectId(content)) return { branch: null, headSha: content, detached: true, refStorage: 'files' };
  if (!content.startsWith('ref:')) throw new ProbeFailure('corrupt_repo', 'head_malformed');
  const ref = content.slice(4).trim();
  if (ref === REFTABLE_HEAD_STUB && entryKind(join(layout.commonDir, 'reftable')) === 'dir') {
    return { branch: null, headSha: null, detached: false, refStorage: 'reftable' };
  }
  if (!isValidRefName(ref)) throw new ProbeFailure('corrupt_repo', 'head_malformed');
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
  return { branch, headSha: resolveRef(layout, ref, files), detached: false, refStorage: 'files' };
}

/** The shared config, plus the per-worktree `config.worktree` when the repository enables it. */
export function readConfig(layout: GitDirLayout, files: FileCache): GitConfigFacts {
  const base = files.readParsed(join(layout.commonDir, 'config'), 'config', parseGitConfig) ?? EMPTY_CONFIG;
  if (!base.worktreeConfig) return base;
  const perWorktree = files.readParsed(join(layout.gitDir, 'config.worktree'), 'config', parseGitConfig);
  return perWorktree === null ? base : mergeConfigFacts(base, perWorktree);
}

/** Whether `dir` is itself a Git directory (bare repository, `.git`, or a worktree's admin dir), Git's test. */
export function looksLikeGitDir(dir: string): boolean {
  if (entryKind(join(dir, 'HEAD')) !== 'file') return false;
  if (entryKind(join(dir, 'commondir')) === 'file') return true;
  return entryKind(join(dir, 'objects')) === 'dir' && entryKind(join(dir, 'refs')) === 'dir';
}
