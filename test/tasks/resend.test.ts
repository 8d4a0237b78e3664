import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, artifact, type Harness } from '../helpers.js';

type Grant = { task_id: string; lease_id: string; lease_token: string };

/** Requests sent again because their answer was lost: what they answer once the lease or the task has moved on. */
for (const backend of BACKENDS) {
  describe(`[${backend}] resent task and lease writes`, () => {
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
    const claim = async (type: string, body: Record<string, unknown> = {}): Promise<Grant> => {
      const r = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', accept_types: [type], ...body });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.leases.length, 1);
      return r.json.leases[0];
    };
    const lp = (g: Grant) => ({ lease_id: g.lease_id, lease_token: g.lease_token });
    const stale = async () => (await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies as { lease_id?: string; body: { action: string } }[];
    const receipts = async (taskId: string) => (await h.req('GET', `/v1/tasks/${taskId}`)).json.receipts as { type: string; receipt_id: string }[];
    /** The same request again: 200 duplicate with the receipt the first one stored. */
    const sameAgain = async (path: string, body: Record<string, unknown>, first: { receipt: { receipt_id: string } }) => {
      const again = await h.req('POST', path, body);
      assert.equal(again.status, 200, `${path}: ${JSON.stringify(again.json)}`);
      assert.equal(again.json.status, 'duplicate');
      assert.equal(again.json.receipt.receipt_id, first.receipt.receipt_id);
    };

    test('a start or progress resent after its lease ended answers what it stored, with no stale_lease_write', async () => {
      const before = (await stale()).length;

      // Started, then the lease expires and the sweeper requeues the task before the resend arrives.
      const a = await create('resend-start-swept');
      const ga = await claim('resend-start-swept', { lease_ttl_seconds: 10 });
      const started = await h.req('POST', `/v1/tasks/${a.task_id}/start`, lp(ga));
      assert.equal(started.status, 201);
      const progressed = await h.req('POST', `/v1/tasks/${a.task_id}/progress`, { ...lp(ga), progress: { pct: 40 } });
      assert.equal(progressed.status, 201);
      h.clock.advance(10_000);
      assert.equal(await h.services.tasks.expireDue(), 1);
      await sameAgain(`/v1/tasks/${a.task_id}/start`, lp(ga), started.json);
      await sameAgain(`/v1/tasks/${a.task_id}/progress`, { ...lp(ga), progress: { pct: 40 } }, progressed.json);
      // The task moved on to another worker: the resend is still the first request's, and writes nothing.
      h.clock.advance(3_000);
      const ga2 = await claim('resend-start-swept');
      await sameAgain(`/v1/tasks/${a.task_id}/start`, lp(ga), started.json);
      assert.equal((await receipts(a.task_id)).filter((r) => r.type === 'task.started').length, 1);

      // Started, the lease runs out, and the resend arrives before the sweeper: it expires the lease and answers the start.
      const b = await create('resend-start-inline');
      const gb = await claim('resend-start-inline', { lease_ttl_seconds: 10 });
      const startedB = await h.req('POST', `/v1/tasks/${b.task_id}/start`, lp(gb));
      h.clock.advance(10_000);
      await sameAgain(`/v1/tasks/${b.task_id}/start`, lp(gb), startedB.json);
      assert.equal((await receipts(b.task_id)).filter((r) => r.type === 'lease.expired').length, 1, 'the lease expired all the same');

      // Started and completed (the start's answer lost on the way, the completion's not).
      const c = await create('resend-start-done');
      const gc = await claim('resend-start-done');
      const startedC = await h.req('POST', `/v1/tasks/${c.task_id}/start`, lp(gc));
      assert.equal((await h.req('POST', `/v1/tasks/${c.task_id}/complete`, { ...lp(gc), artifacts: [artifact] })).status, 201);
      await sameAgain(`/v1/tasks/${c.task_id}/start`, lp(gc), startedC.json);

      assert.equal((await stale()).length, before, 'no resend left a stale_lease_write anomaly');

      // Writes the ended lease never made are stale: LEASE_LOST, each with its anomaly.
      const lost = [
        await h.req('POST', `/v1/tasks/${a.task_id}/progress`, { ...lp(ga), progress: { pct: 41 } }),
        await h.req('POST', `/v1/tasks/${c.task_id}/progress`, { ...lp(gc), progress: {} }),
        await h.req('POST', `/v1/tasks/${a.task_id}/start`, { ...lp(ga), lease_token: ga2.lease_token }),
      ];
      for (const r of lost) {
        assert.equal(r.status, 409, JSON.stringify(r.json));
        assert.equal(r.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      }
      const d = await create('resend-never-started');
      const gd = await claim('resend-never-started', { lease_ttl_seconds: 10 });
      h.clock.advance(10_000);
      await h.services.tasks.expireDue();
      h.clock.advance(3_000);
      await claim('resend-never-started');
      const never = await h.req('POST', `/v1/tasks/${d.task_id}/start`, lp(gd));
      assert.equal(never.status, 409, 'an older lease that never started is stale');
      assert.equal(never.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      const after = await stale();
      assert.equal(after.length, before + 4);
      assert.ok(after.some((x) => x.lease_id === gd.lease_id && x.body.action === 'start'));
    });

    test('a cancel resent after its answer was lost answers the task.canceled it stored; a cancel of a task that ended otherwise is still 409', async () => {
      const t = await create('resend-cancel');
      await claim('resend-cancel');
      const first = await h.req('POST', `/v1/tasks/${t.task_id}/cancel`, { reason: 'obsolete' });
      assert.equal(first.status, 201);
      await sameAgain(`/v1/tasks/${t.task_id}/cancel`, { reason: 'obsolete' }, first.json);
      assert.equal((await receipts(t.task_id)).filter((r) => r.type === 'task.canceled').length, 1);
      for (const other of [{ reason: 'another reason' }, {}, { reason: 'obsolete', by: { kind: 'agent', id: 'someone-else' } }]) {
        const r = await h.req('POST', `/v1/tasks/${t.task_id}/cancel`, other);
        assert.equal(r.status, 409, `another cancel ${JSON.stringify(other)} is not this one`);
        assert.equal(r.json.code, 'QUITTANCE_ERR_TASK_FINISHED');
      }

      // Queued, no body, canceled by a named principal.
      const q = await create('resend-cancel-queued');
      const bare = await h.req('POST', `/v1/tasks/${q.task_id}/cancel`, null);
      assert.equal(bare.status, 201);
      await sameAgain(`/v1/tasks/${q.task_id}/cancel`, {}, bare.json);
      const n = await create('resend-cancel-by');
      const by = { kind: 'agent', id: 'planner' };
      const named = await h.req('POST', `/v1/tasks/${n.task_id}/cancel`, { by });
      assert.equal(named.status, 201);
      await sameAgain(`/v1/tasks/${n.task_id}/cancel`, { by }, named.json);

      // Finished otherwise: completed, failed.
      const done = await create('resend-cancel-done');
      const gd = await claim('resend-cancel-done');
      assert.equal((await h.req('POST', `/v1/tasks/${done.task_id}/complete`, { ...lp(gd), artifacts: [artifact] })).status, 201);
      const failed = await create('resend-cancel-failed');
      const gf = await claim('resend-cancel-failed');
      assert.equal((await h.req('POST', `/v1/tasks/${failed.task_id}/fail`, { ...lp(gf), error: 'no', retryable: false })).status, 201);
      for (const id of [done.task_id, failed.task_id]) {
        const r = await h.req('POST', `/v1/tasks/${id}/cancel`, {});
        assert.equal(r.status, 409);
        assert.equal(r.json.code, 'QUITTANCE_ERR_TASK_FINISHED');
      }
    });
  });
}
