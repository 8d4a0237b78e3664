import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, artifact, type Harness } from '../helpers.js';

type Grant = { task_id: string; lease_id: string; lease_token: string };

/** A renewal sent again because its answer was lost: with `renewal` (its number), it renews once. */
for (const backend of BACKENDS) {
  describe(`[${backend}] resent renewals`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    const claim = async (type: string, ttl = 60): Promise<Grant> => {
      assert.equal((await h.req('POST', '/v1/tasks', { type })).status, 201);
      const r = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', accept_types: [type], lease_ttl_seconds: ttl });
      assert.equal(r.json.leases.length, 1, JSON.stringify(r.json));
      return r.json.leases[0];
    };
    const lp = (g: Grant) => ({ lease_id: g.lease_id, lease_token: g.lease_token });
    const renew = (g: Grant, body: Record<string, unknown> = {}) => h.req('POST', '/v1/leases/renew', { ...lp(g), ...body });
    const renewedReceipts = async (g: Grant) => ((await h.req('GET', `/v1/tasks/${g.task_id}`)).json.receipts as { type: string }[])
      .filter((r) => r.type === 'lease.renewed').length;
    const stale = async () => ((await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1000')).json.anomalies as unknown[]).length;

    test('the same renewal sent again answers as the first did, writes nothing and spends nothing', async () => {
      const g = await claim('renew-resend');
      h.clock.advance(20_000);
      const first = await renew(g, { renewal: 1, lease_ttl_seconds: 60 });
      assert.equal(first.status, 200, JSON.stringify(first.json));
      assert.equal(first.json.status, 'renewed');
      assert.equal(first.json.renewals_left, 9);
      h.clock.advance(5_000);
      const again = await renew(g, { renewal: 1, lease_ttl_seconds: 60 });
      assert.equal(again.status, 200, JSON.stringify(again.json));
      assert.deepEqual(again.json, { ...first.json, status: 'duplicate' });
      assert.equal(await renewedReceipts(g), 1);

      // The next one is renewal 2, and counts from 9 left; a renewal naming no TTL resends as one naming the granted TTL.
      const second = await renew(g, { renewal: 2 });
      assert.equal(second.status, 200);
      assert.equal(second.json.renewals_left, 8);
      const secondAgain = await renew(g, { renewal: 2, lease_ttl_seconds: 60 });
      assert.deepEqual(secondAgain.json, { ...second.json, status: 'duplicate' });
      assert.equal(await renewedReceipts(g), 2);
    });

    test('a renewal number that is neither the next one nor the last one resent is a coded 409 and writes nothing', async () => {
      const g = await claim('renew-out-of-order');
      assert.equal((await renew(g, { renewal: 1, lease_ttl_seconds: 60 })).status, 200);
      assert.equal((await renew(g, { renewal: 2, lease_ttl_seconds: 60 })).status, 200);
      const before = await stale();
      for (const body of [{ renewal: 1 }, { renewal: 4 }, { renewal: 2, lease_ttl_seconds: 90 }]) {
        const r = await renew(g, body);
        assert.equal(r.status, 409, JSON.stringify(body));
        assert.equal(r.json.code, 'QUITTANCE_ERR_LEASE_RENEWAL_OUT_OF_ORDER');
      }
      assert.equal((await renew(g, { renewal: 0 })).status, 400);
      assert.equal(await renewedReceipts(g), 2);
      assert.equal(await stale(), before);
      const next = await renew(g, { renewal: 3, lease_ttl_seconds: 60 });
      assert.equal(next.json.renewals_left, 7, 'the refusals spent nothing');
    });

    test('without `renewal`, every renewal renews, as before', async () => {
      const g = await claim('renew-unnumbered');
      const a = await renew(g, { lease_ttl_seconds: 60 });
      const b = await renew(g, { lease_ttl_seconds: 60 });
      assert.deepEqual([a.status, b.status], [200, 200]);
      assert.deepEqual([a.json.renewals_left, b.json.renewals_left], [9, 8]);
      assert.equal(await renewedReceipts(g), 2);
    });

    test('the last renewal allowed, resent, answers as it did rather than the renewal limit', async () => {
      const g = await claim('renew-last');
      for (let i = 1; i <= 10; i++) assert.equal((await renew(g, { renewal: i })).status, 200);
      const again = await renew(g, { renewal: 10 });
      assert.equal(again.status, 200, JSON.stringify(again.json));
      assert.equal(again.json.status, 'duplicate');
      assert.equal(again.json.renewals_left, 0);
      assert.equal((await renew(g, { renewal: 11 })).json.code, 'QUITTANCE_ERR_LEASE_RENEWAL_LIMIT');
    });

    test('a renewal resent once its lease has ended is LEASE_LOST, with no stale_lease_write; a renewal never made still leaves one', async () => {
      const before = await stale();
      // Expired (found by the resend itself, then by the sweeper), and completed.
      const a = await claim('renew-ended-expired', 10);
      assert.equal((await renew(a, { renewal: 1 })).status, 200);
      h.clock.advance(10_001);
      const b = await claim('renew-ended-swept', 10);
      assert.equal((await renew(b, { renewal: 1 })).status, 200);
      const c = await claim('renew-ended-done', 10);
      assert.equal((await renew(c, { renewal: 1 })).status, 200);
      assert.equal((await h.req('POST', `/v1/tasks/${c.task_id}/complete`, { ...lp(c), artifacts: [artifact] })).status, 201);
      const lostA = await renew(a, { renewal: 1 });
      h.clock.advance(10_001);
      await h.services.tasks.expireDue();
      for (const r of [lostA, await renew(b, { renewal: 1 }), await renew(c, { renewal: 1 })]) {
        assert.equal(r.status, 409, JSON.stringify(r.json));
        assert.equal(r.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      }
      assert.equal(await stale(), before, 'no resend left a stale_lease_write anomaly');
      const never = await renew(c, { renewal: 2 });
      assert.equal(never.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      const unnumbered = await renew(b);
      assert.equal(unnumbered.json.code, 'QUITTANCE_ERR_LEASE_LOST');
      assert.equal(await stale(), before + 2);
    });
  });
}
