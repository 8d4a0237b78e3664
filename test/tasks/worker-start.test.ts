import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { listeningHarness, type Harness } from '../helpers.js';
import { faultyProxy } from '../proxy.js';
import { QuittanceClient, createWorker } from '../../src/client/index.js';

describe('worker SDK: a start that gets no answer', () => {
  let h: Harness;
  let url: string;
  let client: QuittanceClient;
  before(async () => ({ h, url, client } = await listeningHarness()));
  after(() => h.close());

  test('gives the lease back once the renewal on its way is answered: no renewal lands on the released lease, and the task is done', { timeout: 20_000 }, async () => {
    // A 6 s lease is renewed at 2 s. The start's answer is held 2.5 s, then lost; the renewal reaches the server 1.5 s
    // after it is sent (3.5 s), after the worker gives the lease back for the lost start. The task is then claimed again
    // and done.
    let renewals = 0;
    let starts = 0;
    const proxy = await faultyProxy(url, (method, path) => {
      if (method === 'POST' && path.endsWith('/start')) return starts++ === 0 ? { delayAnswerMs: 2_500, thenLose: true } : undefined;
      if (path === '/v1/leases/renew') return renewals++ === 0 ? { delayRequestMs: 1_500 } : undefined;
      return undefined;
    });
    const id = (await client.createTask({ type: 'start-lost' })).task.task_id;
    const errors: string[] = [];
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['start-lost'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 6,
      onError: (e, c) => errors.push(`${c.phase}${e instanceof Error && 'code' in e ? ` ${String(e.code)}` : ''}`),
      handler: async (job) => ({ artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] }),
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 15_000 })).status, 'succeeded');
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.deepEqual(errors, ['start']);
    assert.equal(renewals, 1);
    const types = (await client.task(id)).receipts.map((r) => r.type).filter((t) => t.startsWith('lease.') || t.startsWith('task.'));
    assert.deepEqual(types, ['task.assigned', 'lease.granted', 'task.started', 'lease.renewed', 'lease.released', 'lease.granted', 'task.started', 'task.completed'],
      'before: the renewal came after the release');
    const stale = (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies;
    assert.deepEqual(stale, []);
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 1, lost: 0 });
  });

  test('stop() while that lease is being given back waits for the release: the task is queued again when stop() returns', { timeout: 20_000 }, async () => {
    // The start is lost on the way; the release it leads to is held 1 s on its way, and stop() is called meanwhile.
    let releasing!: () => void;
    const released = new Promise<void>((r) => (releasing = r));
    const proxy = await faultyProxy(url, (method, path) => {
      if (method === 'POST' && path.endsWith('/start')) return 'lose request';
      if (method === 'POST' && path.endsWith('/release')) {
        releasing();
        return { delayRequestMs: 1_000 };
      }
      return undefined;
    });
    const id = (await client.createTask({ type: 'start-lost-stop' })).task.task_id;
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: ['start-lost-stop'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 60,
      handler: async () => assert.fail('the start got no answer: the job does not run'),
    });
    try {
      await released;
      await worker.stop();
      const { task, receipts } = await client.task(id);
      assert.deepEqual(receipts.map((r) => r.type).filter((t) => t.startsWith('lease.')), ['lease.granted', 'lease.released'], 'before: stop() returned with the release still on its way');
      assert.equal(task.status, 'queued');
    } finally {
      proxy.close();
    }
    assert.deepEqual(worker.stats, { completed: 0, failed: 0, released: 1, lost: 0 });
  });
});
