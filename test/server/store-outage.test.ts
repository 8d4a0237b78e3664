import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { buildApp } from '../../src/server/app.js';
import { createServices } from '../../src/server/index.js';
import { startSweeps } from '../../src/server/sweeps.js';
import { CommitOutcomeUnknown } from '../../src/store/group-commit.js';
import { PostgresStore, openPostgresStore } from '../../src/store/postgres/index.js';
import { unreachableReason } from '../../src/store/postgres/unreachable.js';
import { BACKENDS, tempDir, agent, worker } from '../helpers.js';
import { TEST_PG_URL, testSchema } from '../pg.js';

describe('what says PostgreSQL cannot be reached', () => {
  const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  test('socket errors, connection SQLSTATEs and the driver\'s own words; through causes', () => {
    assert.equal(unreachableReason(coded('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432')), 'ECONNREFUSED');
    assert.equal(unreachableReason(coded('57P01', 'terminating connection due to administrator command')), '57P01');
    assert.equal(unreachableReason(coded('08006')), '08006');
    assert.equal(unreachableReason(coded('53300')), '53300');
    assert.equal(unreachableReason(new Error('Connection terminated unexpectedly')), 'connection lost');
    assert.equal(unreachableReason(new CommitOutcomeUnknown(coded('ECONNRESET'))), 'ECONNRESET');
  });
  test('anything else is not an outage', () => {
    assert.equal(unreachableReason(coded('23505', 'duplicate key value violates unique constraint')), undefined);
    assert.equal(unreachableReason(coded('ERR_INVALID_ARG_TYPE')), undefined);
    assert.equal(unreachableReason(new TypeError('x is undefined')), undefined);
    assert.equal(unreachableReason('ECONNREFUSED'), undefined);
  });
});

/**
 * A TCP proxy in front of PostgreSQL that the test can take down (every connection cut) and bring back; `cutWhen`
 * cuts a connection as a client sends bytes it matches (a statement's text).
 */
async function outageProxy(target: URL, cutWhen?: (sent: Buffer) => boolean) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const up = () => new Promise<void>((resolve) => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => (s === client ? upstream : client).destroy());
      }
      if (cutWhen) {
        client.on('data', (d: Buffer) => {
          if (cutWhen(d)) for (const s of [client, upstream]) s.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    }).listen(port, '127.0.0.1', () => {
      port = (server!.address() as AddressInfo).port;
      resolve();
    });
  });
  await up();
  return {
    url: () => { const u = new URL(target); u.host = `127.0.0.1:${port}`; return u.toString(); },
    port: () => port,
    up,
    down: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    }),
  };
}

describe('PostgreSQL going away and coming back', { skip: !BACKENDS.includes('postgres') && 'PostgreSQL not reachable' }, () => {
  test('requests answer 503 QUITTANCE_ERR_STORE_UNAVAILABLE (not 500) while it is gone, and work again after', async () => {
    const schema = testSchema();
    const proxy = await outageProxy(new URL(TEST_PG_URL));
    const store = await openPostgresStore({ connectionString: proxy.url(), schema: schema.schema });
    const services = createServices({ store });
    const app = await buildApp(services);
    try {
      const t = await services.tenants.createTenant('a');
      const { api_key: key } = await services.tenants.createKey(t.tenant_id, ['admin']);
      const req = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
        app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined && { payload: payload as object }) });
      const receipt = (n: number) => ({ type: 'task.assigned', from: agent, to: worker, task_id: `t-${n}` });
      assert.equal((await req('POST', '/v1/receipts', receipt(1))).statusCode, 201);

      await proxy.down();
      for (const [method, url, payload] of [['GET', '/v1/health'], ['POST', '/v1/receipts', receipt(2)], ['GET', '/v1/receipts']] as const) {
        const res = await req(method, url, payload);
        assert.equal(res.statusCode, 503, `${method} ${url}: ${res.body}`);
        const body = res.json() as { code: string; message: string };
        assert.equal(body.code, 'QUITTANCE_ERR_STORE_UNAVAILABLE');
        assert.match(body.message, /cannot be reached now \((ECONNREFUSED|ECONNRESET|connection lost)\)/);
        assert.doesNotMatch(body.message, new RegExp(`:${proxy.port()}`), 'the database address is not shown');
      }

      await proxy.up();
      assert.equal((await req('POST', '/v1/receipts', receipt(3))).statusCode, 201);
      const verify = (await req('GET', '/v1/ledger/verify')).json() as { ok: boolean; receipts: number };
      assert.deepEqual([verify.ok, verify.receipts], [true, 2]);
    } finally {
      await app.close();
      await services.store.close();
      await proxy.down().catch(() => undefined);
      await schema.drop();
    }
  });
  test('a connection that breaks while a write transaction holds it fails that write, and the process lives on', async () => {
    const schema = testSchema();
    const proxy = await outageProxy(new URL(TEST_PG_URL));
    const store = await openPostgresStore({ connectionString: proxy.url(), schema: schema.schema });
    const services = createServices({ store });
    try {
      const t = await services.tenants.createTenant('a');
      const receipt = (n: number) => ({ type: 'task.assigned', from: agent, to: worker, task_id: `t-${n}` });
      // The batch's connection is checked out of the pool before the write runs; cutting it there emits 'error' on
      // that client with no statement in flight. Unheard, that event ended the server (SIGKILL-like, every
      // in-flight request lost) the first time PostgreSQL went away under load.
      const cut = store.write(async (tx) => {
        await proxy.down();
        await new Promise((r) => setTimeout(r, 50));
        return services.ledger.appendInTx(tx, t.tenant_id, receipt(0));
      });
      await assert.rejects(cut);
      await proxy.up();
      const r = await services.ledger.append(t.tenant_id, receipt(1));
      assert.equal(r.status, 'created');
      assert.equal((await services.ledger.verify(t.tenant_id)).ok, true);
    } finally {
      await services.store.close();
      await proxy.down().catch(() => undefined);
      await schema.drop();
    }
  });
});

