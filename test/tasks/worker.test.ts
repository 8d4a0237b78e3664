import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { harness, tempDir, type Harness } from '../helpers.js';
import { faultyProxy, type Fault } from '../proxy.js';
import { systemClock } from '../../src/clock.js';
import { spawnServer, ROOT, type ServerProcess } from '../e2e.js';
import { QuittanceClient, createWorker, PermanentError } from '../../src/client/index.js';

/** Faults planned per worker step: each POST …/start or …/complete takes the next fault of its step's list. */
function planned(plan: Record<'start' | 'complete', (Fault | undefined)[]>) {
  return (method: string, path: string): Fault | undefined => {
    const step = method === 'POST' ? /\/(start|complete)$/.exec(path)?.[1] as 'start' | 'complete' | undefined : undefined;
    return step === undefined ? undefined : plan[step].shift();
  };
}

describe('worker SDK against a real server', () => {
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

  test('createWorker claims in batches, completes with artifacts, fails for good on PermanentError', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await client.createTask({ type: 'sdk', payload: { i } })).task.task_id);
    const bad = (await client.createTask({ type: 'sdk', payload: { i: -1 }, max_attempts: 5 })).task.task_id;
    const seen = new Set<string>();
    const worker = createWorker({
      url: server.url, key: server.adminKey!, concurrency: 4, acceptTypes: ['sdk'], pollMs: 20, handleSignals: false,
      handler: async (job) => {
        seen.add(job.task_id);
        if ((job.payload as { i: number }).i < 0) throw new PermanentError('bad input');
        await job.progress({ step: 1 });
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }], result_summary: `did ${(job.payload as { i: number }).i}` };
      },
    });
    for (const id of ids) assert.equal((await client.waitForTask(id, { timeoutMs: 15_000 })).status, 'succeeded');
    const failed = await client.waitForTask(bad, { timeoutMs: 15_000 });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempt, 1, 'a permanent error does not retry');
    await worker.stop();
    assert.equal(worker.stats.completed, 12);
    assert.equal(worker.stats.failed, 1);
    const trace = await client.task(ids[0]!);
    // The task's own chain (stamp receipts, when stamps are on, are checked in the stamps suite).
    const taskTypes = trace.receipts.map((r) => r.type).filter((t) => !t.startsWith('stamp.'));
    assert.deepEqual(taskTypes, ['task.assigned', 'lease.granted', 'task.started', 'task.progress', 'task.completed']);
  });

  test('a handler error the fail route would refuse as it is (over 8192 characters, U+0000, a lone surrogate) still fails the task at once', async () => {
    const messages = ['e'.repeat(20_000), 'read \u0000 in the header', 'half a pair: \uD83D.'];
    const ids: string[] = [];
    for (let i = 0; i < messages.length; i++) ids.push((await client.createTask({ type: 'loud', payload: { i }, max_attempts: 1 })).task.task_id);
    const errors: unknown[] = [];
    const worker = createWorker({
      url: server.url, key: server.adminKey!, acceptTypes: ['loud'], pollMs: 20, handleSignals: false,
      handler: async (job) => { throw new PermanentError(messages[(job.payload as { i: number }).i]); },
      onError: (e) => errors.push(e),
    });
    try {
      // Refused, the failure report left each task leased for the lease's 120 s, and its expiry counted a crash.
      for (const id of ids) assert.equal((await client.waitForTask(id, { timeoutMs: 5_000 })).status, 'failed');
    } finally {
      await worker.stop();
    }
    assert.deepEqual(errors, []);
    assert.equal(worker.stats.failed, 3);
    const failed = (await client.task(ids[0]!)).receipts.find((r) => r.type === 'task.failed')!;
    assert.equal(Array.from(String(failed.body['error'])).length, 8192);
  });

  test('a lease lost while the handler runs (task canceled) is renewed no more, though the handler ignores the signal', { timeout: 30_000 }, async () => {
    const id = (await client.createTask({ type: 'deaf' })).task.task_id;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let finish!: () => void;
    const worker = createWorker({
      url: server.url, key: server.adminKey!, acceptTypes: ['deaf'], pollMs: 20, handleSignals: false, leaseTtlSeconds: 5,
      handler: () => {
        started();
        return new Promise((r) => (finish = () => r({ result_summary: 'late' })));
      },
    });
    try {
      await running;
      await client.cancelTask(id, 'not needed');
      // Renewals every 1.7 s: before the fix, each after the cancel was refused and filed an anomaly.
      await new Promise((r) => setTimeout(r, 6_000));
      finish();
    } finally {
      await worker.stop();
    }
    assert.equal(worker.stats.lost, 1);
    const stale = (await client.anomalies({ kind: 'stale_lease_write', limit: 1000 })).anomalies.filter((a) => a.task_id === id);
    assert.equal(stale.length, 1, JSON.stringify(stale.map((a) => a.body)));
  });

  test('QuittanceClient: the grant a claim answered can be passed as the lease proof of every lease-bound write', async () => {
    const type = 'own-loop';
    for (let i = 0; i < 4; i++) await client.createTask({ type });
    const [a, b, c, d] = await client.claim({ worker_id: 'own-loop', accept_types: [type], max_tasks: 4 });
    // TypeScript takes a LeaseGrant for a LeaseProof; its other fields (type, payload, attempt, ...) were sent too, a 400.
    await client.start(a!.task_id, a!);
    await client.renew(a!);
    await client.progress(a!.task_id, a!, { step: 1 });
    assert.equal((await client.complete(a!.task_id, a!, { artifacts: [{ kind: 'blob', uri: 'blob:a' }] })).status, 'created');
    const batch = await client.completeBatch([{ ...b!, artifacts: [{ kind: 'blob', uri: 'blob:b' }] }]);
    assert.deepEqual(batch.results.map((r) => r.statusCode), [201]);
    assert.equal((await client.release(c!.task_id, c!, 'not mine')).status, 'created');
    assert.equal((await client.fail(d!.task_id, d!, 'broken', false)).status, 'created');
    const statuses = await Promise.all([a, b, c, d].map(async (g) => (await client.task(g!.task_id)).task.status));
    assert.deepEqual(statuses, ['succeeded', 'succeeded', 'queued', 'failed']);
    // The trace comes in pages; the cursor the answer carries reaches the rest (it could not be sent before).
    const first = await client.task(a!.task_id, { limit: 2 });
    const rest = await client.task(a!.task_id, { cursor: first.cursor! });
    assert.deepEqual([...first.receipts, ...rest.receipts].map((r) => r.receipt_id), (await client.task(a!.task_id)).receipts.map((r) => r.receipt_id));
    assert.equal(first.receipts.length, 2);
  });

  test('a concurrency that cannot claim (0, negative, a fraction) is refused by createWorker, not left idle or failing every claim', () => {
    for (const concurrency of [0, -1, 2.5, Number.NaN]) {
      assert.throws(() => {
        const worker = createWorker({ url: server.url, key: server.adminKey!, concurrency, handleSignals: false, handler: async () => ({}) });
        void worker.stop();
      }, RangeError, String(concurrency));
    }
  });

  test('a claim the server refuses (wrong key, a TTL under its minimum) stops the worker: done rejects with the refusal', { timeout: 10_000 }, async () => {
    // It used to claim again every second, each refusal passed to onError (by default: nowhere), looking idle forever.
    const handler = async () => ({ result_summary: 'never' });
    const wrongKey = createWorker({ url: server.url, key: 'qk_nobody.nothing', pollMs: 20, handleSignals: false, handler });
    await assert.rejects(wrongKey.done, { code: 'QUITTANCE_ERR_UNAUTHORIZED' });
    const shortTtl = createWorker({ url: server.url, key: server.adminKey!, leaseTtlSeconds: 2, pollMs: 20, handleSignals: false, handler });
    await assert.rejects(shortTtl.done, { code: 'QUITTANCE_ERR_VALIDATION', message: /lease_ttl_seconds/ });
    await shortTtl.stop(); // stopped already: resolves, does not throw the refusal again
  });

  test('a concurrency over the claim limit (max_tasks ≤ 100) claims in several calls instead of being refused', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.createTask({ type: 'wide' })).task.task_id);
    const errors: unknown[] = [];
    const worker = createWorker({
      url: server.url, key: server.adminKey!, concurrency: 150, acceptTypes: ['wide'], pollMs: 20, handleSignals: false,
      handler: async (job) => ({ artifacts: [{ kind: 'url', uri: `https://results.example/${job.task_id}` }] }),
      onError: (e) => errors.push(e),
    });
    for (const id of ids) assert.equal((await client.waitForTask(id, { timeoutMs: 5_000 })).status, 'succeeded');
    await worker.stop();
    assert.deepEqual(errors, []);
  });

  test('a start or completion lost on the way is never turned into a failure: no attempt burned', async () => {
    // A proxy that loses the first start and the first completion before the server sees them, and the answer to
    // the second completion after the server stored it. Everything else passes through.
    const plan: Record<'start' | 'complete', (Fault | undefined)[]> = { start: ['lose request'], complete: ['lose request', undefined, 'lose answer', undefined] };
    const proxy = await faultyProxy(server.url, planned(plan));
    const ids = [(await client.createTask({ type: 'flaky-net' })).task.task_id, (await client.createTask({ type: 'flaky-net' })).task.task_id];
    const errors: string[] = [];
    let released = 0;
    const worker = createWorker({
      url: proxy.url, key: server.adminKey!, acceptTypes: ['flaky-net'], pollMs: 20, handleSignals: false,
      onError: (_e, c) => errors.push(c.phase),
      handler: async (job) => ({ artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] }),
    });
    try {
      for (const id of ids) {
        const done = await client.waitForTask(id, { timeoutMs: 15_000 });
        assert.equal(done.status, 'succeeded');
        assert.equal(done.attempt, 1, 'a lost completion burned no attempt');
        const types = (await client.task(id)).receipts.map((r) => r.type);
        assert.ok(!types.includes('task.failed') && !types.includes('task.retry_scheduled'), types.join(','));
        assert.equal(types.filter((t) => t === 'task.completed').length, 1);
        released += types.filter((t) => t === 'lease.released').length;
      }
    } finally {
      // Finish what is held (the second completion's resend may still be on its way), then stop.
      await worker.stop({ release: false });
      proxy.close();
    }
    assert.deepEqual(plan, { start: [], complete: [] }, 'every loss happened');
    assert.deepEqual(errors.sort(), ['complete', 'complete', 'start']);
    assert.equal(released, 1, 'the task whose start was lost was given back, then done');
    assert.deepEqual(worker.stats, { completed: 2, failed: 0, released: 1, lost: 0 });
  });

  test('a 408 or 429 from a proxy in between is "not now", not a refusal: the start and completion are retried, no attempt burned', async () => {
    // A gateway that times out the first start (408) and rate-limits the first completion (429) without passing them on.
    const plan: Record<'start' | 'complete', (Fault | undefined)[]> = { start: [408], complete: [429] };
    const proxy = await faultyProxy(server.url, planned(plan));
    const id = (await client.createTask({ type: 'gateway' })).task.task_id;
    const worker = createWorker({
      url: proxy.url, key: server.adminKey!, acceptTypes: ['gateway'], pollMs: 20, handleSignals: false,
      handler: async (job) => ({ artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] }),
    });
    try {
      const done = await client.waitForTask(id, { timeoutMs: 15_000 });
      assert.equal(done.status, 'succeeded');
      // Before, the 408 start and the 429 completion each failed the task: attempt 3.
      assert.equal(done.attempt, 1);
      const types = (await client.task(id)).receipts.map((r) => r.type);
      assert.ok(!types.includes('task.retry_scheduled') && !types.includes('task.failed'), types.join(','));
    } finally {
      await worker.stop({ release: false });
      proxy.close();
    }
    assert.deepEqual(plan, { start: [], complete: [] }, 'both answers were given');
    assert.equal(worker.stats.failed, 0);
  });

  test('a completion that cannot reach the server is given up once the lease has run out: stop() returns, the lease expires', { timeout: 30_000 }, async () => {
    const ttl = 5;
    let cut = false;
    // Passes everything until the first completion; from then on the server is unreachable.
    const proxy = await faultyProxy(server.url, (method, path) => {
      if (method === 'POST' && path.endsWith('/complete')) cut = true;
      return cut ? 'lose request' : undefined;
    });
    const id = (await client.createTask({ type: 'cut-off' })).task.task_id;
    const worker = createWorker({
      url: proxy.url, key: server.adminKey!, acceptTypes: ['cut-off'], pollMs: 20,
      leaseTtlSeconds: ttl, handleSignals: false, onError: () => undefined,
      handler: async (job) => ({ artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] }),
    });
    try {
      while (!cut) await new Promise((r) => setTimeout(r, 20));
      const stopping = Date.now();
      await worker.stop({ release: false });
      assert.ok(Date.now() - stopping < (ttl + 2) * 1000, `stop() took ${Date.now() - stopping} ms`);
      // Lost: the lease ran out on the worker's clock with no renewal answered.
      assert.deepEqual(worker.stats, { completed: 0, failed: 0, released: 0, lost: 1 });
      // The server saw no completion and no failure: the lease runs out and the task is requeued, attempt untouched.
      for (;;) {
        const { task, receipts } = await client.task(id);
        if (receipts.some((r) => r.type === 'lease.expired')) {
          assert.equal(task.attempt, 1);
          assert.ok(!receipts.some((r) => r.type === 'task.failed' || r.type === 'task.retry_scheduled'));
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      proxy.close();
    }
  });

  test('a renewal answered after the job has finished renews no more: no write to the ended lease, nothing counted lost', { timeout: 30_000 }, async () => {
    // Renewals reach the server at once; their answers come back 1.5 s later, after the job's completion.
    const proxy = await faultyProxy(server.url, (method, path) => (path === '/v1/leases/renew' ? { delayAnswerMs: 1_500 } : undefined));
    const id = (await client.createTask({ type: 'slow-answer' })).task.task_id;
    const worker = createWorker({
      url: proxy.url, key: server.adminKey!, acceptTypes: ['slow-answer'], pollMs: 20, leaseTtlSeconds: 6, handleSignals: false,
      handler: async (job) => {
        await new Promise((r) => setTimeout(r, 2_400));
        return { artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] };
      },
    });
    try {
      assert.equal((await client.waitForTask(id, { timeoutMs: 10_000 })).status, 'succeeded');
      // The renewal is sent at 2 s and its answer lands at ~3.5 s; the next, asking 12 s, would be sent 4 s later.
      await new Promise((r) => setTimeout(r, 6_000));
    } finally {
      await worker.stop();
      proxy.close();
    }
    assert.deepEqual(worker.stats, { completed: 1, failed: 0, released: 0, lost: 0 });
    const anomalies = (await client.receipts({ type: 'system.anomaly', task_id: id })).receipts;
    assert.deepEqual(anomalies.map((r) => r.body['kind']), []);
  });

  test('a completion that closes nothing (no artifacts, no delivery_proof) fails the task instead of counting as done', async () => {
    const id = (await client.createTask({ type: 'no-product', max_attempts: 1 })).task.task_id;
    const worker = createWorker({
      url: server.url, key: server.adminKey!, acceptTypes: ['no-product'], pollMs: 20, handleSignals: false,
      handler: async () => ({ result_summary: 'done, somewhere' }),
    });
    try {
      const done = await client.waitForTask(id, { timeoutMs: 15_000 });
      assert.equal(done.status, 'failed');
    } finally {
      await worker.stop();
    }
    assert.equal(worker.stats.completed, 0);
    assert.equal(worker.stats.failed, 1);
    const types = (await client.task(id)).receipts.map((r) => r.type);
    // The server's lenient answer (202) is on the trace: the completion was stored and closed nothing.
    assert.ok(types.includes('task.completed') && types.includes('task.failed'), types.join(','));
  });

  test('stop() releases held leases at once: requeued with no attempt burned', async () => {
    const id = (await client.createTask({ type: 'slow' })).task.task_id;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const worker = createWorker({
      url: server.url, key: server.adminKey!, acceptTypes: ['slow'], pollMs: 20, handleSignals: false,
      handler: (job) => {
        started();
        return new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason)));
      },
    });
    await running;
    await worker.stop();
    assert.equal(worker.stats.released, 1);
    const { task, receipts } = await client.task(id);
    assert.equal(task.status, 'queued');
    assert.equal(task.attempt, 1);
    assert.ok(receipts.some((r) => r.type === 'lease.released'));
  });

  test('a worker killed with SIGKILL mid-task: requeued within lease TTL + 1 s, attempt unchanged, finished by another worker', async () => {
    const ttl = 5;
    const id = (await client.createTask({ type: 'victim' })).task.task_id;
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'test', 'fixtures', 'hang-worker.js')], {
      env: { ...process.env, QUITTANCE_URL: server.url, QUITTANCE_KEY: server.adminKey!, LEASE_TTL: String(ttl), ACCEPT_TYPE: 'victim' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the worker process never picked up the task')), 15_000);
      child.stdout!.on('data', (d: Buffer) => d.toString().includes(id) && (clearTimeout(timer), resolve()));
    });
    const exited = new Promise((r) => child.once('exit', r));
    const { receipts: before } = await client.task(id);
    const granted = before.find((r) => r.type === 'lease.granted')!;
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await exited;

    let expiredAt = 0;
    for (;;) {
      const { task, receipts } = await client.task(id);
      if (receipts.some((r) => r.type === 'lease.expired')) {
        expiredAt = Date.now();
        assert.equal(task.status, 'queued');
        assert.equal(task.attempt, 1, 'the crash burned no attempt');
        assert.equal(task.lease_expiries, 1);
        break;
      }
      assert.ok(Date.now() - killedAt < (ttl + 3) * 1000, 'lease.expired within TTL + a margin');
      await new Promise((r) => setTimeout(r, 25));
    }
    // From the grant, the lease can last at most TTL; detection adds at most the sweep interval.
    const fromGrant = expiredAt - Date.parse(granted.created_at);
    assert.ok(fromGrant <= (ttl + 1) * 1000, `requeued ${fromGrant} ms after the grant (TTL ${ttl} s)`);

    const rescuer = createWorker({
      url: server.url, key: server.adminKey!, acceptTypes: ['victim'], pollMs: 20, handleSignals: false,
      handler: async () => ({ artifacts: [{ kind: 'url', uri: 'https://results.example/victim' }] }),
    });
    const done = await client.waitForTask(id, { timeoutMs: 10_000 });
    await rescuer.stop();
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempt, 1);
    const types = (await client.task(id)).receipts.map((r) => r.type);
    assert.ok(types.includes('lease.expired'));
    assert.ok(!types.includes('task.failed') && !types.includes('task.retry_scheduled'), types.join(','));
  });
});

