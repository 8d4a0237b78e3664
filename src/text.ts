/**
 * Text as users, JSON Schema and the stores see it. Lengths count characters (code points): String#length counts
 * UTF-16 units, two for every character outside the BMP (an emoji, say), and a cut by units can split one in half.
 * And some characters a JavaScript string can hold, no stored text can.
 */

/** A UTF-16 surrogate with no partner: a string JavaScript can hold but UTF-8 (and so no backend) can. */
export const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every character no stored text may hold: U+0000 (PostgreSQL text cannot) and unpaired surrogates. Global: for replace. */
export const UNSTORABLE_CHARACTERS = new RegExp(`\0|${UNPAIRED_SURROGATE.source}`, 'g');

/** How many characters (code points) `s` holds: what Ajv's maxLength counts. */
export function characterCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** `s` cut to at most `max` characters, the last one an ellipsis when anything was cut; never half a character. */
export function atMostCharacters(s: string, max: number): string {
  if (s.length <= max) return s;
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/** Characters JSON.stringify leaves as they are that still break a line or drive a terminal: DEL, C1, U+2028/9. */
const UNESCAPED_CONTROLS = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * `s` as a JSON string literal that is one line of inert text: JSON.stringify escapes C0 controls (a newline, an
 * escape) but writes DEL, the C1 controls (U+009B starts a terminal control sequence) and the Unicode line and
 * paragraph separators as they are; these are written as \uXXXX escapes too. Still valid JSON, meaning the same.
 */
export function quotedOneLine(s: string): string {
  return JSON.stringify(s).replace(UNESCAPED_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `s` as it is when it holds no control character or line break (see quotedOneLine), else quoted and escaped: for
 * names printed bare in a line of output (quittance verify), which a name stored before such names were refused
 * could otherwise split into a forged line of its own or fill with terminal control sequences.
 */
export function shownOneLine(s: string): string {
  return /[\p{Cc}\u2028\u2029]/u.test(s) ? quotedOneLine(s) : s;
}
