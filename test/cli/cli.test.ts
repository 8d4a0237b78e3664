import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tempDir, agent, worker, artifact } from '../helpers.js';
import { spawn, spawnSync } from 'node:child_process';
import { BIN, cli, spawnServer, api, type ServerProcess } from '../e2e.js';
import { keyCommandTests } from './keys.js';
import { createServices, startServer } from '../../src/server/index.js';

/** bin/quittance.js in a process of its own, without blocking this one (spawnSync would). */
function runBin(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('CLI against a running server', () => {
  const tmp = tempDir();
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer(tmp.dir);
  });
  after(async () => {
    await server.kill();
    tmp.cleanup();
  });

  test('first start creates tenant "default" and prints its admin key once', async () => {
    assert.ok(server.adminKey, server.output());
    const r = await api(server.url, server.adminKey!, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker });
    assert.equal(r.status, 201);
  });

  test('quittance verify beside a server that keeps appending: exit 0 (the README: "with the server stopped or running")', async () => {
    let stop = false;
    let appended = 0;
    const writers = Array.from({ length: 4 }, async () => {
      for (let n = 0; !stop; n++) {
        await api(server.url, server.adminKey!, 'POST', '/v1/receipts', { type: 'task.progress', from: worker, to: agent, body: { n, r: Math.random() } });
        appended++;
      }
    });
    try {
      while (appended < 200) await new Promise((resolve) => setTimeout(resolve, 20));
      // A process of its own, as an operator runs it: an in-process check would hold up the writers while it reads.
      for (let i = 0; i < 5; i++) {
        const v = await runBin(['verify', '--data', tmp.dir]);
        assert.equal(v.code, 0, v.stdout + v.stderr);
      }
    } finally {
      stop = true;
      await Promise.all(writers);
    }
  });

  test('tenant create / key create work at once, without a restart', async () => {
    const t = await cli(['tenant', 'create', 'acme', '--data', tmp.dir, '--json']);
    assert.equal(t.code, 0, t.stderr);
    const created = JSON.parse(t.stdout) as { tenant_id: string; api_key: string };
    assert.deepEqual(Object.keys(created).sort(), ['api_key', 'tenant_id']);
    const w = await api(server.url, created.api_key, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker });
    assert.equal(w.status, 201);
    assert.equal(w.json.receipt.tenant_id, created.tenant_id);

    const k = await cli(['key', 'create', '--tenant', 'acme', '--scopes', 'read', '--data', tmp.dir, '--json']);
    assert.equal(k.code, 0, k.stderr);
    const reader = JSON.parse(k.stdout) as { api_key: string; scopes: string[]; tenant_id: string };
    assert.deepEqual(reader.scopes, ['read']);
    assert.equal((await api(server.url, reader.api_key, 'GET', '/v1/receipts')).json.receipts.length, 1);
    assert.equal((await api(server.url, reader.api_key, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker })).status, 403);
  });

  test('commands that only read or change a ledger refuse a folder without one, and create nothing there', async () => {
    const empty = tempDir();
    const missing = join(empty.dir, 'typo');
    try {
      for (const argv of [['verify'], ['key', 'list', '--tenant', 'acme'], ['key', 'create', '--tenant', 'acme', '--scopes', 'read'], ['keys', 'rotate'], ['key', 'revoke', 'k1']]) {
        for (const dir of [empty.dir, missing]) {
          const r = await cli([...argv, '--data', dir]);
          assert.equal(r.code, 2, `${argv.join(' ')} ${dir}: ${r.stdout}${r.stderr}`);
          assert.match(r.stderr, /no ledger in .* \(no quittance\.db\): check --data/);
        }
      }
      assert.equal(existsSync(join(empty.dir, 'quittance.db')), false);
      assert.equal(existsSync(missing), false);
      // Creating a tenant is how a ledger may start without a server.
      const t = await cli(['tenant', 'create', 'first', '--data', missing, '--json']);
      assert.equal(t.code, 0, t.stderr);
      const v = await cli(['verify', '--data', missing]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /^ok {4}first: 0 receipts, head seq 0$/m);
    } finally {
      empty.cleanup();
    }
  });

  test('bad CLI input is a clear error with a non-zero exit', async () => {
    const dup = await cli(['tenant', 'create', 'acme', '--data', tmp.dir]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /QUITTANCE_ERR_TENANT_EXISTS/);
    const scope = await cli(['key', 'create', '--tenant', 'acme', '--scopes', 'read,root', '--data', tmp.dir]);
    assert.equal(scope.code, 2, 'an unknown scope is a usage error, as an empty --scopes is');
    assert.match(scope.stderr, /QUITTANCE_ERR_INVALID_SCOPE/);
    // A --scopes that names no scope would make a key every route refuses: a usage error, and no key is made.
    const keysBefore = JSON.parse((await cli(['key', 'list', '--tenant', 'acme', '--data', tmp.dir, '--json'])).stdout).length;
    for (const empty of [',', ' ', ' , ']) {
      const r = await cli(['key', 'create', '--tenant', 'acme', '--scopes', empty, '--data', tmp.dir, '--json']);
      assert.equal(r.code, 2, `--scopes ${JSON.stringify(empty)}: ${r.stdout}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^quittance: --scopes names no scope .*read, write and\/or admin/);
    }
    assert.equal(JSON.parse((await cli(['key', 'list', '--tenant', 'acme', '--data', tmp.dir, '--json'])).stdout).length, keysBefore);
    const none = await cli(['key', 'create', '--tenant', 'nobody', '--scopes', 'read', '--data', tmp.dir]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /QUITTANCE_ERR_TENANT_NOT_FOUND/);
    assert.equal((await cli(['frobnicate'])).code, 2);
    assert.equal((await cli(['verify', '--bogus'])).code, 2);
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /quittance <command>/);
    assert.match(help.stdout, /key list --tenant NAME/);
    assert.match(help.stdout, /key revoke KEY_ID/);
  });

  keyCommandTests(() => ({ where: ['--data', tmp.dir], servers: [server] }));
});

describe('quittance verify', () => {
  /** Writes a small ledger (two tenants) and returns where it is. */
  async function ledgerWithReceipts(): Promise<{ dir: string; cleanup(): void; tenantA: string }> {
    const tmp = tempDir();
    const s = createServices({ dataDir: tmp.dir });
    const a = await s.tenants.createTenant('alpha');
    const b = await s.tenants.createTenant('beta');
    for (const t of [a, b]) {
      const ob = await s.ledger.append(t.tenant_id, { type: 'task.assigned', from: agent, to: worker, body: { n: 1 } });
      await s.ledger.append(t.tenant_id, { type: 'task.progress', from: worker, to: agent, parents: [ob.receipt.receipt_id], body: { pct: 50 } });
      await s.ledger.append(t.tenant_id, { type: 'task.completed', from: worker, to: agent, parents: [ob.receipt.receipt_id], artifacts: [artifact] });
      await s.ledger.append(t.tenant_id, { type: 'task.assigned', from: agent, to: worker, body: { n: 2 } });
    }
    await s.store.close();
    return { ...tmp, tenantA: a.tenant_id };
  }

  test('exit 0 when every chain is intact', async () => {
    const l = await ledgerWithReceipts();
    try {
      const r = await cli(['verify', '--data', l.dir]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ok\s+alpha: 4 receipts/);
      assert.match(r.stdout, /ok\s+beta: 4 receipts/);
    } finally {
      l.cleanup();
    }
  });

  const tampers: [string, string][] = [
    ['body byte', `UPDATE receipts SET body = replace(body, '50', '51') WHERE seq = 2`],
    ['body whitespace only', `UPDATE receipts SET body = replace(body, ':', ': ') WHERE seq = 2`],
    ['type', `UPDATE receipts SET type = 'task.started' WHERE seq = 2`],
    ['from principal', `UPDATE receipts SET from_id = 'w2' WHERE seq = 2`],
    ['parents', `UPDATE receipts SET parents = '[]' WHERE seq = 2`],
    ['created_at', `UPDATE receipts SET created_at = replace(created_at, '.', ',') WHERE seq = 2`],
    ['receipt_id', `UPDATE receipts SET receipt_id = substr(receipt_id, 1, 35) || CASE WHEN substr(receipt_id, 36, 1) = 'f' THEN 'e' ELSE 'f' END WHERE seq = 2`],
    ['hash', `UPDATE receipts SET hash = replace(hash, substr(hash, 1, 1), 'x') WHERE seq = 2`],
    ['discharges flag', `UPDATE receipts SET discharges = 0 WHERE seq = 2 AND type = 'task.completed'; UPDATE receipts SET discharges = 1 WHERE seq = 2 AND type != 'task.completed'`],
    ['deleted receipt (a gap)', `DELETE FROM receipts WHERE seq = 2`],
  ];
  for (const [what, sql] of tampers) {
    test(`non-zero exit naming the tenant and first bad seq when the stored ${what} changes`, async () => {
      const l = await ledgerWithReceipts();
      try {
        const db = new Database(join(l.dir, 'quittance.db'));
        db.exec(sql.replace(/WHERE seq = 2/g, `WHERE seq = 2 AND tenant_id = '${l.tenantA}'`));
        db.close();
        const r = await cli(['verify', '--data', l.dir, '--json']);
        assert.equal(r.code, 1, r.stdout);
        const out = JSON.parse(r.stdout) as { ok: boolean; tenants: { tenant: string; ok: boolean; first_bad_seq?: number }[] };
        assert.equal(out.ok, false);
        const alpha = out.tenants.find((t) => t.tenant === 'alpha')!;
        assert.equal(alpha.ok, false);
        assert.equal(alpha.first_bad_seq, 2);
        assert.equal(out.tenants.find((t) => t.tenant === 'beta')!.ok, true);
        const human = await cli(['verify', '--data', l.dir]);
        assert.match(human.stdout, /BROKEN alpha .*first bad seq 2/);
      } finally {
        l.cleanup();
      }
    });
  }

  test('a chain whose tenants row was deleted is still checked, and reported: it cannot hide a tampered receipt', async () => {
    const l = await ledgerWithReceipts();
    try {
      const db = new Database(join(l.dir, 'quittance.db'));
      db.prepare('DELETE FROM tenants WHERE tenant_id = ?').run(l.tenantA);
      db.close();
      const r = await cli(['verify', '--data', l.dir, '--json']);
      assert.equal(r.code, 1, r.stdout);
      const out = JSON.parse(r.stdout) as { ok: boolean; tenants: { tenant: string | null; tenant_id: string; ok: boolean; first_bad_seq?: number; reason?: string }[] };
      assert.equal(out.ok, false);
      assert.deepEqual(out.tenants.map((t) => [t.tenant, t.ok]), [['beta', true], [null, false]]);
      const gone = out.tenants[1]!;
      assert.equal(gone.tenant_id, l.tenantA);
      assert.equal(gone.first_bad_seq, undefined, 'its chain itself is intact');
      assert.match(gone.reason!, /no tenants row/);

      const db2 = new Database(join(l.dir, 'quittance.db'));
      db2.prepare(`UPDATE receipts SET body = replace(body, '50', '51') WHERE tenant_id = ? AND seq = 2`).run(l.tenantA);
      db2.close();
      const human = await cli(['verify', '--data', l.dir]);
      assert.equal(human.code, 1);
      assert.match(human.stdout, new RegExp(`BROKEN \\(no tenants row\\) \\(${l.tenantA}\\): first bad seq 2: receipts of a tenant with no tenants row \\(deleted\\?\\); `));
    } finally {
      l.cleanup();
    }
  });

  test('a truncated chain (last receipt removed) is caught by the chain head', async () => {
    const l = await ledgerWithReceipts();
    try {
      const db = new Database(join(l.dir, 'quittance.db'));
      db.prepare('DELETE FROM receipts WHERE tenant_id = ? AND seq = 4').run(l.tenantA);
      db.close();
      const r = await cli(['verify', '--data', l.dir, '--json']);
      assert.equal(r.code, 1);
      assert.equal(JSON.parse(r.stdout).tenants[0].first_bad_seq, 4);
    } finally {
      l.cleanup();
    }
  });
});

describe('output to a reader that stops early', () => {
  // `quittance verify | head -1`, `quittance key list ... | head`: the reader closes the pipe after what it wanted.
  test('no stack trace on EPIPE, and the exit code is still the command\'s own', async () => {
    const tmp = tempDir();
    try {
      const s = createServices({ dataDir: tmp.dir });
      const t = await s.tenants.createTenant('alpha');
      await s.ledger.append(t.tenant_id, { type: 'task.assigned', from: agent, to: worker, body: { n: 1 } });
      await s.ledger.append(t.tenant_id, { type: 'task.progress', from: worker, to: agent, body: { pct: 50 } });
      await s.store.close();
      const db = new Database(join(tmp.dir, 'quittance.db'));
      db.exec(`UPDATE receipts SET body = replace(body, '50', '51') WHERE seq = 2`);
      db.close();
      const child = spawn(process.execPath, [BIN, 'verify', '--data', tmp.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // the reader is gone before the first line is written
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      assert.equal(stderr, '');
      assert.equal(code, 1, 'the chain is broken: exit 1, whoever reads the output');
    } finally {
      tmp.cleanup();
    }
  });
});

describe('settings set but empty', () => {
  // Run in a folder of its own: an empty QUITTANCE_DATA_DIR used to put the ledger in the working folder itself.
  test('an empty QUITTANCE_DATA_DIR means the default ./.quittance; --data "" is a usage error', async () => {
    const tmp = tempDir();
    try {
      const run = (argv: string[]) => spawnSync(process.execPath, [BIN, ...argv], { cwd: tmp.dir, env: { ...process.env, QUITTANCE_DATA_DIR: '' }, encoding: 'utf8' });
      const created = run(['tenant', 'create', 'acme', '--json']);
      assert.equal(created.status, 0, created.stderr);
      assert.equal(existsSync(join(tmp.dir, '.quittance', 'quittance.db')), true);
      assert.equal(existsSync(join(tmp.dir, 'quittance.db')), false);
      const flag = run(['verify', '--data', '']);
      assert.equal(flag.status, 2);
      assert.match(flag.stderr, /--data takes a folder/);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('a server that cannot start', () => {
  test('an empty QUITTANCE_HOST means unset: loopback, never every interface', async () => {
    const tmp = tempDir();
    const server = await spawnServer(tmp.dir, [], { QUITTANCE_HOST: '' });
    try {
      assert.match(server.output(), /Quittance listening on http:\/\/127\.0\.0\.1:\d+ /);
    } finally {
      await server.kill();
      tmp.cleanup();
    }
  });

  test('serve with a port that is not one exits 2 before it opens anything', async () => {
    const tmp = tempDir();
    const data = join(tmp.dir, 'ledger');
    try {
      for (const [argv, env] of [[['--port', 'abc'], {}], [['--port', '65536'], {}], [['--port=-1'], {}], [['--port', '80.5'], {}], [[], { QUITTANCE_PORT: 'http' }]] as [string[], Record<string, string>][]) {
        const r = await cli(['serve', '--data', data, ...argv], env);
        assert.equal(r.code, 2, `${argv.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^quittance: ${argv.length > 0 ? '--port' : 'QUITTANCE_PORT'} takes a port number from 0 to 65535, not "`));
      }
      assert.equal(existsSync(data), false);
    } finally {
      tmp.cleanup();
    }
  });

  test('serve with a log level pino does not know exits 2 before it opens anything', async () => {
    const tmp = tempDir();
    const data = join(tmp.dir, 'ledger');
    try {
      const r = await cli(['serve', '--data', data, '--port', '0'], { QUITTANCE_LOG_LEVEL: 'loud' });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /QUITTANCE_LOG_LEVEL takes one of trace, debug, info, warn, error, fatal, silent, not "loud"/);
      assert.equal(existsSync(data), false);
    } finally {
      tmp.cleanup();
    }
  });

  // The last connection to a WAL database removes its -wal file when it closes: an open store keeps it.
  test('serve on a taken port fails with exit 2 and a hint, creates no tenant (prints no key), and closes its store', async () => {
    const tmp = tempDir();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const r = await cli(['serve', '--data', tmp.dir, '--port', port]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
      assert.match(r.stderr, /--port N/);
      assert.doesNotMatch(r.stdout, /API key/, 'no "shown once" key from a server that did not start');
      assert.equal(existsSync(join(tmp.dir, 'quittance.db-wal')), false, 'the store is still open');
      const s = createServices({ dataDir: tmp.dir });
      try {
        assert.deepEqual(await s.store.listTenants(), [], 'the first start that failed created no tenant');
      } finally {
        await s.store.close();
      }
    } finally {
      taken.close();
      tmp.cleanup();
    }
  });

  test('serve --db on a database that cannot be reached exits 2 naming why, before it ever listens', async () => {
    // A port nothing listens on: the connection is refused (no PostgreSQL server needed).
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await cli(['serve', '--db', `postgres://postgres@127.0.0.1:${port}/test`, '--port', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^quittance: cannot reach the database \(ECONNREFUSED\): connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);
    assert.doesNotMatch(r.stdout + r.stderr, /listening/i);
  });

  test('key ids never start with "-" (the CLI would read one as an option); an older id that does is revoked after --', async () => {
    const tmp = tempDir();
    const s = createServices({ dataDir: tmp.dir });
    try {
      const tenant = await s.tenants.createTenant('dash');
      // With ids drawn as plain base64url, one in 64 starts with '-': 512 keys would all miss it 0.03% of the time.
      const keys = await Promise.all(Array.from({ length: 512 }, () => s.tenants.createKey(tenant.tenant_id, ['read'])));
      assert.deepEqual(keys.filter((k) => k.key_id.startsWith('-')), []);
      await s.store.createApiKey({
        key_id: '-older0000000000', tenant_id: tenant.tenant_id, secret_hash: 'f'.repeat(64), scopes: ['read'], label: null,
        created_at: '2026-01-01T00:00:00.000Z', revoked_at: null,
      });
    } finally {
      await s.store.close();
    }
    try {
      const r = await cli(['key', 'revoke', '--data', tmp.dir, '--json', '--', '-older0000000000']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).key_id, '-older0000000000');
    } finally {
      tmp.cleanup();
    }
  });

  test('startServer on a taken port closes the store it opened', async () => {
    const tmp = tempDir();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (taken.address() as AddressInfo).port;
      await assert.rejects(startServer({ dataDir: tmp.dir, port }), /EADDRINUSE/);
      assert.ok(existsSync(join(tmp.dir, 'quittance.db')));
      assert.equal(existsSync(join(tmp.dir, 'quittance.db-wal')), false, 'the store is still open');
    } finally {
      taken.close();
      tmp.cleanup();
    }
  });
});
