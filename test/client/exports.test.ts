import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StampGate } from '../../src/stamps/gate.js';

// Imported by the package's own name, through package.json "exports", as an installed package is (a string the
// compiler does not resolve: dist may not hold the declarations yet while it compiles this).
const subpath = (name: string): Promise<Record<string, unknown>> => import(name);

test('StampGate is importable from quittance/client, the subpath agent runtimes install', async () => {
  const client = await subpath('quittance/client');
  assert.equal(client['StampGate'], StampGate);
  // Deep imports are closed by "exports": this subpath is the only way in.
  await assert.rejects(subpath('quittance/dist/src/stamps/gate.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});
