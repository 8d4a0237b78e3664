import { createHash } from 'node:crypto';
import { basename, dirname, parse, sep } from 'node:path';
import type { PathEvidence, PathRedaction } from './types.js';

/**
 * Path privacy: a classification carries a path only as a digest and a redacted hint, never raw (DESIGN §8).
 *
 * The digest is `sha256:` + hex of (salt ‖ canonical absolute path, UTF-8). With the default empty salt the same
 * workspace has the same digest in every process and on every machine that shares the path, so records can be
 * joined; a deployment that fears dictionary guessing of common paths (`/home/<name>/src/<project>`) sets a secret
 * salt and gives that up.
 *
 * The hint shows the last path segment only, prefixed by `~/` when the path is under the home folder and by `…/`
 * for every elided parent: `~/…/quittance`, `…/build`. Why only the last segment: the parents are where the
 * personal and organisational names live (user names, client and employer folders, mount points), while the last
 * segment is what a person needs to recognise which checkout a record is about. A path directly under home or the
 * filesystem root shows that one segment in place, which reveals nothing more. The segment is cut to 64
 * characters and control characters become `?`, so a hint is always a short single line.
 */

const HINT_SEGMENT_MAX = 64;

function cleanSegment(segment: string): string {
  const clean = segment.replace(/[\x00-\x1f\x7f]/g, '?');
  if (clean.length <= HINT_SEGMENT_MAX) return clean;
  // Cut between characters: a cut through a surrogate pair (an emoji in a folder name) would leave half of one,
  // malformed Unicode that the ledger refuses in every request, in the document it stores.
  let end = HINT_SEGMENT_MAX - 1;
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return clean.slice(0, end) + '…';
}

export function redactPath(absPath: string, homeDirs: readonly string[]): { hint: string; redaction: PathRedaction } {
  for (const home of homeDirs) {
    if (absPath === home) return { hint: '~', redaction: 'user_home_redacted' };
    if (absPath.startsWith(home + sep)) {
      const directlyUnderHome = dirname(absPath) === home;
      return directlyUnderHome
        ? { hint: `~${sep}${cleanSegment(basename(absPath))}`, redaction: 'user_home_redacted' }
        : { hint: `~${sep}…${sep}${cleanSegment(basename(absPath))}`, redaction: 'user_home_redacted' };
    }
  }
  const { root } = parse(absPath);
  if (absPath === root) return { hint: cleanSegment(root), redaction: 'none' };
  if (dirname(absPath) === root) return { hint: root + cleanSegment(basename(absPath)), redaction: 'none' };
  return { hint: `…${sep}${cleanSegment(basename(absPath))}`, redaction: 'workspace_alias' };
}

/** Home folders worth redacting: a home that is the filesystem root (some daemons) would hide nothing. */
export function usableHomeDirs(homes: ReadonlyArray<string | null | undefined>): string[] {
  const out: string[] = [];
  for (const h of homes) {
    if (!h) continue;
    const trimmed = h.length > 1 && h.endsWith(sep) ? h.slice(0, -1) : h;
    if (trimmed === parse(trimmed).root || out.includes(trimmed)) continue;
    out.push(trimmed);
  }
  return out;
}

/**
 * Digests and evidence per canonical path, memoised: both are pure functions of the path string, so caching them
 * can never go stale. Bounded, oldest dropped first.
 */
export class PathPrivacy {
  private readonly digests = new Map<string, string>();
  private readonly evidences = new Map<string, PathEvidence>();

  constructor(
    private readonly homeDirs: readonly string[],
    private readonly salt: string = '',
    private readonly maxEntries: number = 4096,
  ) {}

  digest(absPath: string): string {
    let d = this.digests.get(absPath);
    if (d === undefined) {
      d = 'sha256:' + createHash('sha256').update(this.salt + absPath, 'utf8').digest('hex');
      remember(this.digests, absPath, d, this.maxEntries);
    }
    return d;
  }

  evidence(absPath: string): PathEvidence {
    let e = this.evidences.get(absPath);
    if (e === undefined) {
      const { hint, redaction } = redactPath(absPath, this.homeDirs);
      e = Object.freeze({ pathDigest: this.digest(absPath), redactedPathHint: hint, redaction, rawPathStored: false as const });
      remember(this.evidences, absPath, e, this.maxEntries);
    }
    return e;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}
