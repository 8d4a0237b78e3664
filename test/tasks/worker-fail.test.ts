import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../helpers.js';
import { faultyProxy, type Fault } from '../proxy.js';
import { systemClock } from '../../src/clock.js';
import { QuittanceClient, createWorker, PermanentError } from '../../src/client/index.js';

describe('worker SDK: lease-ending writes over a flaky network', () => {
  let h: Harness;
  let url: string;
  let client: QuittanceClient;
  before(async () => {
    h = await harness({ clock: systemClock, config: { tasks: { leaseTtlSecondsMin: 1 } } });
    url = await h.app.listen({ port: 0, host: '127.0.0.1' });
    client = new QuittanceClient({ url, key: h.key });
  });
  after(() => h.close());

  test('a failure report that gets no answer (lost, 5xx, 408, 429) is sent again while the lease is held, not left to the lease\'s expiry', { timeout: 20_000 }, async () => {
    // Each task's first report is lost on the way, its second gets a 503 or a gateway's 429, its third arrives but
    // its answer is lost: the task is failed (or its retry scheduled) at once, never left leased until the TTL.
    const faults: Fault[] = ['lose request', 503, 'lose answer', 'lose request', 429];
    const proxy = await faultyProxy(url, (method, path) => (method === 'POST' && path.endsWith('/fail') ? faults.shift() : undefined));
    const permanent = (await client.createTask({ type: 'fail-net', payload: { permanent: true } })).task.task_id;
    const retryable = (await client.createTask({ type: 'fail-net', payload: { permanent: false }, max_attempts: 3, retry_backoff_seconds: 60 })).task.task_id;
    const errors: string[] = [];
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['fail-net'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 60,
      onError: (_e, c) => errors.push(c.phase),
      handler: async (job) => {
        throw (job.payload as { permanent: boolean }).permanent ? new PermanentError('bad input') : new Error('flaky upstream');
      },
    });
    try {
      assert.equal((await client.waitForTask(permanent, { timeoutMs: 10_000 })).status, 'failed');
      // Both reports answered (not only stored), so stop() has nothing left to give back.
      for (const started = Date.now(); worker.stats.failed < 2;) {
        assert.ok(Date.now() - started < 10_000, `the failures were reported (${worker.stats.failed} of 2)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.deepEqual(faults, [], 'every fault happened');
    for (const id of [permanent, retryable]) {
      const types = (await client.task(id)).receipts.map((r) => r.type);
      assert.ok(!types.includes('lease.expired') && !types.includes('lease.released'), types.join(','));
      assert.equal(types.filter((t) => t === 'task.failed' || t === 'task.retry_scheduled').length, 1, types.join(','));
    }
    assert.equal((await client.task(retryable)).task.status, 'queued');
    assert.equal(worker.stats.failed, 2);
    assert.equal(errors.filter((p) => p === 'fail').length, 5);
    const stale = (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies;
    assert.deepEqual(stale, [], 'a resent failure report is not a stale write');
  });

  test('a completion sent while a renewal is on its way waits for it: the late renewal is no stale write on a finished task', { timeout: 20_000 }, async () => {
    // The first renewal (1 s into a 3 s lease) is held 800 ms on its way; the job finishes in between.
    let renewals = 0;
    const proxy = await faultyProxy(url, (method, path) => (path === '/v1/leases/renew' && renewals++ === 0 ? { delayRequestMs: 800 } : undefined));
    const id = (await client.createTask({ type: 'renew-race' })).task.task_id;
    const errors: unknown[] = [];
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['renew-race'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 3,
      onError: (e) => errors.push(e),
      handler: async (job) => {
        await new Promise((r) => setTimeout(r, 1_300));
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 10_000 })).status, 'succeeded');
      await new Promise((r) => setTimeout(r, 800));
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.equal(renewals, 1);
    assert.deepEqual(errors, []);
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 0, lost: 0 });
    const types = (await client.task(id)).receipts.map((r) => r.type);
    assert.ok(types.indexOf('lease.renewed') < types.indexOf('task.completed'), types.join(','));
    const stale = (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies as { task_id?: string }[];
    assert.deepEqual(stale.filter((a) => a.task_id === id), [], 'no renewal reached the lease after its completion');
  });

  test('stop() while a renewal is on its way releases once it is answered: the late renewal is no stale write', { timeout: 20_000 }, async () => {
    let renewSeen!: () => void;
    const renewing = new Promise<void>((r) => (renewSeen = r));
    const proxy = await faultyProxy(url, (method, path) => {
      if (path !== '/v1/leases/renew') return undefined;
      renewSeen();
      return { delayRequestMs: 800 };
    });
    const id = (await client.createTask({ type: 'renew-stop' })).task.task_id;
    const errors: unknown[] = [];
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['renew-stop'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 3,
      onError: (e) => errors.push(e),
      handler: (job) => new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason))),
    });
    try {
      await renewing;
      await worker.stop();
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      proxy.close();
    }
    assert.deepEqual(errors, []);
    assert.equal(worker.stats.released, 1);
    const { task, receipts } = await client.task(id);
    assert.equal(task.status, 'queued');
    const types = receipts.map((r) => r.type);
    assert.ok(types.indexOf('lease.renewed') < types.indexOf('lease.released'), types.join(','));
    const stale = (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies as { task_id?: string }[];
    assert.deepEqual(stale.filter((a) => a.task_id === id), [], 'no renewal reached the lease after its release');
  });

  test('a completion or failure refused because the lease was lost meanwhile (canceled) counts the task lost', { timeout: 20_000 }, async () => {
    const done = (await client.createTask({ type: 'lost-at-report', payload: { fail: false } })).task.task_id;
    const failed = (await client.createTask({ type: 'lost-at-report', payload: { fail: true } })).task.task_id;
    const worker = createWorker({
      url, key: h.key, acceptTypes: ['lost-at-report'], concurrency: 2, pollMs: 20, handleSignals: false, leaseTtlSeconds: 60,
      // Each job has its task canceled under it, then reports (before any renewal could tell it).
      handler: async (job) => {
        assert.equal((await client.cancelTask(job.task_id, 'not needed')).status, 'created');
        if (job.payload?.['fail']) throw new Error('gave up');
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      for (const id of [done, failed]) assert.equal((await client.waitForTask(id, { timeoutMs: 10_000 })).status, 'canceled');
      for (let i = 0; i < 50 && worker.stats.lost < 2; i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await worker.stop();
    }
    assert.deepEqual(worker.stats, { completed: 0, failed: 0, released: 0, lost: 2 }, 'before: counted nowhere');
  });
});
