/**
 * JSON.parse that refuses duplicate object keys anywhere in the document. `{"outcome":"crashed","outcome":"completed"}`
 * must never be read as either outcome, so a duplicate is an error, not "last one wins".
 *
 * JSON.parse does the real parsing (fast, native); a single linear scan over the text then checks each object's
 * keys. The scan only runs on text JSON.parse accepted, so it can assume well-formed input.
 */
export class DuplicateKeyError extends Error {
  constructor(readonly key: string, readonly path: string) {
    super(`duplicate key ${JSON.stringify(key)} at ${path || '/'}`);
  }
}

export function parseStrictJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  assertNoDuplicateKeys(text);
  return value;
}

const QUOTE = 34, BACKSLASH = 92, LBRACE = 123, RBRACE = 125, LBRACKET = 91, RBRACKET = 93, COLON = 58;

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

export function assertNoDuplicateKeys(text: string): void {
  // Fast path: no object can repeat a key if there are fewer than two keys in the whole document.
  if (text.indexOf(':') === text.lastIndexOf(':')) return;
  // One frame per open container: a Set of keys for objects, null for arrays; plus a parallel path for messages.
  const frames: (Set<string> | null)[] = [];
  const path: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === QUOTE) break;
        i++;
      }
      const end = i; // index of closing quote
      i++;
      const top = frames.length > 0 ? frames[frames.length - 1] : undefined;
      if (top) {
        let j = i;
        while (j < n && isWs(text.charCodeAt(j))) j++;
        if (text.charCodeAt(j) === COLON) {
          const raw = text.slice(start, end + 1);
          const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
          if (top.has(key)) throw new DuplicateKeyError(key, '/' + path.slice(0, frames.length - 1).join('/'));
          top.add(key);
          path[frames.length - 1] = key.replace(/~/g, '~0').replace(/\//g, '~1');
          i = j + 1;
        }
      }
      continue;
    }
    if (c === LBRACE) {
      frames.push(new Set());
    } else if (c === LBRACKET) {
      frames.push(null);
      path[frames.length - 1] = '*';
    } else if (c === RBRACE || c === RBRACKET) {
      frames.pop();
    }
    i++;
  }
}
