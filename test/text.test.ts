import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atMostCharacters, characterCount, quotedOneLine } from '../src/text.js';

test('characters are code points: an emoji is one, never cut in half', () => {
  assert.equal(characterCount('a😀b'), 3);
  assert.equal(characterCount(''), 0);
  assert.equal(atMostCharacters('abc', 3), 'abc');
  assert.equal(atMostCharacters('😀😀😀', 3), '😀😀😀', 'six UTF-16 units, three characters: nothing to cut');
  assert.equal(atMostCharacters('😀😀😀😀', 3), '😀😀…');
  assert.equal(atMostCharacters('abcdef', 4), 'abc…');
});

test('quotedOneLine: a JSON string literal with every control character and line break escaped', () => {
  for (const s of ['a\nb', 'bell\u0007', 'del\u007f', 'csi\u009b2J', 'ls\u2028ps\u2029', 'plain — ✓ 😀']) {
    const q = quotedOneLine(s);
    assert.equal(JSON.parse(q), s, 'still JSON meaning the same text');
    assert.doesNotMatch(q, /[\p{Cc}\u2028\u2029]/u, q);
  }
  assert.equal(quotedOneLine('csi\u009b'), '"csi\\u009b"');
});
