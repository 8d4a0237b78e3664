import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS, QuittanceError } from '../src/errors.js';
import { ROOT } from './e2e.js';

test('docs/errors.md lists exactly the registry, with each status (run `npm run docs:errors` after changing codes)', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(QUITTANCE_ERR_\w+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  const registry = new Map(Object.entries(ERRORS).map(([code, e]) => [code, e.status as number]));
  assert.deepEqual([...documented.entries()].sort(), [...registry.entries()].sort());
});

test('every code is QUITTANCE_ERR_*, and every error renders the one body shape', () => {
  for (const [code, e] of Object.entries(ERRORS)) {
    assert.match(code, /^QUITTANCE_ERR_[A-Z0-9_]+$/);
    assert.ok(e.status >= 400 && e.status < 600, code);
    const body = new QuittanceError(code as keyof typeof ERRORS, ['x', 'y', 'z', 'w', 'v']).toJSON();
    assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode']);
    assert.ok(!body.message.includes('%s'), `${code} message has a placeholder left`);
  }
});

test('details add keys to the body after the fixed four, and never replace one of them', () => {
  const e = new QuittanceError('QUITTANCE_ERR_LEASE_LOST', ['l1', 't1', 'lease expired'], {
    details: { reason: 'lease expired', code: 'OTHER', statusCode: 200, message: 'ok', error: 'none' },
  });
  const body = e.toJSON();
  assert.deepEqual(Object.keys(body), ['statusCode', 'code', 'error', 'message', 'reason']);
  assert.equal(body.statusCode, 409);
  assert.equal(body.code, 'QUITTANCE_ERR_LEASE_LOST');
  assert.equal(body.error, 'Conflict');
  assert.equal(body.message, e.message);
  assert.equal(body['reason'], 'lease expired');
});
