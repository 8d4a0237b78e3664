import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSchemas } from '../../src/contracts/schemas.js';
import { CROSS_DOCUMENT_RULE, SEMANTIC_RULES } from '../../src/contracts/rules.js';
import { validateDocuments } from '../../src/contracts/validate.js';
import type { JsonSchema } from '../../src/contracts/schemas.js';
import { EXAMPLES, allExamples, exampleTypes, examplesOf, type Example } from './helpers.js';

const schemas = loadSchemas();
const isSourceOs = (type: string) => schemas.sourceOsTypes.includes(type);

function run(ex: Example) {
  const docs = Array.isArray(ex.content) ? ex.content : [ex.content];
  // SourceOS documents must find their own schema from `type`; the ledger's types are named by their folder.
  return validateDocuments(docs, isSourceOs(ex.type) ? {} : { schema: ex.type });
}

test('every schema has an example folder with at least one valid and three invalid examples, and no folder lacks a schema', () => {
  assert.deepEqual(exampleTypes(), [...schemas.names].sort());
  for (const type of schemas.names) {
    const exs = examplesOf(type);
    assert.ok(exs.filter((e) => e.kind === 'valid').length >= 1, `${type} has no valid example`);
    assert.ok(exs.filter((e) => e.kind === 'invalid').length >= 3, `${type} has fewer than three invalid examples`);
  }
});

for (const ex of allExamples()) {
  test(`examples/${ex.type}/${ex.file} is ${ex.kind}${ex.expect ? `: ${ex.expect.breaks}` : ''}`, () => {
    const r = run(ex);
    if (ex.kind === 'valid') {
      assert.deepEqual(r.results.flatMap((x) => x.errors), []);
      assert.equal(r.valid, true);
      return;
    }
    assert.equal(r.valid, false);
    assert.ok(ex.expect!.breaks.length > 10, 'the expectation says which rule is broken');
    const got = r.results.flatMap((x, i) => x.errors.map((e) => ({
      ...(Array.isArray(ex.content) ? { document: i } : {}), path: e.path, keyword: e.keyword,
    })));
    const key = (e: { document?: number; path: string; keyword: string }) => `${e.document ?? ''}|${e.path}|${e.keyword}`;
    assert.deepEqual(got.map(key).sort(), ex.expect!.errors.map(key).sort());
    for (const x of r.results) for (const e of x.errors) assert.ok(e.message.length > 0);
  });
}

test('SourceOS examples are checked against the schema their own type names', () => {
  for (const type of schemas.sourceOsTypes) {
    for (const ex of examplesOf(type)) {
      const first = Array.isArray(ex.content) ? ex.content[0] : ex.content;
      assert.equal(run({ ...ex, content: [first] }).results[0]!.type, type, `${type}/${ex.file}`);
    }
  }
});

test('every semantic rule has an invalid example that breaks it and nothing else', () => {
  const invalid = allExamples().filter((e) => e.kind === 'invalid');
  for (const r of [...SEMANTIC_RULES, CROSS_DOCUMENT_RULE]) {
    const ex = invalid.find((e) => e.expect!.rule === r.id);
    assert.ok(ex, `no example breaks ${r.id}`);
    assert.ok(ex.expect!.errors.length > 0 && ex.expect!.errors.every((e) => e.keyword === r.keyword), `${ex.file} raises only ${r.keyword}`);
  }
  const ids = new Set([...SEMANTIC_RULES.map((r) => r.id), CROSS_DOCUMENT_RULE.id]);
  for (const e of invalid) if (e.expect!.rule !== undefined) assert.ok(ids.has(e.expect!.rule), `${e.file} names unknown rule ${e.expect!.rule}`);
});

test('the rules the seed and DESIGN §9 name each have a failing example', () => {
  const invalid = allExamples().filter((e) => e.kind === 'invalid');
  const has = (type: string, path: string, keyword: string) =>
    invalid.some((e) => e.type === type && e.expect!.errors.some((x) => x.path === path && x.keyword === keyword));
  for (const type of schemas.sourceOsTypes) assert.ok(has(type, '/policyDecisionRef', 'required'), `${type}: missing policyDecisionRef`);
  assert.ok(has('CapabilityLedger', '/effectiveState', 'required'), 'missing effectiveState');
  assert.ok(has('CapabilityLedger', '/ownerRefs/1', 'sessionOwnership'), 'ambiguous session ownership within a document');
  assert.ok(has('BrowserAutomationReceipt', '/ownerRef', 'sessionOwnership'), 'ambiguous session ownership across documents');
  assert.ok(has('OrphanEventReceipt', '/sessionResolution/recoveredSessionRef', 'requiredWhen'));
  assert.ok(has('OrphanEventReceipt', '/sessionResolution/quarantinedAt', 'requiredWhen'));
  assert.ok(has('BrowserAutomationReceipt', '/revokedAt', 'notBefore'));
  assert.ok(has('BrowserAutomationReceipt', '/capturedAt', 'notBefore'));
  assert.ok(has('RuntimeInstallReceipt', '/capturedAt', 'notBefore'));
  assert.ok(has('GitWorkspaceState', '/pathEvidence/rawPathStored', 'const'));
});

/** Every property path a schema declares, following nested objects and array items (not $refs). */
function propertyPaths(s: JsonSchema, at = ''): string[] {
  const out: string[] = [];
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    out.push(`${at}/${k}`);
    out.push(...propertyPaths(p, `${at}/${k}`));
    if (p.items) out.push(...propertyPaths(p.items, `${at}/${k}/*`));
  }
  return out;
}

function presentPaths(v: unknown, at = ''): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(v)) {
    for (const x of v) for (const p of presentPaths(x, `${at}/*`)) out.add(p);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.add(`${at}/${k}`);
      for (const p of presentPaths(x, `${at}/${k}`)) out.add(p);
    }
  }
  return out;
}

test('each SourceOS type has a valid example that uses every property the schema declares, nested ones included', () => {
  for (const type of schemas.sourceOsTypes) {
    const file = join(EXAMPLES, type, 'valid-all-optional.json');
    assert.ok(existsSync(file), `${type} has no valid-all-optional.json`);
    const ex = examplesOf(type).find((e) => e.file === 'valid-all-optional.json')!;
    const present = presentPaths(ex.content);
    const missing = propertyPaths(schemas.byName.get(type)!).filter((p) => !present.has(p));
    assert.deepEqual(missing, [], `${type}/valid-all-optional.json lacks ${missing.join(', ')}`);
  }
});
