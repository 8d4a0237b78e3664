import { readFileSync, statSync, type Stats } from 'node:fs';
import type { Clock } from '../clock.js';

/**
 * Filesystem probing for the classifier: stat and small-file reads that map OS errors to classification outcomes,
 * and a content cache that is validated by stat on every use, so a warm classification costs stats, not reads.
 *
 * Only `error.code` is ever looked at: Node's error messages contain the raw path, and nothing from them may reach a
 * classification.
 */

/** A failure that ends discovery: the state it leads to and a short machine reason (never a path). */
export class ProbeFailure extends Error {
  constructor(
    readonly state: 'permission_denied' | 'corrupt_repo',
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'ProbeFailure';
  }
}

export type EntryKind = 'dir' | 'file' | 'other' | 'missing';

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** Missing things are values; denied and broken things end discovery. */
export function failureFor(e: unknown): ProbeFailure {
  const code = errorCode(e);
  if (code === 'EACCES' || code === 'EPERM') return new ProbeFailure('permission_denied', 'access_denied');
  // ELOOP, EIO, ENAMETOOLONG, ...: the layout under the repository cannot be read as one.
  return new ProbeFailure('corrupt_repo', `fs_${code.toLowerCase()}`);
}

function isMissing(e: unknown): boolean {
  const code = errorCode(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function kindOf(st: Stats | undefined): EntryKind {
  if (st === undefined) return 'missing';
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  return 'other';
}

/** stat (following symlinks, as Git does for `.git` and refs). */
export function statEntry(path: string): { kind: EntryKind; st: Stats | undefined } {
  let st: Stats | undefined;
  try {
    // throwIfNoEntry: false makes the common "no .git here" answer an undefined instead of a thrown error.
    st = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    if (isMissing(e)) return { kind: 'missing', st: undefined };
    throw failureFor(e);
  }
  return { kind: kindOf(st), st };
}

export function entryKind(path: string): EntryKind {
  return statEntry(path).kind;
}

interface CachedFile {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  text: string;
  /** Read while the file could still change without changing its stat signature: re-read until it has settled. */
  racy: boolean;
  parser: ((text: string) => unknown) | undefined;
  parsed: unknown;
}

export interface FileCacheOptions {
  clock: Clock;
  /**
   * A file modified this recently before it was read may change again within the same timestamp tick, same size,
   * same inode, and no stat would show it (Git's "racy clean" problem). Such entries are re-read on every use
   * until they are older than this. 2 s covers the coarsest common timestamp granularity (FAT).
   */
  racyWindowMs: number;
  /** Bound on cached files; the oldest entry is dropped first. */
  maxEntries: number;
}

/**
 * Small text files (HEAD, refs, packed-refs, config, `.git` files, commondir) cached by path. Every lookup stats
 * the file first and uses the cached text only when inode, size, mtime and ctime all match and the entry is not
 * racy: a HEAD rewritten by `git switch` (new inode through lock-file rename) or in place (new size or mtime) is
 * always seen by the next classification.
 */
export class FileCache {
  private readonly entries = new Map<string, CachedFile>();

  constructor(private readonly options: FileCacheOptions) {}

  /** The file's text, or null when it does not exist. `what` names the file in failure reasons. */
  readText(path: string, what: string): string | null {
    const entry = this.lookup(path, what, false);
    return entry === null ? null : entry.text;
  }

  /** Like readText, but a directory in its place also answers null (a loose ref `a` when only `a/b` exists). */
  readTextUnlessDir(path: string, what: string): string | null {
    const entry = this.lookup(path, what, true);
    return entry === null ? null : entry.text;
  }

  /** The file parsed by `parse`, cached with the text (so e.g. packed-refs is parsed once per change). */
  readParsed<T>(path: string, what: string, parse: (text: string) => T): T | null {
    const entry = this.lookup(path, what, false);
    if (entry === null) return null;
    if (entry.parser !== parse) {
      entry.parsed = parse(entry.text);
      entry.parser = parse;
    }
    return entry.parsed as T;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private lookup(path: string, what: string, dirIsMissing: boolean): CachedFile | null {
    const { kind, st } = statEntry(path);
    if (kind === 'missing' || (kind === 'dir' && dirIsMissing)) {
      this.entries.delete(path);
      return null;
    }
    if (kind !== 'file' || st === undefined) throw new ProbeFailure('corrupt_repo', `${what}_not_a_file`);
    const now = this.options.clock.now();
    const cached = this.entries.get(path);
    if (
      cached !== undefined &&
      cached.ino === st.ino &&
      cached.size === st.size &&
      cached.mtimeMs === st.mtimeMs &&
      cached.ctimeMs === st.ctimeMs &&
      !cached.racy
    ) {
      return cached;
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      this.entries.delete(path);
      if (isMissing(e)) return null; // removed between stat and read
      throw failureFor(e);
    }
    const entry: CachedFile = {
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      text,
      racy: now - Math.max(st.mtimeMs, st.ctimeMs) < this.options.racyWindowMs,
      parser: undefined,
      parsed: undefined,
    };
    this.entries.delete(path);
    if (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(path, entry);
    return entry;
  }
}
