/**
 * The few facts the classifier needs from a Git config file, read without Git: which remotes have a URL, whether
 * the repository says it is bare, where its working tree is, and whether it pulls in other files (includes) that
 * could define remotes we did not read.
 *
 * This is a tolerant reader, not a validator: lines it does not understand are skipped, because a config Git
 * itself would reject shows up as soon as a Git command runs, and is not what "corrupt repository" means here.
 */
export interface GitConfigFacts {
  /** Remote names with a `url` or `pushurl`. */
  remotesWithUrl: string[];
  /** `core.bare`, or null when the file does not say. */
  bare: boolean | null;
  /** `core.worktree` as written (relative to the Git directory), or null. */
  worktree: string | null;
  /** `extensions.worktreeConfig`: per-worktree `config.worktree` files are read too. */
  worktreeConfig: boolean;
  /** `[include]` / `[includeIf]` present: other files may define remotes. */
  hasIncludes: boolean;
}

const SECTION_RE = /^\[\s*([A-Za-z0-9.-]+)\s*(?:"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$/;
const KEY_RE = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/;

function unquote(raw: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && i + 1 < raw.length) out += raw[++i];
    else if ((c === '#' || c === ';') && !quoted) break;
    else out += c;
  }
  return out.trim();
}

/** Git's boolean spellings; a key with no `=` is true. Anything else is not a boolean (null). */
export function parseGitBool(value: string | undefined): boolean | null {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (v === 'true' || v === 'yes' || v === 'on' || v === '1') return true;
  if (v === 'false' || v === 'no' || v === 'off' || v === '0' || v === '') return false;
  return null;
}

function endsWithContinuation(line: string): boolean {
  let n = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

export function parseGitConfig(text: string): GitConfigFacts {
  const remotes = new Set<string>();
  const facts: GitConfigFacts = { remotesWithUrl: [], bare: null, worktree: null, worktreeConfig: false, hasIncludes: false };
  let section = '';
  let subsection: string | null = null;
  let continued = false;

  const onKey = (key: string, rawValue: string | undefined): void => {
    const value = rawValue === undefined ? undefined : unquote(rawValue);
    if (section === 'remote' && subsection !== null && (key === 'url' || key === 'pushurl') && value) {
      remotes.add(subsection);
    } else if (section === 'core' && subsection === null && key === 'bare') {
      facts.bare = parseGitBool(value);
    } else if (section === 'core' && subsection === null && key === 'worktree' && value) {
      facts.worktree = value;
    } else if (section === 'extensions' && key === 'worktreeconfig') {
      facts.worktreeConfig = parseGitBool(value) === true;
    } else if ((section === 'include' || section === 'includeif') && key === 'path') {
      facts.hasIncludes = true;
    }
  };

  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (continued) {
      // The previous value went on with a trailing backslash: this line is value text, not a key.
      continued = endsWithContinuation(line);
      continue;
    }
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    let rest = line;
    if (line[0] === '[') {
      const m = SECTION_RE.exec(line);
      if (m === null) continue;
      const name = m[1]!;
      if (m[2] !== undefined) {
        section = name.toLowerCase();
        subsection = m[2].replace(/\\(.)/g, '$1');
      } else {
        // The deprecated `[remote.origin]` spelling: the subsection is the part after the first dot.
        const dot = name.indexOf('.');
        section = (dot < 0 ? name : name.slice(0, dot)).toLowerCase();
        subsection = dot < 0 ? null : name.slice(dot + 1).toLowerCase();
      }
      rest = m[3] ?? '';
      if (rest === '' || rest[0] === '#' || rest[0] === ';') continue;
    }
    const k = KEY_RE.exec(rest);
    if (k === null) continue;
    onKey(k[1]!.toLowerCase(), k[2]);
    continued = k[2] !== undefined && endsWithContinuation(k[2]);
  }
  facts.remotesWithUrl = [...remotes].sort();
  return facts;
}

export function mergeConfigFacts(base: GitConfigFacts, over: GitConfigFacts): GitConfigFacts {
  return {
    remotesWithUrl: [...new Set([...base.remotesWithUrl, ...over.remotesWithUrl])].sort(),
    bare: over.bare ?? base.bare,
    worktree: over.worktree ?? base.worktree,
    worktreeConfig: base.worktreeConfig,
    hasIncludes: base.hasIncludes || over.hasIncludes,
  };
}

export const EMPTY_CONFIG: GitConfigFacts = Object.freeze({
  remotesWithUrl: [],
  bare: null,
  worktree: null,
  worktreeConfig: false,
  hasIncludes: false,
}) as GitConfigFacts;
