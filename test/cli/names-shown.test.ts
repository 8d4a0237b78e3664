/**
 * Tenant names stored before control characters were refused (or written behind the ledger's back) are printed on
 * one line: `quittance verify` printed them bare, so a name holding "\nok    other: …" forged a verify line of its
 * own, and one holding ESC sequences drove the operator's terminal. Such a name is now shown quoted and escaped;
 * ordinary names are printed as before.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServices } from '../../src/server/index.js';
import { tempDir } from '../helpers.js';
import { cli } from '../e2e.js';

describe('tenant names in CLI output', () => {
  test('verify and key revoke show a name with control characters escaped, on one line', async () => {
    const tmp = tempDir();
    try {
      const forged = 'evil: 0 receipts, head seq 0\nBROKEN victim (tnt_x): first bad seq 1\u001b[2J\u009b';
      const s = createServices({ dataDir: tmp.dir });
      await s.tenants.createTenant('plain name');
      // As an older version stored it: createTenant refuses such a name now.
      await s.store.createTenant({ tenant_id: 'tnt_forged0000000', name: forged, created_at: '2026-01-01T00:00:00.000Z' });
      const key = await s.tenants.createKey('tnt_forged0000000', ['read']);
      await s.store.close();

      const v = await cli(['verify', '--data', tmp.dir]);
      assert.equal(v.code, 0, v.stderr);
      const lines = v.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 2, v.stdout);
      assert.ok(lines.includes('ok    plain name: 0 receipts, head seq 0'), v.stdout);
      assert.ok(lines.includes(`ok    ${JSON.stringify(forged).replace('\u009b', '\\u009b')}: 0 receipts, head seq 0`), v.stdout);
      assert.doesNotMatch(v.stdout.replace(/\n/g, ''), /\p{Cc}/u);
      assert.doesNotMatch(v.stderr.replace(/\n/g, ''), /[\u001b\u009b]/u);

      const r = await cli(['key', 'revoke', key.key_id, '--data', tmp.dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split('\n').length, 2, r.stdout);
      assert.doesNotMatch(r.stdout.replace(/\n$/, ''), /\p{Cc}/u);
    } finally {
      tmp.cleanup();
    }
  });
});