describe('PostgreSQL lost while migrations run', { skip: !BACKENDS.includes('postgres') && 'PostgreSQL not reachable' }, () => {
  test('fails the start with the driver\'s error; the process lives on', async () => {
    const schema = testSchema();
    // Cut at the migrations' advisory lock: the connection is held out of the pool, with no statement of ours
    // waiting for the moment the socket closes. Unheard, its 'error' event ended the process.
    const proxy = await outageProxy(new URL(TEST_PG_URL), (sent) => sent.includes('pg_advisory_lock'));
    try {
      await assert.rejects(openPostgresStore({ connectionString: proxy.url(), schema: schema.schema }));
      await new Promise((r) => setTimeout(r, 100)); // any late 'error' event has been emitted by now
    } finally {
      await proxy.down().catch(() => undefined);
      await schema.drop();
    }
  });
});

describe('PostgreSQL out of reach when a store is made', { skip: !BACKENDS.includes('postgres') && 'PostgreSQL not reachable' }, () => {
  test('the first call fails; once PostgreSQL is back the next call migrates and works, without making the store anew', async () => {
    const schema = testSchema();
    const proxy = await outageProxy(new URL(TEST_PG_URL));
    await proxy.down();
    // What an embedding program gets from createServices({databaseUrl}): the migration starts in the background.
    const store = new PostgresStore({ connectionString: proxy.url(), schema: schema.schema });
    const services = createServices({ store });
    try {
      await assert.rejects(services.tenants.createTenant('a'), (e: unknown) => unreachableReason(e) !== undefined);
      await assert.rejects(store.stamps.stamp('t', 's'), (e: unknown) => unreachableReason(e) !== undefined);
      await proxy.up();
      const t = await services.tenants.createTenant('a');
      const r = await services.ledger.append(t.tenant_id, { type: 'task.assigned', from: agent, to: worker, task_id: 't-1' });
      assert.equal(r.status, 'created');
      assert.equal(await store.stamps.stamp(t.tenant_id, 'none'), undefined);
      const v = await store.schemaVersion();
      assert.equal(v.current, v.known);
    } finally {
      await services.store.close();
      await proxy.down().catch(() => undefined);
      await schema.drop();
    }
  });
});

describe('a sweep that keeps failing', () => {
  test('is logged when it starts to fail, then once a minute with the count, and when it works again', async () => {
    const tmp = tempDir();
    const services = createServices({ dataDir: tmp.dir, config: { tasks: { sweepIntervalMs: 5 } } });
    const lines: { level: string; msg: string; failures?: number }[] = [];
    const log = {
      info: (o: { sweep: string; failures?: number }, msg: string) => o.sweep === 'lease expiry' && lines.push({ level: 'info', msg, ...(o.failures !== undefined && { failures: o.failures }) }),
      error: (o: { sweep: string; failures: number }, msg: string) => o.sweep === 'lease expiry' && lines.push({ level: 'error', msg, failures: o.failures }),
    } as unknown as FastifyBaseLogger;
    let failing = true;
    let runs = 0;
    services.tasks.expireDue = async () => {
      runs++;
      if (failing) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return 0;
    };
    let now = 0;
    const stop = startSweeps(services, log, () => now);
    const waitRuns = async (n: number) => {
      const until = runs + n;
      while (runs < until) await new Promise((r) => setTimeout(r, 5));
    };
    try {
      await waitRuns(20);
      assert.deepEqual(lines, [{ level: 'error', msg: 'sweep failed', failures: 1 }]);
      now += 60_000;
      await waitRuns(3);
      assert.equal(lines.length, 2);
      assert.deepEqual({ ...lines[1], failures: undefined }, { level: 'error', msg: 'sweep still failing', failures: undefined });
      assert.ok(lines[1]!.failures! > 20, `the reminder counts the failures (${lines[1]!.failures})`);
      failing = false;
      await waitRuns(3);
      assert.equal(lines.length, 3);
      assert.equal(lines[2]!.msg, 'sweep works again');
    } finally {
      await stop();
      await services.store.close();
      tmp.cleanup();
    }
  });
});
