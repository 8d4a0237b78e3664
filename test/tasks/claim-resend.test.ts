import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, artifact, type Harness } from '../helpers.js';

type Grant = { task_id: string; lease_id: string; lease_token: string; expires_at: string; stamp?: { stamp_id: string; token: string; expires_at: string } };

/** A claim sent again (same worker_id and claim_id) because its answer was lost: the leases it granted, not new ones. */
for (const backend of BACKENDS) {
  describe(`[${backend}] a claim sent again with its claim_id`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    const create = async (type: string) => {
      const r = await h.req('POST', '/v1/tasks', { type });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      return r.json.task as { task_id: string };
    };
    const claim = async (body: Record<string, unknown>): Promise<Grant[]> => {
      const r = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', ...body });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json.leases;
    };
    const lp = (g: Grant) => ({ lease_id: g.lease_id, lease_token: g.lease_token });
    /** How many receipts the tenant's chain holds. */
    const receipts = async () => {
      let n = 0;
      for (let cursor: string | undefined; ;) {
        const r = await h.req('GET', `/v1/receipts?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200, JSON.stringify(r.json));
        n += r.json.receipts.length;
        cursor = r.json.cursor ?? undefined;
        if (!cursor) return n;
      }
    };
    const leases = async (taskId: string) => (await h.req('GET', `/v1/tasks/${taskId}`)).json.receipts.filter((r: { type: string }) => r.type === 'lease.granted').length as number;

    test('answers the same active leases with new lease tokens (the first ones still working) and the same stamp tokens, granting and appending nothing', async () => {
      const a = await create('cr-same');
      const b = await create('cr-same');
      const c = await create('cr-same');
      const first = await claim({ accept_types: ['cr-same'], max_tasks: 3, claim_id: 'claim-1' });
      assert.equal(first.length, 3);
      // Its answer is lost. One of its leases ends meanwhile (canceled by an operator); a task is added to the queue.
      assert.equal((await h.req('POST', `/v1/tasks/${c.task_id}/cancel`, {})).status, 201);
      const d = await create('cr-same');
      const before = await receipts();

      const again = await claim({ accept_types: ['cr-same'], max_tasks: 3, claim_id: 'claim-1' });
      assert.equal(await receipts(), before, 'the resend appends no receipt');
      const byTask = (gs: Grant[]) => new Map(gs.map((g) => [g.task_id, g]));
      const was = byTask(first);
      assert.deepEqual(again.map((g) => g.task_id).sort(), [a.task_id, b.task_id].sort(), 'the leases still active, the ended one left out, none new');
      for (const g of again) {
        const f = was.get(g.task_id)!;
        assert.equal(g.lease_id, f.lease_id);
        assert.equal(g.expires_at, f.expires_at);
        assert.notEqual(g.lease_token, f.lease_token);
        assert.ok(f.stamp && g.stamp, 'the server mints a stamp per lease');
        assert.deepEqual(g.stamp, f.stamp, 'the stamp token as the first answer had it');
      }
      assert.equal(await leases(d.task_id), 0, 'the new task was not claimed');
      assert.equal((await h.req('GET', `/v1/tasks/${d.task_id}`)).json.task.status, 'queued');

      // The new tokens work, and so do the first answer's: the worker may hold either (a late answer, a resend).
      const ga = byTask(again).get(a.task_id)!;
      const old = await h.req('POST', `/v1/tasks/${a.task_id}/start`, lp(was.get(a.task_id)!));
      assert.equal(old.status, 201, JSON.stringify(old.json));
      assert.equal((await h.req('POST', '/v1/leases/renew', lp(ga))).status, 200);
      assert.equal((await h.req('POST', `/v1/tasks/${a.task_id}/complete`, { ...lp(ga), artifacts: [artifact] })).status, 201);
      const gb = byTask(again).get(b.task_id)!;
      assert.equal((await h.req('POST', `/v1/tasks/${b.task_id}/complete`, { ...lp(gb), artifacts: [artifact] })).status, 201);
      const stamp = await h.req('POST', '/v1/stamps/introspect', { token: ga.stamp!.token });
      assert.equal(stamp.status, 200);
      assert.equal(stamp.json.stamp_id, ga.stamp!.stamp_id);
      for (const t of [a, b]) assert.equal(await leases(t.task_id), 1, 'one lease per task');

      // Sent a third time, once both leases ended: nothing.
      assert.deepEqual(await claim({ accept_types: ['cr-same'], max_tasks: 3, claim_id: 'claim-1' }), []);
      assert.equal(await leases(d.task_id), 0);
    });

    test('the same claim twice at once, or a late original after its resend: every answer holds working tokens, and no task is leased twice', async () => {
      const ts = [await create('cr-race'), await create('cr-race'), await create('cr-race')];
      const ask = { accept_types: ['cr-race'], max_tasks: 2, claim_id: 'claim-race' };
      // In flight together: one of them grants, the other answers those leases again.
      const [x, y] = await Promise.all([claim(ask), claim(ask)]);
      assert.equal(x.length, 2);
      assert.deepEqual(y.map((g) => g.lease_id).sort(), x.map((g) => g.lease_id).sort(), 'the same leases');
      // One after the other (the resend answered first, the original arriving late): a third answer.
      const z = await claim(ask);
      assert.deepEqual(z.map((g) => g.lease_id).sort(), x.map((g) => g.lease_id).sort());
      const leased = ts.filter((t) => x.some((g) => g.task_id === t.task_id));
      for (const t of leased) assert.equal(await leases(t.task_id), 1, 'one lease per task');
      const idle = ts.find((t) => !x.some((g) => g.task_id === t.task_id))!;
      assert.equal(await leases(idle.task_id), 0, 'the third task was not claimed');
      // Whichever answer the worker kept, its tokens work: start with one, renew with another, complete with the third.
      const of = (gs: Grant[], taskId: string) => gs.find((g) => g.task_id === taskId)!;
      for (const t of leased) {
        const [gx, gy, gz] = [of(x, t.task_id), of(y, t.task_id), of(z, t.task_id)];
        const started = await h.req('POST', `/v1/tasks/${t.task_id}/start`, lp(gy));
        assert.equal(started.status, 201, JSON.stringify(started.json));
        const renewed = await h.req('POST', '/v1/leases/renew', lp(gx));
        assert.equal(renewed.status, 200, JSON.stringify(renewed.json));
        const done = await h.req('POST', `/v1/tasks/${t.task_id}/complete`, { ...lp(gz), artifacts: [artifact] });
        assert.equal(done.status, 201, JSON.stringify(done.json));
      }
      const stale = (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies as { body: { task_id: string } }[];
      assert.deepEqual(stale.filter((a) => leased.some((t) => t.task_id === a.body.task_id)), []);
    });

    test('leaves out a lease whose time ran out, and a lease ended since does not bring new grants', async () => {
      const t = await create('cr-expired');
      const [g] = await claim({ accept_types: ['cr-expired'], claim_id: 'claim-2', lease_ttl_seconds: 10 });
      assert.equal(g!.task_id, t.task_id);
      h.clock.advance(10_000);
      // Not swept yet: still active in its row, but past its time.
      assert.deepEqual(await claim({ accept_types: ['cr-expired'], claim_id: 'claim-2' }), []);
      assert.equal(await h.services.tasks.expireDue(), 1);
      h.clock.advance(3_000);
      assert.deepEqual(await claim({ accept_types: ['cr-expired'], claim_id: 'claim-2' }), [], 'the requeued task is not granted to the resend');
      assert.equal((await h.req('GET', `/v1/tasks/${t.task_id}`)).json.task.status, 'queued');
    });

    test('the same claim_id from another worker is a claim of its own', async () => {
      const t1 = await create('cr-other');
      const t2 = await create('cr-other');
      const [g1] = await claim({ accept_types: ['cr-other'], claim_id: 'shared' });
      const [g2] = await claim({ worker_id: 'w2', accept_types: ['cr-other'], claim_id: 'shared' });
      assert.deepEqual([g1!.task_id, g2!.task_id].sort(), [t1.task_id, t2.task_id].sort());
      assert.notEqual(g1!.lease_id, g2!.lease_id);
      // Each worker's resend finds its own lease.
      const [a1] = await claim({ accept_types: ['cr-other'], claim_id: 'shared' });
      const [a2] = await claim({ worker_id: 'w2', accept_types: ['cr-other'], claim_id: 'shared' });
      assert.equal(a1!.lease_id, g1!.lease_id);
      assert.equal(a2!.lease_id, g2!.lease_id);
      // Another tenant's worker w1 with that claim_id too.
      const other = await h.newTenant('cr-other-tenant');
      const r = await h.req('POST', '/v1/tasks', { type: 'cr-other' }, other.key);
      assert.equal(r.status, 201);
      const c = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', accept_types: ['cr-other'], claim_id: 'shared' }, other.key);
      assert.equal(c.status, 200);
      assert.equal(c.json.leases.length, 1);
      assert.equal(c.json.leases[0].task_id, r.json.task.task_id);
    });

    test('a claim_id is checked like other ids', async () => {
      for (const claim_id of ['', 'x'.repeat(257), 7]) {
        const r = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', claim_id });
        assert.equal(r.status, 400, JSON.stringify(r.json));
        assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
      }
    });
  });
}