describe('worker SDK: long jobs and the lease limits', () => {
  // A server whose limits a test can exhaust in seconds: 3 renewals, 30 s of life, TTLs from 1 s.
  let h: Harness;
  let url: string;
  let client: QuittanceClient;
  before(async () => {
    h = await harness({ clock: systemClock, config: { tasks: { leaseRenewalsMax: 3, leaseLifetimeSecondsMax: 30, leaseTtlSecondsMin: 1 } } });
    url = await h.app.listen({ port: 0, host: '127.0.0.1' });
    client = new QuittanceClient({ url, key: h.key });
  });
  after(() => h.close());

  test('renewals grow the TTL so a long job keeps its lease; once they are spent the job is told at the lease\'s end', { timeout: 30_000 }, async () => {
    // At a 2 s TTL renewed every third, 3 renewals last 4 s: the 7 s job lost its lease mid-run (its completion was
    // a LEASE_LOST, the task came round again) and the renewals past the limit were refused, each reported.
    const long = (await client.createTask({ type: 'long', payload: { ms: 7_000 } })).task.task_id;
    const endless = (await client.createTask({ type: 'long', payload: { ms: 60_000 } })).task.task_id;
    const errors: unknown[] = [];
    const aborted = new Map<string, number>();
    const started = Date.now();
    const worker = createWorker({
      url, key: h.key, concurrency: 2, acceptTypes: ['long'], leaseTtlSeconds: 2, pollMs: 20, handleSignals: false,
      onError: (e) => errors.push(e),
      handler: (job) => new Promise((resolve, reject) => {
        const t = setTimeout(() => resolve({ artifacts: [{ kind: 'blob', uri: `blob:${job.task_id}` }] }), (job.payload as { ms: number }).ms);
        job.signal.addEventListener('abort', () => {
          aborted.set(job.task_id, Date.now() - started);
          clearTimeout(t);
          reject(job.signal.reason);
        });
      }),
    });
    try {
      assert.equal((await client.waitForTask(long, { timeoutMs: 20_000 })).status, 'succeeded');
      while (!aborted.has(endless)) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await worker.stop();
    }
    assert.deepEqual(errors, [], 'no renewal refused, none past the limits');
    assert.equal(worker.stats.completed, 1);
    assert.equal(worker.stats.lost, 1, 'the endless job lost its lease when it ran out');
    assert.ok(!aborted.has(long));
    // 2 s granted, then renewals asking 2, 4 and 8 s (1, 2 and 3.3 s in): the lease ends ~11.3 s in (later on a busy machine).
    const endedAt = aborted.get(endless)!;
    assert.ok(endedAt > 9_000 && endedAt < 16_000, `the endless job was told at ${endedAt} ms`);
    const renewed = (await client.task(endless)).receipts.filter((r) => r.type === 'lease.renewed');
    assert.equal(renewed.length, 3);
    const { task } = await client.task(endless);
    assert.equal(task.attempt, 1, 'no failure was reported for a lease that ran out');
  });
});
