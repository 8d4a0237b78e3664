/**
 * An argument the CLI cannot use is a usage error (exit 2) that opens and creates nothing: an unknown scope as much
 * as an empty one, and a tenant name with whitespace at either end (" acme" made a tenant apart from "acme",
 * which `key create --tenant acme` then could not find). The tenant service refuses such a name on every backend,
 * so an embedding program cannot make one either.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BACKENDS, harness, tempDir } from '../helpers.js';
import { spawnSync } from 'node:child_process';
import { BIN, cli } from '../e2e.js';
import { QuittanceError } from '../../src/errors.js';

const BAD_NAMES = [' acme', 'acme ', '\tacme', 'acme\n', '\u00a0acme', ' '];

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

  test('serve --host "" and --workspace-root "" are usage errors (they meant every interface and the working folder)', async () => {
    const tmp = tempDir();
    try {
      for (const [argv, message] of [[['--host', ''], /--host takes a host name or address/], [['--workspace-root', ''], /--workspace-root takes a folder/]] as const) {
        // A process of its own, stopped after a while: a server that did start would otherwise run on.
        const r = spawnSync(process.execPath, [BIN, 'serve', '--data', tmp.dir, '--port', '0', ...argv], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, QUITTANCE_LOG_LEVEL: 'warn' } });
        assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stdout, /listening/);
        assert.equal(existsSync(join(tmp.dir, 'quittance.db')), false, 'nothing was created');
      }
    } finally {
      tmp.cleanup();
    }
  });

  test('serve on a host name that does not resolve exits 2 with the hint, and creates no tenant', async () => {
    const tmp = tempDir();
    try {
      const r = await cli(['serve', '--data', tmp.dir, '--port', '0', '--host', 'no-such-host.invalid']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /^quittance: cannot listen on no-such-host\.invalid:0 \((ENOTFOUND|EAI_AGAIN)\)/);
      assert.match(r.stderr, /--host H/);
      assert.doesNotMatch(r.stdout, /API key/);
    } finally {
      tmp.cleanup();
    }
  });

  test('a bad QUITTANCE_PORT is named as the variable, not as a --port that was never given', async () => {
    const tmp = tempDir();
    try {
      const env = await cli(['serve', '--data', tmp.dir], { QUITTANCE_PORT: '80a' });
      assert.equal(env.code, 2);
      assert.match(env.stderr, /^quittance: QUITTANCE_PORT takes a port number from 0 to 65535, not "80a"/);
      const flag = await cli(['serve', '--data', tmp.dir, '--port', '80a'], { QUITTANCE_PORT: '7349' });
      assert.match(flag.stderr, /^quittance: --port takes a port number/);
      assert.equal(existsSync(join(tmp.dir, 'quittance.db')), false);
    } finally {
      tmp.cleanup();
    }
  });

  test('tenant create with whitespace at either end of the name exits 2 and creates no ledger and no tenant', async () => {
    const tmp = tempDir();
    try {
      for (const name of BAD_NAMES) {
        const r = await cli(['tenant', 'create', name, '--data', tmp.dir]);
        assert.equal(r.code, 2, `${JSON.stringify(name)}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /^quittance: QUITTANCE_ERR_INVALID_TENANT_NAME: Tenant name ".*" must not begin or end with whitespace/);
        assert.equal(existsSync(join(tmp.dir, 'quittance.db')), false, 'no ledger was created');
      }
      assert.equal((await cli(['tenant', 'create', 'acme corp', '--data', tmp.dir])).code, 0, 'whitespace inside a name is fine');
      assert.equal((await cli(['tenant', 'create', ' acme corp', '--data', tmp.dir])).code, 2);
    } finally {
      tmp.cleanup();
    }
  });
});

for (const backend of BACKENDS) {
  describe(`[${backend}] tenant names`, () => {
    test('createTenant refuses whitespace at either end with a coded 400, and stores nothing', async () => {
      const h = await harness({ backend });
      try {
        const before = (await h.services.store.listTenants()).length;
        for (const name of BAD_NAMES) {
          await assert.rejects(h.services.tenants.createTenant(name), (e: unknown) => {
            assert.ok(e instanceof QuittanceError);
            assert.equal(e.code as string, 'QUITTANCE_ERR_INVALID_TENANT_NAME');
            assert.equal(e.statusCode, 400);
            return true;
          });
        }
        await assert.rejects(h.services.tenants.createTenant(''), /nor be empty/);
        assert.equal((await h.services.store.listTenants()).length, before);
        assert.equal((await h.services.tenants.createTenant('acme')).name, 'acme');
      } finally {
        await h.close();
      }
    });
  });
}

for (const backend of BACKENDS) {
  describe(`[${backend}] tenant names in messages`, () => {
    test('are quoted, so whitespace in one shows', async () => {
      const h = await harness({ backend });
      try {
        await assert.rejects(h.services.tenants.createTenant('a'), (e: unknown) => e instanceof QuittanceError && e.message === 'Tenant "a" already exists');
        await assert.rejects(h.services.tenants.tenantByName('a '), (e: unknown) => e instanceof QuittanceError && e.message === 'Tenant "a " does not exist');
      } finally {
        await h.close();
      }
    });
  });
}
