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
