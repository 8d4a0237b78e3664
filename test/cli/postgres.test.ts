/**
 * The CLI on PostgreSQL: `--db URL` (and QUITTANCE_DATABASE_URL) for serve, tenant create, key create / list /
 * revoke and verify; verify catches every kind of tampering with stored rows, as it does on SQLite (test/cli/cli.test.ts).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { agent, worker, artifact } from '../helpers.js';
import { cli, spawnServer, api, type ServerProcess } from '../e2e.js';
import { keyCommandTests } from './keys.js';
import { testSchema, type TestSchema } from '../pg.js';
import { createServices } from '../../src/server/index.js';

const skip = process.env['QUITTANCE_TEST_PG'] !== '1' && 'PostgreSQL is not reachable (see scripts/run-tests.js)';

/** A schema holding a small ledger (two tenants, four receipts each) written through the real services. */
async function ledgerWithReceipts(): Promise<TestSchema & { tenantA: string }> {
  const s = testSchema();
  await s.create();
  const services = createServices({ databaseUrl: s.schemaUrl });
  try {
    const a = await services.tenants.createTenant('alpha');
    const b = await services.tenants.createTenant('beta');
    for (const t of [a, b]) {
      const ob = await services.ledger.append(t.tenant_id, { type: 'task.assigned', from: agent, to: worker, body: { n: 1 } });
      await services.ledger.append(t.tenant_id, { type: 'task.progress', from: worker, to: agent, parents: [ob.receipt.receipt_id], body: { pct: 50 } });
      await services.ledger.append(t.tenant_id, { type: 'task.completed', from: worker, to: agent, parents: [ob.receipt.receipt_id], artifacts: [artifact] });
      await services.ledger.append(t.tenant_id, { type: 'task.assigned', from: agent, to: worker, body: { n: 2 } });
    }
    return { ...s, tenantA: a.tenant_id };
  } finally {
    await services.store.close();
  }
}

