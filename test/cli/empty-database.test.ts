/**
 * A quittance.db that holds no ledger (an empty file: a copy cut short, a `touch`, a disk that filled up) is no
 * ledger: commands that only read or change one refuse it as they refuse a folder without quittance.db, and
 * create nothing in it. `quittance verify` answered "no tenants", exit 0, over a ledger that is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers.js';
import { cli } from '../e2e.js';

test('commands that read or change a ledger refuse an empty quittance.db, and write nothing to it', async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'quittance.db');
    writeFileSync(file, '');
    for (const argv of [['verify'], ['verify', '--json'], ['key', 'list', '--tenant', 'acme'], ['keys', 'rotate'], ['key', 'revoke', 'k1']]) {
      const r = await cli([...argv, '--data', tmp.dir]);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /no ledger in .* \(quittance\.db holds none\): check --data/);
      assert.equal(r.stdout, '');
    }
    assert.equal(statSync(file).size, 0);
    // tenant create may start a ledger there, as in a folder without one; then the others find it.
    assert.equal((await cli(['tenant', 'create', 'first', '--data', tmp.dir])).code, 0);
    const v = await cli(['verify', '--data', tmp.dir]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^ok {4}first: 0 receipts, head seq 0$/m);
  } finally {
    tmp.cleanup();
  }
});
