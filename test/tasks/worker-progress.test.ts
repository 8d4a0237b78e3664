import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { listeningHarness, type Harness } from '../helpers.js';
import { faultyProxy, type Fault } from '../proxy.js';
import { QuittanceClient, createWorker } from '../../src/client/index.js';

describe('worker SDK: progress reports over a flaky network', () => {
  let h: Harness;
  let url: string;
  let client: QuittanceClient;
  before(async () => ({ h, url, client } = await listeningHarness()));
  after(() => h.close());

  test('a progress report that gets no answer is sent again, not thrown at the job: the task is done at its first attempt, one task.progress', { timeout: 20_000 }, async () => {
    // The first report is stored but its answer is lost, the next send gets a gateway's 503, then a 429, the one after
    // is lost on the way; the fifth arrives (and answers the stored report).
    const faults: Fault[] = ['lose answer', 503, 429, 'lose request'];
    const proxy = await faultyProxy(url, (method, path) => (method === 'POST' && path.endsWith('/progress') ? faults.shift() : undefined));
    const id = (await client.createTask({ type: 'progress-net', retry_backoff_seconds: 60 })).task.task_id;
    const errors: string[] = [];
    let reported = 0;
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['progress-net'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 60,
      onError: (_e, c) => errors.push(c.phase),
      handler: async (job) => {
        await job.progress({ step: 1 });
        reported++;
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      const done = await client.waitForTask(id, { timeoutMs: 10_000 });
      assert.equal(done.status, 'succeeded', 'before: the lost answer failed the job, and its retry waited 60 s');
      assert.equal(done.attempt, 1);
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.deepEqual(faults, [], 'every fault happened');
    assert.equal(reported, 1);
    assert.deepEqual(errors, ['progress', 'progress', 'progress', 'progress']);
    const types = (await client.task(id)).receipts.map((r) => r.type).filter((t) => t.startsWith('task.') || t.startsWith('lease.'));
    assert.deepEqual(types, ['task.assigned', 'lease.granted', 'task.started', 'task.progress', 'task.completed']);
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 0, lost: 0 });
  });

  test('a progress report refused (a 4xx) still throws at the job', { timeout: 20_000 }, async () => {
    const id = (await client.createTask({ type: 'progress-refused', max_attempts: 1 })).task.task_id;
    let thrown: unknown;
    const worker = createWorker({
      url, key: h.key, acceptTypes: ['progress-refused'], pollMs: 20, handleSignals: false,
      handler: async (job) => {
        try {
          // Not an object: the route refuses it (400).
          await job.progress('halfway' as unknown as Record<string, unknown>);
        } catch (e) {
          thrown = e;
          throw e;
        }
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 10_000 })).status, 'failed');
    } finally {
      await worker.stop();
    }
    assert.equal((thrown as { statusCode?: number }).statusCode, 400);
  });
});