describe('quittance verify --db', { skip }, () => {
  test('exit 0 when every chain is intact; QUITTANCE_DATABASE_URL works as well as --db', async () => {
    const l = await ledgerWithReceipts();
    try {
      const r = await cli(['verify', '--db', l.schemaUrl]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ok\s+alpha: 4 receipts/);
      assert.match(r.stdout, /ok\s+beta: 4 receipts/);
      const env = await cli(['verify', '--json'], { QUITTANCE_DATABASE_URL: l.schemaUrl });
      assert.equal(env.code, 0, env.stderr);
      assert.deepEqual(JSON.parse(env.stdout).tenants.map((t: { tenant: string }) => t.tenant), ['alpha', 'beta']);
    } finally {
      await l.drop();
    }
  });

  const tampers: [string, string][] = [
    ['body byte', `UPDATE receipts SET body = replace(body, '50', '51') WHERE seq = 2`],
    ['body whitespace only', `UPDATE receipts SET body = replace(body, ':', ': ') WHERE seq = 2`],
    ['body made invalid JSON', `UPDATE receipts SET body = body || '}' WHERE seq = 2`],
    ['type', `UPDATE receipts SET type = 'task.started' WHERE seq = 2`],
    ['from principal', `UPDATE receipts SET from_id = 'w2' WHERE seq = 2`],
    ['parents', `UPDATE receipts SET parents = '[]' WHERE seq = 2`],
    ['created_at', `UPDATE receipts SET created_at = replace(created_at, '.', ',') WHERE seq = 2`],
    ['receipt_id', `UPDATE receipts SET receipt_id = substr(receipt_id, 1, 35) || CASE WHEN substr(receipt_id, 36, 1) = 'f' THEN 'e' ELSE 'f' END WHERE seq = 2`],
    ['hash', `UPDATE receipts SET hash = replace(hash, substr(hash, 1, 1), 'x') WHERE seq = 2`],
    ['discharges flag', `UPDATE receipts SET discharges = NOT discharges WHERE seq = 2`],
    ['deleted receipt (a gap)', `DELETE FROM receipts WHERE seq = 2`],
  ];
  for (const [what, sql] of tampers) {
    test(`non-zero exit naming the tenant and first bad seq when the stored ${what} changes`, async () => {
      const l = await ledgerWithReceipts();
      try {
        const changed = await l.exec(sql.replace(/WHERE seq = 2/g, 'WHERE seq = 2 AND tenant_id = $1'), [l.tenantA]);
        assert.equal(changed.rowCount, 1, 'the tampering touched exactly one row');
        const r = await cli(['verify', '--db', l.schemaUrl, '--json']);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const out = JSON.parse(r.stdout) as { ok: boolean; tenants: { tenant: string; ok: boolean; first_bad_seq?: number }[] };
        assert.equal(out.ok, false);
        const alpha = out.tenants.find((t) => t.tenant === 'alpha')!;
        assert.equal(alpha.ok, false);
        assert.equal(alpha.first_bad_seq, 2);
        assert.equal(out.tenants.find((t) => t.tenant === 'beta')!.ok, true);
        const human = await cli(['verify', '--db', l.schemaUrl]);
        assert.equal(human.code, 1);
        assert.match(human.stdout, /BROKEN alpha .*first bad seq 2/);
      } finally {
        await l.drop();
      }
    });
  }

  test('a truncated chain (last receipt removed) or a rewound chain head is caught', async () => {
    const l = await ledgerWithReceipts();
    try {
      await l.exec('DELETE FROM receipts WHERE tenant_id = $1 AND seq = 4', [l.tenantA]);
      const r = await cli(['verify', '--db', l.schemaUrl, '--json']);
      assert.equal(r.code, 1);
      assert.equal(JSON.parse(r.stdout).tenants[0].first_bad_seq, 4);
      await l.exec(`UPDATE chain_heads SET seq = 3, chain_hash = (SELECT chain_hash FROM receipts WHERE tenant_id = $1 AND seq = 3) WHERE tenant_id = $1`, [l.tenantA]);
      assert.equal((await cli(['verify', '--db', l.schemaUrl])).code, 0, 'a consistent rewind is a shorter chain, and verifies');
      await l.exec(`UPDATE chain_heads SET seq = 2 WHERE tenant_id = $1`, [l.tenantA]);
      const rewound = await cli(['verify', '--db', l.schemaUrl, '--json']);
      assert.equal(rewound.code, 1);
      assert.equal(JSON.parse(rewound.stdout).tenants[0].ok, false);
    } finally {
      await l.drop();
    }
  });

  test('commands that only read or change a ledger refuse a schema without one, and create nothing there', async () => {
    const empty = testSchema();
    await empty.create();
    try {
      for (const argv of [['verify'], ['key', 'list', '--tenant', 'acme'], ['key', 'create', '--tenant', 'acme', '--scopes', 'read'], ['keys', 'rotate'], ['key', 'revoke', 'k1']]) {
        const r = await cli([...argv, '--db', empty.schemaUrl]);
        assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /no ledger in postgres:.* \(no schema_migrations table on its search_path\): check --db/);
      }
      const tables = await empty.exec('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [empty.schema]);
      assert.equal(tables.rows[0].n, 0, 'no table was created');
      // Creating a tenant is how a ledger may start without a server.
      const t = await cli(['tenant', 'create', 'first', '--db', empty.schemaUrl, '--json']);
      assert.equal(t.code, 0, t.stderr);
      const v = await cli(['verify', '--db', empty.schemaUrl]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /^ok {4}first: 0 receipts, head seq 0$/m);
      assert.equal((await cli(['keys', 'rotate', '--db', empty.schemaUrl])).code, 0);
    } finally {
      await empty.drop();
    }
  });

  test('--data and --db together, or a --db that is not a postgres:// URL, are usage errors', async () => {
    const both = await cli(['verify', '--data', '/tmp/x', '--db', 'postgres://localhost/x']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give one of them/);
    const notPg = await cli(['tenant', 'create', 'x', '--db', 'mysql://localhost/x']);
    assert.equal(notPg.code, 2);
    assert.match(notPg.stderr, /postgres:\/\/ URL/);
  });
});

