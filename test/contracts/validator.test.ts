import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { QuittanceError } from '../../src/errors.js';
import { compiledValidator } from '../../src/contracts/compile.js';
import { schemaByName } from '../../src/contracts/schemas.js';
import { assertValidDocument, documentType, validateDocument, validateDocuments } from '../../src/contracts/validate.js';
import type { BrowserAutomationReceipt, CapabilityLedger, OrphanEventReceipt } from '../../src/contracts/types.js';
import { EXAMPLES, readJson } from './helpers.js';

const browser = () => readJson(join(EXAMPLES, 'BrowserAutomationReceipt', 'valid-all-optional.json')) as BrowserAutomationReceipt;
const capability = () => readJson(join(EXAMPLES, 'CapabilityLedger', 'valid-all-optional.json')) as CapabilityLedger;
const orphan = () => readJson(join(EXAMPLES, 'OrphanEventReceipt', 'valid-quarantined.json')) as OrphanEventReceipt;

test('the schema is picked from the document\'s type', () => {
  const r = validateDocument(browser());
  assert.deepEqual(r, { valid: true, type: 'BrowserAutomationReceipt', errors: [] });
  assert.equal(documentType(capability()), 'CapabilityLedger');
  assert.equal(documentType({ type: 'Receipt' }), undefined);
});

