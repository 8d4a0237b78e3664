import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalize } from '../../src/ledger/canonical.js';
import { parseStrictJson, DuplicateKeyError, NestingTooDeepError, NumberOutOfRangeError } from '../../src/ledger/strict-json.js';
import { canonicalContent, contentHash, receiptTexts, sha256Hex } from '../../src/ledger/hashing.js';
import type { ReceiptContent } from '../../src/ledger/types.js';

test('JCS: keys sorted by UTF-16 code units, no whitespace, ES number forms (RFC 8785 examples)', () => {
  assert.equal(canonicalize({ b: 1, a: [true, null, 'x'], c: {} }), '{"a":[true,null,"x"],"b":1,"c":{}}');
  assert.equal(canonicalize({ numbers: [333333333.33333329, 1e30, 4.5, 0.002, 1e-27, -0] }), '{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27,0]}');
  assert.equal(canonicalize({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' }),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
  assert.equal(canonicalize('\u2028"\\'), '"\u2028\\"\\\\"');
  assert.throws(() => canonicalize({ x: Number.NaN }), /non-finite/);
  assert.throws(() => canonicalize({ x: 1n }), /bigint/);
});

test('JCS: key order never matters, and canonical form is a fixed point', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    const c = canonicalize(v);
    assert.equal(canonicalize(JSON.parse(c)), c);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const reversed = Object.fromEntries(Object.entries(v).reverse());
      assert.equal(canonicalize(reversed), c);
    }
  }), { numRuns: 500 });
});

test('strict JSON: accepts every document without duplicate keys, as JSON.parse reads it', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
    const text = JSON.stringify(v, null, pretty ? 2 : undefined);
    assert.deepEqual(parseStrictJson(text), JSON.parse(text));
  }), { numRuns: 500 });
});

test('strict JSON: a duplicated key anywhere is found', () => {
  const objectWithKeys = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 5 });
  fc.assert(fc.property(objectWithKeys, fc.jsonValue({ maxDepth: 2 }), fc.nat(3), (obj, dupValue, depth) => {
    const key = Object.keys(obj)[0]!;
    // Splice a second copy of `key` into the serialised object, then nest it `depth` levels deep.
    let text = JSON.stringify(obj).slice(0, -1) + ',' + JSON.stringify(key) + ':' + JSON.stringify(dupValue) + '}';
    for (let i = 0; i < depth; i++) text = i % 2 ? `{"n${i}":${text}}` : `[1,${text}]`;
    assert.throws(() => parseStrictJson(text), DuplicateKeyError);
  }), { numRuns: 500 });
});

test('strict JSON: nesting deeper than maxDepth is refused, brackets inside strings do not count; path says where', () => {
  const nest = (d: number) => '['.repeat(d) + ']'.repeat(d);
  assert.doesNotThrow(() => parseStrictJson(nest(3), 3));
  assert.throws(() => parseStrictJson(nest(4), 3), (e: unknown) => e instanceof NestingTooDeepError && e.maxDepth === 3 && e.path === '/*/*/*');
  // No colon at all (the duplicate-key fast path) and deep: still refused.
  assert.throws(() => parseStrictJson(nest(100_000), 256), NestingTooDeepError);
  // One colon, and the depth made of both kinds of bracket (each kind alone stays under the limit).
  const mixed = '['.repeat(200) + '{"a":' + nest(100) + '}' + ']'.repeat(200);
  assert.throws(() => parseStrictJson(mixed, 256), (e: unknown) => e instanceof NestingTooDeepError && e.path === `/${'*/'.repeat(200)}a${'/*'.repeat(55)}`);
  assert.doesNotThrow(() => parseStrictJson(mixed, 301));
  // A long body with no brackets but its own: the common case (a token), fine at any limit it fits.
  assert.doesNotThrow(() => parseStrictJson(JSON.stringify({ token: 'x'.repeat(5000) }), 1));
  assert.throws(() => parseStrictJson('{"a":{"b":{"c":{}}}}', 3), (e: unknown) => e instanceof NestingTooDeepError && e.path === '/a/b/c');
  assert.doesNotThrow(() => parseStrictJson(JSON.stringify({ s: '[[[[[[{{{{{{' }), 2));
  assert.doesNotThrow(() => parseStrictJson(nest(100_000)));
});