describe('quittance serve --db: two servers on one database, CLI alongside', { skip }, () => {
  let s: TestSchema;
  let one: ServerProcess;
  let two: ServerProcess;
  before(async () => {
    s = testSchema();
    await s.create();
    // Started together: they migrate one after the other, and exactly one creates the default tenant.
    [one, two] = await Promise.all([spawnServer(s.schemaUrl), spawnServer(s.schemaUrl)]);
  });
  after(async () => {
    await Promise.all([one?.kill(), two?.kill()]);
    await s.drop();
  });

  test('first start creates tenant "default" once, and its key works on both servers', async () => {
    assert.ok(/listening on .*\(postgres: postgres:\/\//.test(one.output() + two.output()), one.output());
    const keys = [one.adminKey, two.adminKey].filter(Boolean);
    assert.equal(keys.length, 1, `exactly one server printed a key:\n${one.output()}\n${two.output()}`);
    const key = keys[0]!;
    const a = await api(one.url, key, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: { on: 1 } });
    const b = await api(two.url, key, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: { on: 2 } });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.json.receipt.prev_hash, a.json.receipt.chain_hash, 'one chain across both servers');
    assert.equal((await api(one.url, key, 'GET', `/v1/receipts/${b.json.receipt.receipt_id}`)).status, 200);
    assert.equal((await api(two.url, key, 'GET', '/v1/health')).json.backend, 'postgres');
  });

  test('quittance verify --db beside two servers that keep appending: exit 0', async () => {
    const key = (one.adminKey ?? two.adminKey)!;
    let stop = false;
    const writers = [one, two, one, two].map(async (server) => {
      for (let n = 0; !stop; n++) await api(server.url, key, 'POST', '/v1/receipts', { type: 'task.progress', from: worker, to: agent, body: { n, r: Math.random() } });
    });
    try {
      for (let i = 0; i < 5; i++) {
        const v = await cli(['verify', '--db', s.schemaUrl]);
        assert.equal(v.code, 0, v.stdout + v.stderr);
      }
    } finally {
      stop = true;
      await Promise.all(writers);
    }
  });

  test('tenant create / key create --db work at once on both servers; a duplicate name is TENANT_EXISTS', async () => {
    const t = await cli(['tenant', 'create', 'acme', '--db', s.schemaUrl, '--json']);
    assert.equal(t.code, 0, t.stderr);
    const created = JSON.parse(t.stdout) as { tenant_id: string; api_key: string };
    assert.deepEqual(Object.keys(created).sort(), ['api_key', 'tenant_id']);
    for (const server of [one, two]) {
      const w = await api(server.url, created.api_key, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: { url: server.url } });
      assert.equal(w.status, 201);
      assert.equal(w.json.receipt.tenant_id, created.tenant_id);
    }
    const dup = await cli(['tenant', 'create', 'acme', '--db', s.schemaUrl]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /QUITTANCE_ERR_TENANT_EXISTS/);

    const k = await cli(['key', 'create', '--tenant', 'acme', '--scopes', 'read'], { QUITTANCE_DATABASE_URL: s.schemaUrl });
    assert.equal(k.code, 0, k.stderr);
    const readKey = /\n\s+(qk_\S+)\n/.exec(k.stdout)![1]!;
    assert.equal((await api(two.url, readKey, 'GET', '/v1/receipts')).json.receipts.length, 2);
    assert.equal((await api(one.url, readKey, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker })).status, 403);

    const v = await cli(['verify', '--db', s.schemaUrl]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /ok\s+acme: 2 receipts/);
  });

  // A key revoked through one database is refused by both servers.
  keyCommandTests(() => ({ where: ['--db', s.schemaUrl], servers: [one, two] }));
});
