import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atMostCharacters, characterCount } from '../src/text.js';

test('characters are code points: an emoji is one, never cut in half', () => {
  assert.equal(characterCount('a😀b'), 3);
  assert.equal(characterCount(''), 0);
  assert.equal(atMostCharacters('abc', 3), 'abc');
  assert.equal(atMostCharacters('😀😀😀', 3), '😀😀😀', 'six UTF-16 units, three characters: nothing to cut');
  assert.equal(atMostCharacters('😀😀😀😀', 3), '😀😀…');
  assert.equal(atMostCharacters('abcdef', 4), 'abc…');
});