test('a missing, unknown or ledger-only type is a clear error at /type', () => {
  const missing = validateDocument({ id: 'urn:srcos:x:1' });
  assert.equal(missing.type, null);
  assert.deepEqual(missing.errors.map((e) => [e.path, e.keyword]), [['/type', 'required']]);
  assert.match(missing.errors[0]!.message, /names the document's schema \(BrowserAutomationReceipt, CapabilityLedger/);
  assert.match(missing.errors[0]!.message, /name their schema \(quittance validate --schema Receipt/, 'says how to check a ledger object');

  const unknown = validateDocument({ type: 'CapabilityLedgr' });
  assert.deepEqual(unknown.errors.map((e) => [e.path, e.keyword]), [['/type', 'documentType']]);
  assert.match(unknown.errors[0]!.message, /^unknown document type "CapabilityLedgr": expected one of /);

  const ledger = validateDocument({ type: 'task.completed', from: { kind: 'agent', id: 'a' } });
  assert.match(ledger.errors[0]!.message, /--schema Receipt/);
  assert.match(validateDocument({ type: 'Task' }).errors[0]!.message, /name their schema explicitly \(quittance validate --schema Task\)/);

  for (const notObject of [null, 42, 'CapabilityLedger', [capability()]]) {
    assert.deepEqual(validateDocument(notObject).errors.map((e) => [e.path, e.keyword]), [['', 'type']]);
  }
});

test('an explicit schema overrides the type; an unknown schema name is a coded error', () => {
  const r = validateDocument({ kind: 'worker', id: 'w1' }, { schema: 'Principal' });
  assert.deepEqual(r, { valid: true, type: 'Principal', errors: [] });
  // A SourceOS document checked against another schema fails that schema.
  assert.equal(validateDocument(browser(), { schema: 'CapabilityLedger' }).valid, false);
  assert.throws(() => validateDocument({}, { schema: 'Nope' }), (e: unknown) =>
    e instanceof QuittanceError && e.code === 'QUITTANCE_ERR_SCHEMA_NOT_FOUND' && e.statusCode === 404 && e.message.includes('"Nope"'));
  assert.throws(() => schemaByName('Nope'), QuittanceError);
});

test('errors are JSON Pointers to the offending value, one per problem, all at once', () => {
  const d = browser() as unknown as Record<string, unknown>;
  delete d['policyDecisionRef'];
  d['transport'] = 7; // wrong type AND not in the enum: reported once, as a type error
  d['controlledScope'] = { windowRef: null, tabRef: null, urlOrigin: 'https://x.test/path', workspaceRef: null };
  d['a/b~c'] = true;
  const r = validateDocument(d);
  assert.deepEqual(r.errors.map((e) => `${e.path} ${e.keyword} ${e.message}`).sort(), [
    '/a~1b~0c additionalProperties is not allowed: the schema has no such property',
    '/controlledScope/urlOrigin pattern must match ^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\\s]+$',
    '/policyDecisionRef required is required',
    '/transport type must be string',
  ]);
});

test('semantic rules give the precise path and message', () => {
  const o = orphan();
  o.sessionResolution.quarantinedAt = null;
  assert.deepEqual(validateDocument(o).errors, [
    { path: '/sessionResolution/quarantinedAt', keyword: 'requiredWhen', message: 'required when state is quarantined' },
  ]);
  const b = browser();
  b.revokedAt = '2026-03-14T11:05:59+02:00'; // 09:05:59Z, one second before startedAt
  assert.deepEqual(validateDocument(b).errors, [
    { path: '/revokedAt', keyword: 'notBefore', message: 'must not be before startedAt (2026-03-14T09:06:00Z)' },
  ]);
  b.revokedAt = '2026-03-14T11:06:00+02:00'; // the same instant: allowed
  assert.equal(validateDocument(b).valid, true);
});

test('semantic rules only run on documents that passed their schema', () => {
  const o = orphan() as unknown as { sessionResolution: Record<string, unknown> };
  o.sessionResolution['quarantinedAt'] = null;
  o.sessionResolution['state'] = 'lost';
  assert.deepEqual(validateDocument(o).errors.map((e) => e.keyword), ['enum']);
});

test('session ownership across documents: every conflicting claim is reported, naming the other document', () => {
  const a = browser();
  const b = { ...browser(), id: 'urn:srcos:receipt:browser-automation:other', ownerRef: 'urn:srcos:plugin:intruder' };
  const c = { ...browser(), id: 'urn:srcos:receipt:browser-automation:third', sessionRef: 'urn:srcos:session:unrelated' };
  const r = validateDocuments([a, b, c], { names: ['a.json', 'b.json', 'c.json'] });
  assert.equal(r.valid, false);
  assert.deepEqual(r.results.map((x) => x.valid), [false, false, true]);
  assert.equal(r.results[0]!.errors[0]!.message,
    'ambiguous session ownership: session urn:srcos:session:review-run-0042 is claimed by urn:srcos:agent:code-reviewer here and by urn:srcos:plugin:intruder in b.json; a session has exactly one owner');
  assert.match(r.results[1]!.errors[0]!.message, /claimed by urn:srcos:plugin:intruder here and by urn:srcos:agent:code-reviewer in a\.json/);
  // Without names, documents are numbered.
  assert.match(validateDocuments([a, b]).results[0]!.errors[0]!.message, /in document 1;/);
  // Each document alone is fine: the conflict exists only in the set.
  assert.equal(validateDocument(b).valid, true);
});

test('a capability record with one owner claims its session; with none it claims nothing', () => {
  const cap = capability();
  const other = { ...browser(), ownerRef: 'urn:srcos:agent:someone-else' };
  assert.equal(validateDocuments([cap, other]).valid, false);
  const unowned = { ...cap, ownerRefs: [] };
  assert.equal(validateDocuments([unowned, other]).valid, true);
  const noSession = { ...cap, sessionRef: null };
  assert.equal(validateDocuments([noSession, other]).valid, true);
});

test('invalid documents do not take part in the ownership check', () => {
  const broken = { ...browser(), ownerRef: 'urn:srcos:agent:someone-else', transport: 'telepathy' };
  const r = validateDocuments([browser(), broken]);
  assert.deepEqual(r.results.map((x) => x.errors.map((e) => e.keyword)), [[], ['enum']]);
});

test('assertValidDocument returns the typed document or throws QUITTANCE_ERR_CONTRACT_INVALID with every error', () => {
  const ok: CapabilityLedger = assertValidDocument(capability(), { schema: 'CapabilityLedger' });
  assert.equal(ok.effectiveState, 'enabled');
  const bad = capability() as unknown as Record<string, unknown>;
  delete bad['effectiveState'];
  delete bad['policyDecisionRef'];
  try {
    assertValidDocument(bad);
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof QuittanceError);
    assert.equal(e.code, 'QUITTANCE_ERR_CONTRACT_INVALID');
    assert.equal(e.statusCode, 422);
    assert.equal(e.message, 'Contract document is invalid: /effectiveState: is required');
    assert.deepEqual((e.details!['errors'] as { path: string }[]).map((x) => x.path), ['/effectiveState', '/policyDecisionRef']);
  }
});

test('schemas are compiled once and reused', () => {
  validateDocument(browser());
  const first = compiledValidator('BrowserAutomationReceipt');
  validateDocument(browser());
  assert.equal(compiledValidator('BrowserAutomationReceipt'), first);
  assert.equal(compiledValidator('Nope'), undefined);
});

test('dates in other offsets and lower-case separators compare as instants', () => {
  const b = browser();
  b.startedAt = '2026-03-14t09:06:00z';
  b.capturedAt = '2026-03-14T10:05:59+01:00'; // 09:05:59Z
  assert.deepEqual(validateDocument(b).errors.map((e) => e.path), ['/capturedAt']);
});
