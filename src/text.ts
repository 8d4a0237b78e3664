/**
 * Lengths as users and JSON Schema count them: in characters (code points). String#length counts UTF-16 units,
 * two for every character outside the BMP (an emoji, say), and a cut by units can split one in half.
 */

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
