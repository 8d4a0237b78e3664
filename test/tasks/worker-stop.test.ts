import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { listeningHarness, type Harness } from '../helpers.js';
import { ROOT } from '../e2e.js';
import { QuittanceClient, createWorker } from '../../src/client/index.js';
import { faultyProxy } from '../proxy.js';

/** A worker process (test/fixtures/term-worker) that takes a task of `type`, then gets SIGTERM: how it ends, and when. */
async function terminated(url: string, key: string, type: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'test', 'fixtures', 'term-worker.js')], {
    env: { ...process.env, QUITTANCE_URL: url, QUITTANCE_KEY: key, ACCEPT_TYPE: type, JOB_MS: '15000', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) => child.once('exit', (code, signal) => r({ code, signal, at: Date.now() })));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker process never picked up a task: ${out}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('working')) (clearTimeout(timer), resolve());
    });
  });
  const sentAt = Date.now();
  child.kill('SIGTERM');
  const end = await exited;
  return { ...end, afterMs: end.at - sentAt, out };
}

describe('worker SDK: stopping', () => {
  let h: Harness;
  let url: string;
  let client: QuittanceClient;
  before(async () => ({ h, url, client } = await listeningHarness()));
  after(() => h.close());

  for (const workers of [1, 2]) test(`a worker process given SIGTERM releases its lease and ends then, though its job goes on${workers === 2 ? ' (two workers)' : ''}`, { timeout: 40_000 }, async () => {
    const id = (await client.createTask({ type: `term-${workers}` })).task.task_id;
    const end = await terminated(url, h.key, `term-${workers}`, { WORKERS: String(workers) });
    // It ended as SIGTERM ends a process, once the lease was given back, not when the job it gave up had run out.
    assert.ok(end.out.includes('stopped 1'), end.out);
    assert.equal(end.signal, 'SIGTERM');
    assert.ok(end.afterMs < 3_000, `the process ended ${end.afterMs} ms after SIGTERM`);
    const { task, receipts } = await client.task(id);
    assert.equal(task.status, 'queued');
    assert.equal(task.attempt, 1);
    assert.ok(receipts.some((r) => r.type === 'lease.released'));
  });

  test('a program that listens for SIGTERM itself decides how its process ends', { timeout: 40_000 }, async () => {
    for (const when of ['before', 'after']) {
      const id = (await client.createTask({ type: `term-own-${when}` })).task.task_id;
      const end = await terminated(url, h.key, `term-own-${when}`, { OWN_SIGTERM: when });
      assert.ok(end.out.includes('stopped 1'), end.out);
      assert.deepEqual([end.code, end.signal], [7, null], `a listener added ${when} the worker`);
      assert.equal((await client.task(id)).task.status, 'queued');
    }
  });

  for (const lost of [false, true]) test(`a start ${lost ? 'whose answer is lost' : 'answered'} after stop() gave the lease back runs no job${lost ? ', gives nothing back twice' : ''}`, { timeout: 20_000 }, async () => {
    // The start reaches the server at once; its answer is held back until stop() has released the lease (then lost).
    let startSeen!: () => void;
    const seen = new Promise<void>((r) => (startSeen = r));
    const proxy = await faultyProxy(url, (method, path) => {
      if (method !== 'POST' || !path.endsWith('/start')) return undefined;
      startSeen();
      return { delayAnswerMs: 500, ...(lost && { thenLose: true as const }) };
    });
    const type = `stop-race-${lost}`;
    const id = (await client.createTask({ type })).task.task_id;
    const jobs: string[] = [];
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: [type], pollMs: 20, handleSignals: false,
      handler: async (job) => {
        jobs.push(job.task_id);
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      await seen;
      await worker.stop();
      await new Promise((r) => setTimeout(r, 800));
    } finally {
      proxy.close();
    }
    assert.deepEqual(jobs, [], 'the job of a lease given back never ran');
    assert.equal(worker.stats.released, 1);
    const { task, receipts } = await client.task(id);
    assert.equal(task.status, 'queued');
    assert.ok(receipts.some((r) => r.type === 'task.started'));
    assert.equal(receipts.filter((r) => r.type === 'lease.released').length, 1);
    const stale = (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies as { task_id?: string }[];
    assert.deepEqual(stale.filter((a) => a.task_id === id), [], 'no write to the lease after it was given back');
  });

  for (const step of ['complete', 'fail'] as const) test(`stop() while a ${step} is on its way lets it end the lease: nothing given back, no stale write`, { timeout: 20_000 }, async () => {
    // The report reaches the server at once; its answer is held back while stop() runs.
    let seen!: () => void;
    const reported = new Promise<void>((r) => (seen = r));
    const proxy = await faultyProxy(url, (method, path) => {
      if (method !== 'POST' || !path.endsWith(`/${step}`)) return undefined;
      seen();
      return { delayAnswerMs: 500 };
    });
    const type = `stop-while-${step}`;
    const id = (await client.createTask({ type })).task.task_id;
    const worker = createWorker({
      url: proxy.url, key: h.key, acceptTypes: [type], pollMs: 20, handleSignals: false,
      handler: async (job) => {
        if (step === 'fail') throw new Error('upstream down');
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      await reported;
      await worker.stop();
    } finally {
      proxy.close();
    }
    assert.deepEqual(worker.stats, { completed: step === 'complete' ? 1 : 0, failed: step === 'fail' ? 1 : 0, released: 0, lost: 0 });
    const { task, receipts } = await client.task(id);
    assert.equal(task.status, step === 'complete' ? 'succeeded' : 'queued');
    assert.equal(task.attempt, step === 'complete' ? 1 : 2);
    assert.ok(!receipts.some((r) => r.type === 'lease.released'));
    const stale = (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies as { task_id?: string }[];
    assert.deepEqual(stale.filter((a) => a.task_id === id), [], 'no release of a lease its own report ended');
  });
});
