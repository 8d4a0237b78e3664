import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers.js';
import { faultyProxy } from '../proxy.js';
import { spawnServer, type ServerProcess } from '../e2e.js';
import { QuittanceClient, createWorker } from '../../src/client/index.js';

describe('worker SDK: renewals whose answer is lost', () => {
  const tmp = tempDir();
  let server: ServerProcess;
  let client: QuittanceClient;
  before(async () => {
    server = await spawnServer(tmp.dir);
    client = new QuittanceClient({ url: server.url, key: server.adminKey! });
  });
  after(async () => {
    await server.kill();
    tmp.cleanup();
  });

  test('a renewal whose answer was lost is sent again at once with its number: the lease is renewed once, nothing lost', { timeout: 30_000 }, async () => {
    // The first renewal reaches the server, its answer does not come back; everything else passes through.
    const renewals: string[] = [];
    const proxy = await faultyProxy(server.url, (method, path) => {
      if (path !== '/v1/leases/renew') return undefined;
      renewals.push(method);
      return renewals.length === 1 ? 'lose answer' : undefined;
    });
    const id = (await client.createTask({ type: 'renew-lost-answer' })).task.task_id;
    const errors: string[] = [];
    const worker = createWorker({
      url: proxy.url, key: server.adminKey!, acceptTypes: ['renew-lost-answer'], pollMs: 20, leaseTtlSeconds: 6, handleSignals: false,
      onError: (_e, c) => errors.push(c.phase),
      // The first renewal is sent at 2 s (a third of 6 s); the job ends at 4.5 s, before the next renewal is due.
      handler: async (job) => {
        await new Promise((r) => setTimeout(r, 4_500));
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 15_000 })).status, 'succeeded');
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.equal(renewals.length, 2, 'the renewal was sent again once its answer was lost');
    assert.deepEqual(errors, ['renew']);
    const renewed = (await client.receipts({ type: 'lease.renewed', task_id: id })).receipts;
    assert.deepEqual(renewed.map((r) => r.body['renewal']), [1], 'the lease was renewed once');
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 0, lost: 0 });
    const anomalies = (await client.receipts({ type: 'system.anomaly', task_id: id })).receipts;
    assert.deepEqual(anomalies.map((r) => r.body['kind']), []);
  });
});
