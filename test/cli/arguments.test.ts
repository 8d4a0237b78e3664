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
/** A control character or line break inside a name or label: printed, it breaks the line or drives the terminal. */
const CONTROL_TEXTS = ['ac\nme', 'ac\u0007me', 'ac\u001b[2Jme', 'ac\rme', 'ac\u007fme', 'ac\u009bme', 'ac\u2028me', 'ac\tme'];

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
      for (const label of ['line one\nline two', 'bell\u0007', 'esc\u001b[2J']) {
        const r = await cli(['key', 'create', '--tenant', 'acme', '--scopes', 'read', '--label', label, '--data', tmp.dir, '--json']);
        assert.equal(r.code, 2, `--label ${JSON.stringify(label)}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /^quittance: QUITTANCE_ERR_INVALID_KEY_LABEL: Key label ".*" must not hold a control character or line break/);
        assert.doesNotMatch(r.stderr.slice(0, -1), /\p{Cc}/u, 'the message shows the label escaped, on one line');
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
      for (const name of CONTROL_TEXTS) {
        const r = await cli(['tenant', 'create', name, '--data', tmp.dir]);
        assert.equal(r.code, 2, `${JSON.stringify(name)}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /^quittance: QUITTANCE_ERR_INVALID_TENANT_NAME: Tenant name ".*" must not .*control character/);
        assert.doesNotMatch(r.stderr.slice(0, -1), /[\p{Cc}\u2028\u2029]/u, 'the message shows the name escaped, on one line');
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
        for (const name of CONTROL_TEXTS) {
          await assert.rejects(h.services.tenants.createTenant(name), (e: unknown) => e instanceof QuittanceError && e.code === 'QUITTANCE_ERR_INVALID_TENANT_NAME', JSON.stringify(name));
        }
        assert.equal((await h.services.store.listTenants()).length, before);
        const acme = await h.services.tenants.createTenant('acme');
        assert.equal(acme.name, 'acme');
        assert.equal((await h.services.tenants.createTenant('Ünïcode — ok ✓')).name, 'Ünïcode — ok ✓');
        // A key label is free text on one line.
        for (const label of CONTROL_TEXTS) {
          await assert.rejects(h.services.tenants.createKey(acme.tenant_id, ['read'], label), (e: unknown) => {
            assert.ok(e instanceof QuittanceError);
            assert.equal(e.code as string, 'QUITTANCE_ERR_INVALID_KEY_LABEL');
            assert.equal(e.statusCode, 400);
            return true;
          }, JSON.stringify(label));
        }
        assert.deepEqual(await h.services.tenants.listKeys(acme.tenant_id), []);
        await h.services.tenants.createKey(acme.tenant_id, ['read'], 'ci runner — eu-west ✓');
        assert.equal((await h.services.tenants.listKeys(acme.tenant_id))[0]!.label, 'ci runner — eu-west ✓');
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
