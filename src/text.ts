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
