import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { listeningHarness, type Harness } from '../helpers.js';
import { faultyProxy, type Fault } from '../proxy.js';
import { QuittanceClient, createWorker } from '../../src/client/index.js';

describe('worker SDK: claims over a flaky network', () => {
  let h: Harness;
  let url: string;
  let client: QuittanceClient;
  before(async () => ({ h, url, client } = await listeningHarness()));
  after(() => h.close());

  test('a claim whose answer is lost is sent again with its claim_id: the tasks it leased are worked at once, not after their lease TTL', { timeout: 20_000 }, async () => {
    // The first claim is granted but its answer is lost; the next send gets a gateway's 503, the one after is lost on
    // the way; the fourth arrives. Leases of 60 s: a task left to its lease's expiry would not be done in 10.
    const faults: Fault[] = ['lose answer', 503, 'lose request'];
    const proxy = await faultyProxy(url, (method, path) => (method === 'POST' && path === '/v1/leases/claim' ? faults.shift() : undefined));
    const ids = [
      (await client.createTask({ type: 'claim-net' })).task.task_id,
      (await client.createTask({ type: 'claim-net' })).task.task_id,
    ];
    const errors: string[] = [];
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['claim-net'], concurrency: 2, pollMs: 20, handleSignals: false, leaseTtlSeconds: 60,
      onError: (_e, c) => errors.push(c.phase),
      handler: async (job) => ({ artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] }),
    });
    try {
      for (const id of ids) assert.equal((await client.waitForTask(id, { timeoutMs: 10_000 })).status, 'succeeded');
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.deepEqual(faults, [], 'every fault happened');
    assert.deepEqual(errors, ['claim', 'claim', 'claim']);
    for (const id of ids) {
      const types = (await client.task(id)).receipts.map((r) => r.type);
      assert.deepEqual(types.filter((t) => t.startsWith('lease.')), ['lease.granted'], 'one lease, neither expired nor released');
    }
    assert.equal(worker.stats.completed, 2);
    const stale = (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies;
    assert.deepEqual(stale, []);
  });

  test('stopped while a claim with a lost answer is being sent again: sent once more, and what it leased is released', { timeout: 20_000 }, async () => {
    // The first claim's answer is lost, every send after it gets a 503 until stop() is called.
    let claims = 0;
    let stopped = false;
    const proxy = await faultyProxy(url, (method, path) => {
      if (method !== 'POST' || path !== '/v1/leases/claim') return undefined;
      return claims++ === 0 ? 'lose answer' : stopped ? undefined : 503;
    });
    const id = (await client.createTask({ type: 'claim-stop' })).task.task_id;
    let failing!: () => void;
    const twice = new Promise<void>((r) => (failing = r));
    let errors = 0;
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['claim-stop'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 60,
      onError: () => void (++errors === 2 && failing()),
      handler: async () => assert.fail('no job runs: the worker is stopping'),
    });
    try {
      await twice;
      stopped = true;
      await worker.stop();
    } finally {
      proxy.close();
    }
    const { task, receipts } = await client.task(id);
    assert.deepEqual(receipts.map((r) => r.type).filter((t) => t.startsWith('lease.')), ['lease.granted', 'lease.released']);
    assert.equal(task.status, 'queued');
  });

  test('stopped while a claim is on its way whose answer is then lost: sent once more, and what it leased is released', { timeout: 20_000 }, async () => {
    // The first claim is granted; its answer is held until stop() has been called, then lost. The rest passes through.
    let claims = 0;
    let sent!: () => void;
    const inFlight = new Promise<void>((r) => (sent = r));
    const proxy = await faultyProxy(url, (method, path) => {
      if (method !== 'POST' || path !== '/v1/leases/claim' || claims++ > 0) return undefined;
      sent();
      return { delayAnswerMs: 1_000, thenLose: true };
    });
    const id = (await client.createTask({ type: 'claim-stop-in-flight' })).task.task_id;
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['claim-stop-in-flight'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 60,
      handler: async () => assert.fail('no job runs: the worker is stopping'),
    });
    try {
      await inFlight;
      await worker.stop();
    } finally {
      proxy.close();
    }
    assert.equal(claims, 2, 'sent once more');
    const { task, receipts } = await client.task(id);
    assert.deepEqual(receipts.map((r) => r.type).filter((t) => t.startsWith('lease.')), ['lease.granted', 'lease.released'], 'before: left leased until its 60 s lease ran out');
    assert.equal(task.status, 'queued');
    assert.equal(worker.stats.released, 0, 'released by the claim loop, not as a held lease');
  });

  test('a claim answered late in its leases\' TTL (resent after a lost answer) renews them before they run out', { timeout: 20_000 }, async () => {
    // The first claim is granted and its answer lost; its resend is answered 4.3 s later, 4.4 s into the 6 s leases.
    // A renewal a third of the TTL after that answer (6.4 s) came after the lease had run out.
    const faults: Fault[] = ['lose answer', { delayAnswerMs: 4_300 }];
    const proxy = await faultyProxy(url, (method, path) => (method === 'POST' && path === '/v1/leases/claim' ? faults.shift() : undefined));
    const id = (await client.createTask({ type: 'claim-late' })).task.task_id;
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['claim-late'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 6,
      handler: async (job) => {
        await new Promise((r) => setTimeout(r, 3_000));
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 15_000 })).status, 'succeeded');
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.deepEqual(faults, []);
    const { task, receipts } = await client.task(id);
    assert.equal(task.lease_expiries, 0);
    const leases = receipts.map((r) => r.type).filter((t) => t === 'lease.granted' || t === 'lease.expired');
    assert.deepEqual(leases, ['lease.granted'], 'before: the lease ran out under the job, which was done again under a second');
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 0, lost: 0 });
  });

  test('a claim overtaken by its own resend, which found nothing, does not strand what it leases on arriving late', { timeout: 20_000 }, async () => {
    // The first claim is answered 503 by a gateway at once but still reaches the server, 1.5 s late; its resend goes
    // straight through and finds the queue empty. A task is queued then, and the late claim leases it, its answer lost.
    // Every claim after the resend is answered 503 until the late one has landed, then passes.
    let claims = 0;
    let first = 0;
    let resendAnswered!: () => void;
    const queueNow = new Promise<void>((r) => (resendAnswered = r));
    const proxy = await faultyProxy(url, (method, path) => {
      if (method !== 'POST' || path !== '/v1/leases/claim') return undefined;
      claims++;
      if (claims === 1) {
        first = Date.now();
        return { answerAtOnce: 503, delayRequestMs: 1_500 };
      }
      if (claims === 2) return undefined;
      resendAnswered();
      return Date.now() - first < 1_700 ? 503 : undefined;
    });
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['claim-overtaken'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 60,
      handler: async (job) => ({ artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] }),
    });
    let id: string;
    try {
      await queueNow;
      id = (await client.createTask({ type: 'claim-overtaken' })).task.task_id;
      assert.equal((await client.waitForTask(id, { timeoutMs: 8_000 })).status, 'succeeded', 'before: leased to nobody until its 60 s lease ran out');
    } finally {
      await worker.stop();
      proxy.close();
    }
    const types = (await client.task(id)).receipts.map((r) => r.type).filter((t) => t.startsWith('lease.'));
    assert.deepEqual(types, ['lease.granted'], 'one lease, the late claim\'s');
    assert.equal(worker.stats.completed, 1);
  });
});
