/**
 * JSON.parse that refuses duplicate object keys anywhere in the document. `{"outcome":"crashed","outcome":"completed"}`
 * must never be read as either outcome, so a duplicate is an error, not "last one wins". It also refuses numbers
 * JSON.parse can only read as ±Infinity, and nesting deeper than a limit.
 *
 * JSON.parse does the real parsing (fast, native); a single linear scan over the text then checks each object's
 * keys. The scan only runs on text JSON.parse accepted, so it can assume well-formed input.
 */
import { pointerToken } from '../contracts/messages.js';
import { UNPAIRED_SURROGATE, UNSTORABLE_CHARACTERS } from '../text.js';

export class DuplicateKeyError extends Error {
  constructor(readonly key: string, readonly path: string) {
    super(`duplicate key ${JSON.stringify(key)} at ${path || '/'}`);
  }
}

/**
 * A document nested deeper than the limit. JSON.parse takes any depth, but what reads the value afterwards
 * (canonical hashing, schema validation) recurses: a few thousand levels overflowed the stack, a 500.
 */
export class NestingTooDeepError extends Error {
  constructor(readonly maxDepth: number, readonly path: string) {
    super(`nested deeper than ${maxDepth} levels at ${path || '/'}`);
  }
}

/**
 * A number too large for a 64-bit float (`1e400`, or 400 digits), which JSON.parse reads as ±Infinity. Nothing can
 * carry it on: canonical JSON (RFC 8785) has no form for it, and JSON.stringify would quietly write null.
 */
export class NumberOutOfRangeError extends Error {
  constructor(readonly path: string) {
    super(`number out of range at ${path}`);
  }
}

/**
 * Whether a string has an unpaired surrogate. JSON carries one only as an escape (`"\ud800"`). Such a string is
 * hashed as it is but stored as UTF-8, with U+FFFD in its place: a receipt field holding one no longer matched its
 * hash once stored, and the tenant's chain failed verification. The HTTP layer refuses it in every string of a
 * body, as it refuses NUL; the ledger refuses it in every field it stores as text (contentHash).
 */
export function hasUnpairedSurrogate(s: string): boolean {
  return UNPAIRED_SURROGATE.test(s);
}

export function parseStrictJson(text: string, maxDepth = Infinity): unknown {
  const value: unknown = JSON.parse(text);
  if (scan(text, maxDepth)) {
    const at = locate(value, '', (v) => typeof v === 'number' && !Number.isFinite(v));
    if (at !== undefined) throw new NumberOutOfRangeError(at || '/');
  }
  return value;
}

const QUOTE = 34, BACKSLASH = 92, LBRACE = 123, RBRACE = 125, LBRACKET = 91, RBRACKET = 93, COLON = 58;
const DIGIT_0 = 48, DIGIT_9 = 57, LOWER_E = 101, UPPER_E = 69;

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Also refuses nesting deeper than `maxDepth` containers (NestingTooDeepError), in the same scan. */
export function assertNoDuplicateKeys(text: string, maxDepth = Infinity): void {
  scan(text, maxDepth);
}

/** The digits of a number's integer part beyond which it may exceed 1.8e308 (a float's largest, 309 digits). */
const LONGEST_SAFE_DIGITS = 308;

/**
 * The duplicate-key and depth checks; answers whether a number may be out of range: one with an exponent, or more
 * than LONGEST_SAFE_DIGITS digits in a row (both rare in requests), or any number of a document the fast path
 * did not scan. The caller then looks at the numbers themselves.
 */