test('strict JSON: escaped spellings of the same key are the same key; path says where', () => {
  assert.throws(() => parseStrictJson('{"a":{"k":1,"\\u006b":2}}'), (e: unknown) => e instanceof DuplicateKeyError && e.key === 'k' && e.path === '/a');
  assert.throws(() => parseStrictJson('{"list":[{"x":1,"x":2}]}'), (e: unknown) => e instanceof DuplicateKeyError && e.path === '/list/*');
  assert.doesNotThrow(() => parseStrictJson('{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":1}],"s":"\\"x\\":1,\\"x\\":"}'));
  assert.throws(() => parseStrictJson('{"a":1,'), SyntaxError);
  // Keys ending in escaped backslashes, a string value holding an escaped quote before a colon.
  assert.doesNotThrow(() => parseStrictJson('{"a\\\\":1,"a":2,"v":"\\\":","b":3}'));
  assert.throws(() => parseStrictJson('{"a\\\\":1,"v":"x\\\\","a\\\\":2}'), (e: unknown) => e instanceof DuplicateKeyError && e.key === 'a\\');
  // Large objects (past the small-object fast path) too, with the path escaped as a JSON Pointer.
  const big = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
  assert.doesNotThrow(() => parseStrictJson(JSON.stringify({ 'x/y~': big })));
  assert.throws(() => parseStrictJson(JSON.stringify({ 'x/y~': big }).slice(0, -2) + ',"k33":0}}'),
    (e: unknown) => e instanceof DuplicateKeyError && e.key === 'k33' && e.path === '/x~1y~0');
});

test('canonicalContent: the hand-ordered receipt content form is exactly canonicalize(content)', () => {
  const str = fc.string({ unit: 'binary', maxLength: 12 });
  const principal = fc.record({ kind: fc.constantFrom('agent', 'worker', 'system'), id: str, instance_id: str }, { requiredKeys: ['kind', 'id'] });
  const json = fc.dictionary(str, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
  const content = fc.record({
    tenant_id: str, type: str, from: principal, to: principal, parents: fc.array(str, { maxLength: 3 }), body: json,
    task_id: str, lease_id: str, stamp_id: str, session_id: str, idempotency_key: str,
    artifacts: fc.array(fc.record({ kind: fc.constant('blob'), uri: str, size_bytes: fc.nat() }), { minLength: 1, maxLength: 2 }),
    delivery_proof: fc.record({ mode: fc.constant('push'), target: json, status: fc.constant('succeeded'), at: str, proof: json }),
  }, { requiredKeys: ['tenant_id', 'type', 'from', 'to', 'parents', 'body'] });
  fc.assert(fc.property(content, (c) => {
    const expected = canonicalize(c);
    assert.equal(canonicalContent(c as ReceiptContent), expected);
    assert.equal(canonicalContent(c as ReceiptContent, receiptTexts(c as ReceiptContent)), expected);
    assert.equal(contentHash(c as ReceiptContent), sha256Hex(expected));
  }), { numRuns: 1000 });
});

test('strict JSON: a number JSON.parse would read as infinity is refused wherever it stands; path says where', () => {
  const refused = (text: string, path: string) =>
    assert.throws(() => parseStrictJson(text), (e: unknown) => e instanceof NumberOutOfRangeError && e.path === path, text);
  refused('1e400', '/');
  refused('[0,-1E+400]', '/1');
  refused('{"a":1,"b":{"c":[2,3e999]}}', '/b/c/1');
  refused(`{"a":1,"b":${'9'.repeat(309)}}`, '/b');
  refused(`{"a":1,"b":${'9'.repeat(400)}.5}`, '/b');
  // Deeper than any stack would take, under no depth limit: the walk is not recursive.
  refused(`${'['.repeat(50_000)}1e400${']'.repeat(50_000)}`, '/0'.repeat(50_000));
  // Finite, however written; the same characters inside strings are text.
  for (const text of ['1.7976931348623157e308', '-1e308', '1e-400', `{"a":1,"b":${'9'.repeat(308)}}`, '{"a":"1e400","b":true,"c":false}', `{"a":1,"b":"${'9'.repeat(400)}"}`]) {
    assert.deepEqual(parseStrictJson(text), JSON.parse(text), text);
  }
});

test('strict JSON: any finite document is read as JSON.parse reads it, with or without exponents', () => {
  fc.assert(fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 20 }), fc.string({ maxLength: 4 }), (numbers, key) => {
    const text = JSON.stringify({ [key]: numbers, k: numbers.map((n) => ({ n })) });
    assert.deepEqual(parseStrictJson(text), JSON.parse(text));
  }), { numRuns: 300 });
});
