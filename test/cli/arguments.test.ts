/** An argument the CLI cannot use is a usage error (exit 2) that opens and creates nothing. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers.js';
import { cli } from '../e2e.js';

describe('CLI arguments', () => {
  test('key create --scopes with an unknown scope exits 2, as an empty --scopes does, and makes no key', async () => {
    const tmp = tempDir();
    try {
      assert.equal((await cli(['tenant', 'create', 'acme', '--data', tmp.dir])).code, 0);
      for (const scopes of ['read,bogus', 'root']) {
        const r = await cli(['key', 'create', '--tenant', 'acme', '--scopes', scopes, '--data', tmp.dir, '--json']);
        assert.equal(r.code, 2, `--scopes ${scopes}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /^quittance: QUITTANCE_ERR_INVALID_SCOPE: Unknown scope "(bogus|root)" \(scopes: read, write, admin\)\n$/);
      }
      const keys = JSON.parse((await cli(['key', 'list', '--tenant', 'acme', '--data', tmp.dir, '--json'])).stdout) as unknown[];
      assert.equal(keys.length, 1, 'only the key made with the tenant');
    } finally {
      tmp.cleanup();
    }
  });
});