function scan(text: string, maxDepth: number): boolean {
  // Fast path: no object can repeat a key if there are fewer than two keys in the whole document, and it cannot nest
  // too deep with too few brackets.
  // (indexOf twice, not lastIndexOf: V8's lastIndexOf walks the string a character at a time, ~1 µs on a token.)
  const colon = text.indexOf(':');
  if ((colon === -1 || text.indexOf(':', colon + 1) === -1) && !mayNestDeeperThan(text, maxDepth)) return true;
  // One frame per open container: the keys seen so far for objects, null for arrays; plus the key (or '*') each
  // container sits under, for the error message only.
  const frames: (string[] | Set<string> | null)[] = [];
  const path: string[] = [];
  const n = text.length;
  let i = 0;
  let digits = 0;
  let mayOverflow = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    // Outside strings a digit is part of a number; an e or E right after one is an exponent (true and false have
    // theirs after a letter).
    if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (++digits > LONGEST_SAFE_DIGITS) mayOverflow = true;
      i++;
      continue;
    }
    if ((c === LOWER_E || c === UPPER_E) && digits > 0) mayOverflow = true;
    digits = 0;
    if (c === QUOTE) {
      // Jump between quotes natively; a quote preceded by an odd run of backslashes is escaped.
      const start = i;
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return mayOverflow; // unterminated: not JSON, and JSON.parse has refused it already
      i = end + 1;
      const top = frames.length > 0 ? frames[frames.length - 1] : undefined;
      if (top) {
        let j = i;
        while (j < n && isWs(text.charCodeAt(j))) j++;
        if (text.charCodeAt(j) === COLON) {
          const bs = text.indexOf('\\', start);
          const key = bs !== -1 && bs < end ? (JSON.parse(text.slice(start, end + 1)) as string) : text.slice(start + 1, end);
          if (!addKey(frames, top, key)) throw new DuplicateKeyError(key, pointer(path, frames.length - 1));
          path[frames.length - 1] = key;
          i = j + 1;
        }
      }
      continue;
    }
    if (c === LBRACE || c === LBRACKET) {
      if (frames.length >= maxDepth) throw new NestingTooDeepError(maxDepth, pointer(path, frames.length));
      frames.push(c === LBRACE ? [] : null);
      if (c === LBRACKET) path[frames.length - 1] = '*';
    } else if (c === RBRACE || c === RBRACKET) {
      frames.pop();
    }
    i++;
  }
  return mayOverflow;
}

/**
 * Where the first value (`bad`) or object key (`badKey`) found wrong is in a parsed document: `root` followed by its
 * JSON Pointer (`body/from/id`), or undefined. Iterative, since a document's depth may be unlimited; a container's
 * path is built only when it is entered, and a document of one key allocates next to nothing.
 */
export function locate(value: unknown, root: string, bad: (v: unknown) => boolean, badKey?: (key: string) => boolean): string | undefined {
  if (bad(value)) return root;
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: [object, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    const children: [object, string][] = [];
    const visit = (child: unknown, key: string): boolean => {
      if (bad(child)) return true;
      if (typeof child === 'object' && child !== null) children.push([child, `${path}/${segment(key)}`]);
      return false;
    };
    if (Array.isArray(v)) {
      for (let k = 0; k < v.length; k++) if (visit(v[k], String(k))) return `${path}/${k}`;
    } else {
      for (const key in v) {
        if (badKey?.(key) || visit((v as Record<string, unknown>)[key], key)) return `${path}/${segment(key)}`;
      }
    }
    // Deeper containers in document order: the first thing wrong is the one reported.
    for (let k = children.length - 1; k >= 0; k--) stack.push(children[k]!);
  }
  return undefined;
}

/**
 * Whether `text` has more than `max` opening brackets at all (those inside strings counted too: an upper bound).
 * Counted with indexOf, which skips natively over the long bracket-free runs most bodies are (tokens, ids, text).
 */
function mayNestDeeperThan(text: string, max: number): boolean {
  if (max === Infinity || text.length <= max) return false;
  let open = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i !== -1; i = text.indexOf(bracket, i + 1)) if (++open > max) return true;
  }
  return false;
}

function isEscaped(text: string, quote: number): boolean {
  let k = quote - 1;
  while (text.charCodeAt(k) === BACKSLASH) k--;
  return (quote - 1 - k) % 2 === 1;
}

// Most objects have a handful of keys: a linear scan of a small array beats allocating a Set; big objects switch.
const SMALL_OBJECT = 16;

function addKey(frames: (string[] | Set<string> | null)[], top: string[] | Set<string>, key: string): boolean {
  if (Array.isArray(top)) {
    if (top.includes(key)) return false;
    top.push(key);
    if (top.length > SMALL_OBJECT) frames[frames.length - 1] = new Set(top);
    return true;
  }
  if (top.has(key)) return false;
  top.add(key);
  return true;
}

/** JSON Pointer (RFC 6901) of the object at `depth`, built only when a duplicate is reported. */
function pointer(path: readonly string[], depth: number): string {
  return '/' + path.slice(0, depth).map(segment).join('/');
}

/** A key as a JSON Pointer token; a NUL or a lone surrogate shows as visible `\uXXXX`, never as itself. */
function segment(key: string): string {
  return pointerToken(key).replace(UNSTORABLE_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
