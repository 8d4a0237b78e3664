import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, artifact, type Harness } from '../helpers.js';

type Grant = { task_id: string; lease_id: string; lease_token: string; attempt: number; expires_at: string; payload: unknown };

for (const backend of BACKENDS) {
  describe(`[${backend}] tasks and leases`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    const create = async (body: Record<string, unknown>) => {
      const r = await h.req('POST', '/v1/tasks', body);
      assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.json));
      return r.json.task as { task_id: string; status: string; attempt: number };
    };
    const claim = async (body: Record<string, unknown> = {}): Promise<Grant[]> => {
      const r = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', ...body });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json.leases;
    };
    const task = async (id: string) => (await h.req('GET', `/v1/tasks/${id}`)).json;
    const sweep = () => h.services.tasks.expireDue();
    const lp = (g: Grant) => ({ lease_id: g.lease_id, lease_token: g.lease_token });
    /** Ends everything earlier tests left behind (live leases, queued tasks), so each test starts from an empty queue. */
    const drain = async () => {
      for (;;) {
        h.clock.advance(3 * 3600_000);
        const expired = await sweep();
        const gs = await claim({ max_tasks: 100, capabilities: ['gpu', 'browser', 'x'] });
        for (const g of gs) await h.req('POST', `/v1/tasks/${g.task_id}/complete`, { ...lp(g), artifacts: [artifact] });
        if (gs.length === 0 && expired === 0) return;
      }
    };

    test('create → claim → start → progress → complete: one chain of receipts, every obligation closed', async () => {
      await drain();
      const t = await create({ type: 'summarise', payload: { doc: 'q3.pdf' } });
      assert.equal(t.status, 'queued');
      assert.equal(t.attempt, 1);
      const [g] = await claim();
      assert.ok(g);
      assert.equal(g.task_id, t.task_id);
      assert.deepEqual(g.payload, { doc: 'q3.pdf' });
      assert.equal((await h.req('POST', `/v1/tasks/${t.task_id}/start`, lp(g))).status, 201);
      assert.equal((await h.req('POST', `/v1/tasks/${t.task_id}/progress`, { ...lp(g), progress: { pct: 50 } })).status, 201);
      const done = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(g), artifacts: [artifact], result_summary: 'ok' });
      assert.equal(done.status, 201);
      assert.deepEqual(done.json.receipt.parents.length, 2);

      const view = await task(t.task_id);
      assert.equal(view.task.status, 'succeeded');
      assert.deepEqual([view.task.attempt, view.task.lease_expiries, view.task.claims], [1, 0, 1]);
      // The task's own chain; stamp receipts (when stamps are on) are checked in the stamps suite.
      const types = view.receipts.map((r: { type: string }) => r.type).filter((t: string) => !t.startsWith('stamp.'));
      assert.deepEqual(types, ['task.assigned', 'lease.granted', 'task.started', 'task.progress', 'task.completed']);
      const byType = Object.fromEntries(view.receipts.map((r: { type: string }) => [r.type, r]));
      assert.deepEqual(byType['lease.granted'].parents, [byType['task.assigned'].receipt_id]);
      assert.deepEqual(byType['task.started'].parents, [byType['lease.granted'].receipt_id]);
      for (const ob of ['task.assigned', 'lease.granted']) {
        const c = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: byType[ob].receipt_id });
        assert.equal(c.json.open, false, `${ob} closed`);
        assert.equal(c.json.closed_by, byType['task.completed'].receipt_id);
      }
      // A retried completion after success answers the stored receipt.
      const again = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(g), artifacts: [artifact], result_summary: 'ok' });
      assert.equal(again.status, 200);
      assert.equal(again.json.receipt.receipt_id, done.json.receipt.receipt_id);
    });

    test('capability matching: a worker gets only tasks whose requirements it meets', async () => {
      await drain();
      const gpu = await create({ type: 'render', requirements: { capabilities: ['gpu'] } });
      const plain = await create({ type: 'render' });
      const none = await claim({ max_tasks: 10, capabilities: ['browser'] });
      assert.deepEqual(none.map((g) => g.task_id), [plain.task_id]);
      const got = await claim({ max_tasks: 10, capabilities: ['gpu', 'browser'] });
      assert.deepEqual(got.map((g) => g.task_id), [gpu.task_id]);
      const types = await create({ type: 'other' });
      assert.deepEqual(await claim({ accept_types: ['render'] }), []);
      assert.deepEqual((await claim({ accept_types: ['other'] })).map((g) => g.task_id), [types.task_id]);
    });

    test('priority first, then age', async () => {
      await drain();
      const low1 = await create({ type: 'p', priority: 0 });
      const high = await create({ type: 'p', priority: 5 });
      const low2 = await create({ type: 'p', priority: 0 });
      const mid = await create({ type: 'p', priority: 2 });
      const order = (await claim({ max_tasks: 10 })).map((g) => g.task_id);
      assert.deepEqual(order, [high.task_id, mid.task_id, low1.task_id, low2.task_id]);
    });

    test('delay_seconds: not claimable before its time', async () => {
      await drain();
      const t = await create({ type: 'later', delay_seconds: 30 });
      assert.deepEqual(await claim(), []);
      h.clock.advance(29_000);
      assert.deepEqual(await claim(), []);
      h.clock.advance(1_000);
      assert.equal((await claim())[0]?.task_id, t.task_id);
      // A delay under a millisecond: not before the next whole one, on either backend.
      const soon = await create({ type: 'later', delay_seconds: 0.0004 });
      assert.deepEqual(await claim(), []);
      h.clock.advance(1);
      assert.equal((await claim())[0]?.task_id, soon.task_id);
    });

    test('idempotent create: same key and content → the same task; different content → 409', async () => {
      const a = await h.req('POST', '/v1/tasks', { type: 'idem', idempotency_key: 'job-7', payload: { n: 1 } });
      const b = await h.req('POST', '/v1/tasks', { type: 'idem', idempotency_key: 'job-7', payload: { n: 1 } });
      assert.equal(a.status, 201);
      assert.equal(b.status, 200);
      assert.equal(b.json.task.task_id, a.json.task.task_id);
      assert.equal(b.json.receipt.receipt_id, a.json.receipt.receipt_id);
      const c = await h.req('POST', '/v1/tasks', { type: 'idem', idempotency_key: 'job-7', payload: { n: 2 } });
      assert.equal(c.status, 409);
      assert.equal(c.json.code, 'QUITTANCE_ERR_TASK_EXISTS');
      const d = await h.req('POST', '/v1/tasks', { type: 'idem', task_id: a.json.task.task_id });
      assert.equal(d.status, 409);
      // Who the work is for, and a creator the request names, are content too.
      const agent = { kind: 'agent', id: 'planner' };
      const e = await h.req('POST', '/v1/tasks', { type: 'idem', idempotency_key: 'job-8', assign_to: agent, created_by: agent });
      assert.equal(e.status, 201);
      for (const other of [{ assign_to: { kind: 'agent', id: 'someone-else' } }, {}, { assign_to: agent, created_by: { kind: 'human', id: 'ann' } }]) {
        const f = await h.req('POST', '/v1/tasks', { type: 'idem', idempotency_key: 'job-8', ...other });
        assert.equal(f.status, 409, JSON.stringify(other));
        assert.equal(f.json.code, 'QUITTANCE_ERR_TASK_EXISTS');
      }
      const again = await h.req('POST', '/v1/tasks', { type: 'idem', idempotency_key: 'job-8', assign_to: agent });
      assert.equal(again.status, 200, 'the creator defaults to the caller, and a retry may come from another key');
      assert.deepEqual(again.json.task.assigned_to, agent);
    });

    test('renewal: extends the lease; count and lifetime limits answer coded 409s', async () => {
      await drain();
      await create({ type: 'renew' });
      const claimedAt = h.clock.now();
      const [g] = await claim({ lease_ttl_seconds: 60 });
      for (let i = 1; i <= 10; i++) {
        h.clock.advance(30_000);
        const r = await h.req('POST', '/v1/leases/renew', { ...lp(g!), lease_ttl_seconds: 60 });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        // What is left of the limits, so a worker can space its renewals to reach the lifetime (the SDK does).
        assert.deepEqual(r.json, {
          status: 'renewed', lease_id: g!.lease_id, expires_at: new Date(h.clock.now() + 60_000).toISOString(), renewals: i, renewals_left: 10 - i,
          renewable_until: new Date(claimedAt + 7200_000).toISOString(), lease_ttl_seconds_max: 1800,
        });
      }
      const over = await h.req('POST', '/v1/leases/renew', lp(g!));
      assert.equal(over.status, 409);
      assert.equal(over.json.code, 'QUITTANCE_ERR_LEASE_RENEWAL_LIMIT');

      await create({ type: 'renew' });
      const [g2] = await claim({ lease_ttl_seconds: 1800 });
      for (let i = 0; i < 3; i++) {
        h.clock.advance(1_700_000);
        assert.equal((await h.req('POST', '/v1/leases/renew', { ...lp(g2!), lease_ttl_seconds: 1800 })).status, 200);
      }
      h.clock.advance(1_700_000);
      const life = await h.req('POST', '/v1/leases/renew', { ...lp(g2!), lease_ttl_seconds: 1800 });
      assert.equal(life.status, 409);
      assert.equal(life.json.code, 'QUITTANCE_ERR_LEASE_LIFETIME_LIMIT');
      assert.equal((await h.req('GET', '/v1/receipts?type=lease.renewed&limit=1000')).json.receipts.length, 13);
    });

    test('a renewal that names no TTL extends the lease by the TTL it was granted with, never cuts it short', async () => {
      await drain();
      await create({ type: 'renew-default' });
      const [g] = await claim({ lease_ttl_seconds: 1800 });
      h.clock.advance(60_000);
      const r = await h.req('POST', '/v1/leases/renew', lp(g!));
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(Date.parse(r.json.expires_at), h.clock.now() + 1800_000);
      h.clock.advance(600_000);
      assert.equal(await sweep(), 0, 'still held 11 minutes in');
    });

    test('lease expiry: lost authority, not failure — same attempt, requeued within jitter, lease.expired in the trace', async () => {
      await drain();
      const t = await create({ type: 'expire' });
      const [g] = await claim({ lease_ttl_seconds: 10 });
      h.clock.advance(9_999);
      assert.equal(await sweep(), 0);
      h.clock.advance(1);
      assert.equal(await sweep(), 1);
      const v = await task(t.task_id);
      assert.equal(v.task.status, 'queued');
      assert.equal(v.task.attempt, 1, 'expiry burns no attempt');
      assert.equal(v.task.lease_expiries, 1);
      const eligibleIn = Date.parse(v.task.next_eligible_at) - h.clock.now();
      assert.ok(eligibleIn >= 0 && eligibleIn < 2000, `jitter ${eligibleIn} ms`);
      const expired = v.receipts.find((r: { type: string }) => r.type === 'lease.expired');
      assert.ok(expired);
      assert.equal(expired.body.last_heartbeat_at, new Date(h.clock.now() - 10_000).toISOString());
      assert.ok(!v.receipts.some((r: { type: string }) => r.type === 'task.failed' || r.type === 'task.retry_scheduled'));

      // The stale worker's late result is refused and leaves evidence; the new holder's result stands.
      h.clock.advance(2_000);
      const [g2] = await claim();
      assert.equal(g2!.task_id, t.task_id);
      assert.equal(g2!.attempt, 1);
      const late = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(g!), artifacts: [artifact] });
      assert.equal(late.status, 409);
      assert.equal(late.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      const stale = await h.req('GET', '/v1/anomalies?kind=stale_lease_write');
      assert.ok(stale.json.anomalies.some((a: { lease_id?: string }) => a.lease_id === g!.lease_id));
      const ok = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(g2!), artifacts: [{ kind: 'file', uri: '/new' }] });
      assert.equal(ok.status, 201);
      const end = await task(t.task_id);
      assert.equal(end.task.outcome.receipt_id, ok.json.receipt.receipt_id);
      assert.deepEqual([end.task.attempt, end.task.lease_expiries, end.task.claims], [1, 1, 2]);
    });

    test('a write after expiry but before the sweep expires the lease itself and is refused', async () => {
      await drain();
      const t = await create({ type: 'inline' });
      const [g] = await claim({ lease_ttl_seconds: 5 });
      h.clock.advance(5_000);
      const r = await h.req('POST', `/v1/tasks/${t.task_id}/progress`, { ...lp(g!), progress: {} });
      assert.equal(r.status, 409);
      assert.equal(r.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      const v = await task(t.task_id);
      assert.equal(v.task.status, 'queued');
      assert.equal(v.receipts.filter((x: { type: string }) => x.type === 'lease.expired').length, 1);
      assert.equal(await sweep(), 0, 'nothing left for the sweeper');
      const wrong = await h.req('POST', `/v1/tasks/${t.task_id}/progress`, { lease_id: g!.lease_id, lease_token: 'nope' });
      assert.equal(wrong.status, 409);
    });

    test('past max_lease_expiries the task escalates (never silently fails), with a repeated_lease_expiry anomaly', async () => {
      await drain();
      const t = await create({ type: 'poison', max_lease_expiries: 2 });
      for (let i = 0; i < 3; i++) {
        const [g] = await claim({ lease_ttl_seconds: 5 });
        assert.equal(g?.task_id, t.task_id, `claim ${i + 1}`);
        h.clock.advance(5_000);
        await sweep();
        h.clock.advance(2_000);
      }
      const v = await task(t.task_id);
      assert.equal(v.task.status, 'escalated');
      assert.deepEqual([v.task.attempt, v.task.lease_expiries, v.task.claims], [1, 3, 3]);
      assert.ok(v.receipts.some((r: { type: string }) => r.type === 'task.escalated'));
      const an = await h.req('GET', '/v1/anomalies?kind=repeated_lease_expiry');
      assert.ok(an.json.anomalies.some((a: { task_id?: string }) => a.task_id === t.task_id));
      assert.deepEqual(await claim(), []);
    });

    test('retryable failure: attempt + 1 with exponential backoff; the last attempt fails for good with an anomaly', async () => {
      await drain();
      const t = await create({ type: 'flaky', max_attempts: 3, retry_backoff_seconds: 10 });
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [g] = await claim();
        assert.equal(g?.attempt, attempt);
        const r = await h.req('POST', `/v1/tasks/${t.task_id}/fail`, { ...lp(g!), error: 'boom', retryable: true });
        assert.equal(r.status, 201);
        const v = await task(t.task_id);
        if (attempt < 3) {
          assert.equal(r.json.receipt.type, 'task.retry_scheduled');
          assert.equal(v.task.status, 'queued');
          assert.equal(v.task.attempt, attempt + 1);
          delays.push(Date.parse(v.task.next_eligible_at) - h.clock.now());
          assert.deepEqual(await claim(), [], 'backoff holds the task');
          h.clock.advance(delays[delays.length - 1]!);
        } else {
          assert.equal(r.json.receipt.type, 'task.failed');
          assert.equal(v.task.status, 'failed');
        }
      }
      assert.deepEqual(delays, [10_000, 20_000]);
      const an = await h.req('GET', '/v1/anomalies?kind=max_attempts_exceeded');
      assert.ok(an.json.anomalies.some((a: { task_id?: string }) => a.task_id === t.task_id));
      const nonRetry = await create({ type: 'flaky' });
      const [g] = await claim();
      assert.equal(g?.task_id, nonRetry.task_id);
      const r = await h.req('POST', `/v1/tasks/${nonRetry.task_id}/fail`, { ...lp(g!), error: { code: 'E_BAD_INPUT' }, retryable: false });
      assert.equal(r.json.receipt.type, 'task.failed');
      assert.equal((await task(nonRetry.task_id)).task.attempt, 1);
    });

    test('release requeues at once with no attempt burned', async () => {
      await drain();
      const t = await create({ type: 'rel' });
      const [g] = await claim();
      const r = await h.req('POST', `/v1/tasks/${t.task_id}/release`, { ...lp(g!), reason: 'shutting down' });
      assert.equal(r.status, 201);
      assert.equal(r.json.receipt.type, 'lease.released');
      const [g2] = await claim();
      assert.equal(g2?.task_id, t.task_id);
      assert.equal(g2?.attempt, 1);
    });

    test('cancel of a leased task closes task.assigned and the lease; the worker then loses its lease', async () => {
      await drain();
      const t = await create({ type: 'cancel-me' });
      const [g] = await claim();
      const c = await h.req('POST', `/v1/tasks/${t.task_id}/cancel`, { reason: 'no longer needed' });
      assert.equal(c.status, 201);
      assert.equal(c.json.receipt.parents.length, 2);
      assert.equal((await task(t.task_id)).task.status, 'canceled');
      const late = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(g!), artifacts: [artifact] });
      assert.equal(late.status, 409);
      assert.equal(late.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      const again = await h.req('POST', `/v1/tasks/${t.task_id}/cancel`, {});
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 'QUITTANCE_ERR_TASK_FINISHED');
      const queued = await create({ type: 'cancel-me' });
      assert.equal((await h.req('POST', `/v1/tasks/${queued.task_id}/cancel`, null)).status, 201);
      assert.deepEqual(await claim(), []);
    });

    test('completion without a locatable product: 202, the lease stays held and the task open; a resend closes it', async () => {
      await drain();
      const t = await create({ type: 'unlocatable' });
      const [g] = await claim();
      const r = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(g!), result_summary: 'done, trust me' });
      assert.equal(r.status, 202);
      assert.equal(r.json.code, 'LOCATABILITY_MISSING');
      assert.equal((await task(t.task_id)).task.status, 'leased');
      const ok = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(g!), result_summary: 'done', artifacts: [artifact] });
      assert.equal(ok.status, 201);
      assert.equal((await task(t.task_id)).task.status, 'succeeded');
    });

    test('a lease-ending write sent again (its answer lost) answers what it stored; other content under the ended lease is LEASE_LOST', async () => {
      await drain();
      const staleCount = async () => (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies.length;
      const anomaliesBefore = await staleCount();
      const resend = async (path: string, body: Record<string, unknown>) => {
        const first = await h.req('POST', path, body);
        assert.equal(first.status, 201, JSON.stringify(first.json));
        const again = await h.req('POST', path, body);
        assert.equal(again.status, 200, `${path}: ${JSON.stringify(again.json)}`);
        assert.equal(again.json.status, 'duplicate');
        assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
        return first.json.receipt as { type: string };
      };

      const c = await create({ type: 'resend-complete' });
      let [g] = await claim({ accept_types: ['resend-complete'] });
      await resend(`/v1/tasks/${c.task_id}/complete`, { ...lp(g!), artifacts: [artifact], result_summary: 'ok' });
      const other = await h.req('POST', `/v1/tasks/${c.task_id}/complete`, { ...lp(g!), artifacts: [{ kind: 'file', uri: '/elsewhere' }], result_summary: 'ok' });
      assert.equal(other.status, 409, 'another product under the ended lease is not the same completion');
      assert.equal(other.json.code, 'QUITTANCE_ERR_LEASE_LOST');

      const r = await create({ type: 'resend-retry', max_attempts: 3 });
      [g] = await claim({ accept_types: ['resend-retry'] });
      assert.equal((await resend(`/v1/tasks/${r.task_id}/fail`, { ...lp(g!), error: { code: 'E_NET' }, retryable: true })).type, 'task.retry_scheduled');
      assert.equal((await h.req('POST', `/v1/tasks/${r.task_id}/fail`, { ...lp(g!), error: { code: 'E_OTHER' }, retryable: true })).status, 409);
      assert.equal((await task(r.task_id)).task.attempt, 2, 'the resend burned no second attempt');

      const f = await create({ type: 'resend-fail' });
      const [gf] = await claim({ accept_types: ['resend-fail'] });
      assert.equal((await resend(`/v1/tasks/${f.task_id}/fail`, { ...lp(gf!), error: 'bad input', retryable: false })).type, 'task.failed');
      assert.equal((await h.req('POST', `/v1/tasks/${f.task_id}/fail`, { ...lp(gf!), error: 'bad input', retryable: true })).status, 409);

      const l = await create({ type: 'resend-release' });
      const [gl] = await claim({ accept_types: ['resend-release'] });
      await resend(`/v1/tasks/${l.task_id}/release`, { ...lp(gl!), reason: 'shutting down' });
      assert.equal((await h.req('POST', `/v1/tasks/${l.task_id}/release`, { ...lp(gl!), reason: 'another reason' })).status, 409);

      // Only the four writes with other content left stale_lease_write anomalies; the resends left none.
      assert.equal(await staleCount(), anomaliesBefore + 4);
    });

    test('batch create, batch claim and batch complete', async () => {
      await drain();
      const made = await h.req('POST', '/v1/tasks/batch', {
        tasks: [...Array.from({ length: 30 }, (_, i) => ({ type: 'batch', payload: { i } })), { type: 'batch', payload: {}, payload_ref: 's3://x' }],
      });
      assert.equal(made.status, 200);
      assert.deepEqual(made.json.results.map((r: { statusCode: number }) => r.statusCode), [...Array(30).fill(201), 400]);
      const gs = await claim({ max_tasks: 25 });
      assert.equal(gs.length, 25);
      assert.equal(new Set(gs.map((g) => g.task_id)).size, 25);
      const completions = gs.map((g) => ({ task_id: g.task_id, ...lp(g), artifacts: [artifact] }));
      completions.push({ ...completions[0]!, task_id: completions[0]!.task_id, lease_token: 'forged' });
      const r = await h.req('POST', '/v1/tasks/complete-batch', { completions });
      assert.equal(r.status, 200);
      const codes = r.json.results.map((x: { statusCode: number }) => x.statusCode);
      assert.deepEqual(codes, [...Array(25).fill(201), 409]);
      assert.equal((await h.req('GET', '/v1/tasks?status=succeeded&type=batch&limit=1000')).json.tasks.length, 25);
      assert.equal((await claim({ max_tasks: 100 })).length, 5);
    });

    test('bad input: coded errors and nothing written', async () => {
      const before = await h.services.store.countReceipts(h.tenantId);
      const big = await h.req('POST', '/v1/tasks', { type: 'big', payload: { s: 'x'.repeat(70_000) } });
      assert.equal(big.status, 413);
      assert.equal(big.json.code, 'QUITTANCE_ERR_PAYLOAD_TOO_LARGE');
      const ttl = await h.req('POST', '/v1/leases/claim', { worker_id: 'w', lease_ttl_seconds: 4 });
      assert.equal(ttl.status, 400);
      const many = await h.req('POST', '/v1/leases/claim', { worker_id: 'w', max_tasks: 101 });
      assert.equal(many.status, 400);
      assert.equal((await h.req('GET', '/v1/tasks/nope')).json.code, 'QUITTANCE_ERR_TASK_NOT_FOUND');
      assert.equal((await h.req('POST', '/v1/tasks', { type: 'x', payload: {}, payload_ref: 's3://a' })).status, 400);
      // Not addressable as a path segment: clients resolve /v1/tasks/../complete to /v1/complete.
      for (const task_id of ['.', '..']) {
        const dots = await h.req('POST', '/v1/tasks', { type: 'x', task_id });
        assert.equal(dots.status, 400, task_id);
        assert.equal(dots.json.code, 'QUITTANCE_ERR_VALIDATION');
      }
      assert.equal((await h.req('POST', '/v1/tasks', { type: 'x', task_id: '...' })).status, 201, 'three dots are an ordinary segment');
      assert.equal(await h.services.store.countReceipts(h.tenantId), before + 1);
    });

    test("another tenant can neither see, claim nor complete a tenant's tasks", async () => {
      await drain();
      const b = await h.newTenant('tasks-b');
      const t = await create({ type: 'iso' });
      assert.deepEqual((await h.req('POST', '/v1/leases/claim', { worker_id: 'w' }, b.key)).json.leases, []);
      assert.equal((await h.req('GET', `/v1/tasks/${t.task_id}`, undefined, b.key)).status, 404);
      const [g] = await claim();
      const r = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(g!), artifacts: [artifact] }, b.key);
      assert.equal(r.status, 404);
      assert.equal((await h.req('POST', `/v1/tasks/${t.task_id}/cancel`, {}, b.key)).status, 404);
    });

    test("a lease sent for another task: a missing task is 404 with nothing written; an existing one is 409 on its own trace, not the lease's task's", async () => {
      await drain();
      await create({ type: 'mixed-a' });
      await create({ type: 'mixed-b' });
      const [ga, gb] = await claim({ max_tasks: 2 });
      const before = await h.services.store.countReceipts(h.tenantId);
      const missing = await h.req('POST', '/v1/tasks/no-such-task/complete', { ...lp(ga!), artifacts: [artifact] });
      assert.equal(missing.status, 404);
      assert.equal(missing.json.code, 'QUITTANCE_ERR_TASK_NOT_FOUND');
      assert.equal(await h.services.store.countReceipts(h.tenantId), before);
      const crossed = await h.req('POST', `/v1/tasks/${gb!.task_id}/complete`, { ...lp(ga!), artifacts: [artifact] });
      assert.equal(crossed.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      const types = async (g: Grant) => (await task(g.task_id)).receipts.map((r: { type: string }) => r.type);
      assert.ok(!(await types(ga!)).includes('system.anomaly'), "the lease's own task is untouched");
      assert.ok((await types(gb!)).includes('system.anomaly'), 'the refusal is on the task it was sent for');
    });

    test("a client's receipt cannot close a lease or a queued task's task.assigned; the sweeper goes on expiring every tenant's leases", async () => {
      await drain();
      const b = await h.newTenant('tasks-sweep-b');
      const made = (await h.req('POST', '/v1/tasks', { type: 'kept', max_lease_expiries: 0 })).json;
      await h.req('POST', '/v1/tasks', { type: 'victim' }, b.key);
      const [g] = await claim({ accept_types: ['kept'] });
      const [other] = (await h.req('POST', '/v1/leases/claim', { worker_id: 'w' }, b.key)).json.leases as Grant[];
      const granted = (await task(g!.task_id)).receipts.find((r: { type: string }) => r.type === 'lease.granted').receipt_id;
      const before = await h.services.store.countReceipts(h.tenantId);
      const from = { kind: 'agent', id: 'a' };
      const to = { kind: 'worker', id: 'pool' };
      for (const parents of [[granted], [made.receipt.receipt_id]]) {
        // check-terminator answers what the append will: it said would_close true, then the append was refused.
        const check = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: parents[0], terminator_type: 'task.canceled' });
        assert.equal(check.json.open, true);
        assert.equal(check.json.closed_only_by, 'tasks');
        assert.equal(check.json.would_close, false);
        const r = await h.req('POST', '/v1/receipts', { type: 'task.canceled', from, to, task_id: g!.task_id, parents });
        assert.equal(r.status, 422, JSON.stringify(r.json));
        assert.equal(r.json.code, 'QUITTANCE_ERR_OBLIGATION_RESERVED');
      }
      // A type only the engine writes closes nothing when a client appends it.
      const expiredCheck = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: granted, terminator_type: 'lease.expired' });
      assert.equal(expiredCheck.json.would_close, false);
      assert.equal(await h.services.store.countReceipts(h.tenantId), before, 'nothing written');
      // A task.assigned a client wrote itself is still the client's to close.
      const own = (await h.req('POST', '/v1/receipts', { type: 'task.assigned', from, to, task_id: g!.task_id })).json.receipt.receipt_id;
      const ownCheck = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: own, terminator_type: 'task.canceled' });
      assert.equal(ownCheck.json.closed_only_by, null);
      assert.equal(ownCheck.json.would_close, true);
      assert.equal((await h.req('POST', '/v1/receipts', { type: 'task.canceled', from, to, parents: [own] })).status, 201);

      h.clock.advance(200_000);
      assert.equal(await sweep(), 2);
      assert.equal((await task(g!.task_id)).task.status, 'escalated');
      assert.equal((await h.req('GET', `/v1/tasks/${other!.task_id}`, undefined, b.key)).json.task.status, 'queued');
    });

    test('an eligible task behind thousands of delayed or other-type tasks is claimed (the claim scans a bounded number)', async () => {
      // A tenant of its own: the blockers stay out of the other tests' queue.
      const q = await h.newTenant('tasks-deep-queue');
      for (let b = 0; b < 5; b++) {
        const r = await h.req('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 900 }, () => ({ type: 'later', priority: 5, delay_seconds: 86400 })) }, q.key);
        assert.equal(r.status, 200);
      }
      const claimQ = async (body: Record<string, unknown> = {}) => (await h.req('POST', '/v1/leases/claim', { worker_id: 'w', ...body }, q.key)).json.leases as Grant[];
      const now = (await h.req('POST', '/v1/tasks', { type: 'now' }, q.key)).json.task.task_id;
      assert.deepEqual((await claimQ()).map((g) => g.task_id), [now], 'not hidden by tasks not yet due');
      h.clock.advance(2 * 86400_000);
      const typed = (await h.req('POST', '/v1/tasks', { type: 'now' }, q.key)).json.task.task_id;
      assert.deepEqual((await claimQ({ accept_types: ['now'] })).map((g) => g.task_id), [typed], 'not hidden by tasks of other types');
    });

    test('an eligible task behind thousands of tasks needing a capability the worker lacks is claimed', async () => {
      const q = await h.newTenant('tasks-capability-queue');
      for (let b = 0; b < 5; b++) {
        const r = await h.req('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 900 }, () => ({ type: 'render', priority: 5, requirements: { capabilities: ['gpu', 'cuda'] } })) }, q.key);
        assert.equal(r.status, 200);
      }
      const claimQ = async (body: Record<string, unknown> = {}) => (await h.req('POST', '/v1/leases/claim', { worker_id: 'w', ...body }, q.key)).json.leases as Grant[];
      const plain = (await h.req('POST', '/v1/tasks', { type: 'render' }, q.key)).json.task.task_id;
      const cuda = (await h.req('POST', '/v1/tasks', { type: 'render', requirements: { capabilities: ['cuda'] } }, q.key)).json.task.task_id;
      assert.deepEqual((await claimQ()).map((g) => g.task_id), [plain], 'before: none, the claim gave up after 4000 it could not take');
      assert.deepEqual((await claimQ({ capabilities: ['cuda', 'avx'] })).map((g) => g.task_id), [cuda], 'a subset of the worker\'s capabilities');
      const gpu = await claimQ({ capabilities: ['gpu', 'cuda'], max_tasks: 2 });
      assert.equal(gpu.length, 2, 'a worker with both takes the rest, highest priority first');
    });
  });
}
