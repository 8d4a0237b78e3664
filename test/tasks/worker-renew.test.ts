import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempDir } from '../helpers.js';
import { faultyProxy } from '../proxy.js';
import { spawnServer, type ServerProcess } from '../e2e.js';
import { QuittanceClient, createWorker } from '../../src/client/index.js';

/**
 * A server from before `renewal`, as its worker sees it: a renewal naming its number is refused as the schema refused an
 * unknown property then (400, QUITTANCE_ERR_VALIDATION, "must NOT have additional properties"), and a renewal's answer
 * has no `status`; the rest goes to `target`. `fault` may lose the answer of the n-th renewal request (from 1), and
 * from the `upgradedAt`-th renewal request on, the server is upgraded: everything passes through as `target` answers it.
 */
async function serverBeforeRenewal(target: string, seen: unknown[], options: { loseAnswerOf?: number; upgradedAt?: number } = {}): Promise<{ url: string; close: () => void }> {
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const renewal = req.url === '/v1/leases/renew';
      let n = 0;
      if (renewal) {
        const sent = JSON.parse(body.toString()) as Record<string, unknown>;
        seen.push(sent['renewal']);
        n = seen.length;
        if ('renewal' in sent && !(options.upgradedAt !== undefined && n >= options.upgradedAt)) {
          res.writeHead(400, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({
            statusCode: 400, code: 'QUITTANCE_ERR_VALIDATION', error: 'Bad Request', message: 'Request does not match the schema: body must NOT have additional properties',
          }));
        }
      }
      const old = renewal && !(options.upgradedAt !== undefined && n >= options.upgradedAt);
      httpRequest(target + req.url, { method: req.method, headers: req.headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          if (renewal && n === options.loseAnswerOf) return void req.socket.destroy();
          let text = Buffer.concat(parts).toString();
          if (old && answer.statusCode === 200) {
            const { status: _status, ...rest } = JSON.parse(text) as Record<string, unknown>;
            text = JSON.stringify(rest);
          }
          res.writeHead(answer.statusCode!, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
          res.end(text);
        });
      }).end(body);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, close: () => proxy.close() };
}

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

  test('a renewal answered late (resent after a lost answer) is followed by the next one before the lease runs out', { timeout: 30_000 }, async () => {
    // A 6 s lease is renewed at 2 s (asking 12 s next: the TTL doubles); that answer is lost, and the resend's comes
    // back at ~5 s. The lease, renewed at 2 s for 6 s, ends at 8 s; the next renewal, a third of 12 s after that answer
    // (9 s), came after it had run out, and the job was aborted as lost.
    let renewals = 0;
    const proxy = await faultyProxy(server.url, (_method, path) => {
      if (path !== '/v1/leases/renew') return undefined;
      renewals++;
      return renewals === 1 ? 'lose answer' : renewals === 2 ? { delayAnswerMs: 2_900 } : undefined;
    });
    const id = (await client.createTask({ type: 'renew-late-answer' })).task.task_id;
    const errors: string[] = [];
    const worker = createWorker({
      url: proxy.url, key: server.adminKey!, acceptTypes: ['renew-late-answer'], pollMs: 20, leaseTtlSeconds: 6, handleSignals: false,
      onError: (_e, c) => errors.push(c.phase),
      handler: async (job) => {
        await new Promise((r) => setTimeout(r, 9_000));
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 20_000 })).status, 'succeeded');
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.deepEqual(errors, ['renew']);
    const { task, receipts } = await client.task(id);
    assert.equal(task.lease_expiries, 0);
    assert.deepEqual(receipts.map((r) => r.type).filter((t) => t === 'lease.granted' || t === 'lease.expired'), ['lease.granted'], 'before: expired under the job');
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 0, lost: 0 });
  });

  test('against a server from before `renewal`, the worker renews without the number, as it did', { timeout: 30_000 }, async () => {
    const seen: unknown[] = [];
    const old = await serverBeforeRenewal(server.url, seen);
    const id = (await client.createTask({ type: 'renew-old-server' })).task.task_id;
    const errors: string[] = [];
    const worker = createWorker({
      url: old.url, key: server.adminKey!, acceptTypes: ['renew-old-server'], pollMs: 20, leaseTtlSeconds: 6, leaseTtlMaxSeconds: 6, handleSignals: false,
      onError: (_e, c) => errors.push(c.phase),
      // Renewals at 2 s and 4 s (the TTL kept at 6 s); the job ends at 5 s.
      handler: async (job) => {
        await new Promise((r) => setTimeout(r, 5_000));
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 15_000 })).status, 'succeeded');
    } finally {
      await worker.stop();
      old.close();
    }
    assert.deepEqual(seen, [1, undefined, undefined], 'refused once with its number, then sent without');
    assert.deepEqual(errors, []);
    const renewed = (await client.receipts({ type: 'lease.renewed', task_id: id })).receipts;
    assert.deepEqual(renewed.map((r) => r.body['renewal']), [1, 2]);
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 0, lost: 0 });
  });

  test('a worker renewing without numbers for a server from before `renewal` numbers them again once that server is upgraded, counting as the server does', { timeout: 30_000 }, async () => {
    // Renewal requests: the 1st (numbered) is refused, the 2nd (without) renews but its answer is lost, the 3rd (its
    // resend, without a number as before) renews again; from the 4th on the server knows `renewal`.
    const seen: unknown[] = [];
    const old = await serverBeforeRenewal(server.url, seen, { loseAnswerOf: 2, upgradedAt: 4 });
    const id = (await client.createTask({ type: 'renew-upgraded-server' })).task.task_id;
    const errors: string[] = [];
    const worker = createWorker({
      url: old.url, key: server.adminKey!, acceptTypes: ['renew-upgraded-server'], pollMs: 20, leaseTtlSeconds: 6, leaseTtlMaxSeconds: 6, handleSignals: false,
      onError: (_e, c) => errors.push(c.phase),
      // Renewals at 2 s (three requests), ~4 s and ~6 s; the job ends at 7 s.
      handler: async (job) => {
        await new Promise((r) => setTimeout(r, 7_000));
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 20_000 })).status, 'succeeded');
    } finally {
      await worker.stop();
      old.close();
    }
    // The 4th, without a number, is answered as an upgraded server answers (with a status): the 5th names its number,
    // the server's count plus one (the lost answer's renewal counted), not the worker's own.
    assert.deepEqual(seen, [1, undefined, undefined, undefined, 4]);
    assert.deepEqual(errors, ['renew'], 'the lost answer');
    const renewed = (await client.receipts({ type: 'lease.renewed', task_id: id })).receipts;
    assert.deepEqual(renewed.map((r) => r.body['renewal']), [1, 2, 3, 4]);
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 0, lost: 0 });
  });
});
