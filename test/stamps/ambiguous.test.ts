import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock } from '../../src/clock.js';
import { createServices, startServer } from '../../src/server/index.js';
import { BACKENDS, harness, tempDir, type Harness } from '../helpers.js';
import { introspect, mint } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] TTL is only the safety net: ambiguous stamps and late tombstones`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('TTL passes with no tombstone → ambiguous + missing_tombstone anomaly + listed by investigations; never "timeout"', async () => {
      const m = await mint(h, { ttl_seconds: 5, task_ref: 'standalone-run-7' });
      const ev = await h.req('POST', `/v1/stamps/${m.stamp_id}/events`, { action: 'fs.write', outcome: 'executed' });
      assert.equal(ev.status, 201);
      // Before the TTL the sweep leaves it alone.
      h.clock.advance(4999);
      assert.equal(await h.services.stamps.sweepStamps(), 0);
      assert.equal((await h.req('GET', `/v1/stamps/${m.stamp_id}`)).json.stamp.state, 'active');
      h.clock.advance(1);
      assert.equal(await h.services.stamps.sweepStamps(), 1);

      const g = await h.req('GET', `/v1/stamps/${m.stamp_id}`);
      assert.equal(g.json.stamp.state, 'ambiguous');
      assert.equal(g.json.stamp.outcome, null, 'the TTL wrote no outcome: not timeout, not anything');
      assert.ok(g.json.stamp.anomaly_receipt_id);
      assert.deepEqual(g.json.history.map((r: { type: string }) => r.type), ['stamp.minted', 'stamp.event', 'system.anomaly']);
      assert.ok(!g.json.history.some((r: { type: string }) => r.type === 'stamp.tombstoned'));

      const an = await h.req('GET', '/v1/anomalies?kind=missing_tombstone');
      const anomaly = an.json.anomalies.find((a: { stamp_id?: string }) => a.stamp_id === m.stamp_id);
      assert.ok(anomaly);
      assert.equal(anomaly.receipt_id, g.json.stamp.anomaly_receipt_id);
      assert.deepEqual(anomaly.parents, [m.minted_receipt_id]);
      assert.equal(anomaly.body.task_ref, 'standalone-run-7');

      // The obligation stays open: an anomaly never discharges anything.
      const ob = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: m.minted_receipt_id });
      assert.equal(ob.json.open, true);

      const inv = await h.req('GET', '/v1/investigations');
      assert.equal(inv.status, 200);
      assert.deepEqual(Object.keys(inv.json).sort(), ['cursor', 'investigations']);
      const item = inv.json.investigations.find((i: { stamp: { stamp_id: string } }) => i.stamp.stamp_id === m.stamp_id);
      assert.ok(item);
      assert.equal(item.anomaly_receipt_id, anomaly.receipt_id);
      assert.deepEqual(item.last_events.map((r: { type: string }) => r.type), ['stamp.event', 'stamp.minted']);
      assert.equal(item.last_events[0].body.action, 'fs.write');

      const a = await introspect(h, m.token);
      assert.deepEqual(a, { active: false, stamp_id: m.stamp_id, state: 'ambiguous', inactive_reason: 'ambiguous' });

      // Idempotent: sweeping again (any server, any number of times) flags nothing new.
      const count = await h.services.store.countReceipts(h.tenantId);
      assert.equal(await h.services.stamps.sweepStamps(), 0);
      assert.equal(await h.services.stamps.sweepStamps(h.clock.now() + 60_000), 0);
      assert.equal(await h.services.store.countReceipts(h.tenantId), count);
    });

    test('a late tombstone resolves an ambiguous stamp with late: true; the history keeps the anomaly and the tombstone', async () => {
      const m = await mint(h, { ttl_seconds: 3 });
      h.clock.advance(3000);
      assert.equal(await h.services.stamps.sweepStamps(), 1);
      h.clock.advance(60_000);
      const t = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'crashed', reason: 'worker OOM, found in the logs' });
      assert.equal(t.status, 201);
      assert.equal(t.json.tombstone.late, true);
      assert.equal(t.json.tombstone.outcome, 'crashed');
      const g = await h.req('GET', `/v1/stamps/${m.stamp_id}`);
      assert.equal(g.json.stamp.state, 'tombstoned');
      assert.equal(g.json.stamp.late, true);
      assert.equal(g.json.stamp.outcome, 'crashed');
      assert.deepEqual(g.json.history.map((r: { type: string }) => r.type), ['stamp.minted', 'system.anomaly', 'stamp.tombstoned']);
      assert.equal(g.json.stamp.anomaly_receipt_id, g.json.history[1].receipt_id);
      const inv = await h.req('GET', '/v1/investigations');
      assert.ok(!inv.json.investigations.some((i: { stamp: { stamp_id: string } }) => i.stamp.stamp_id === m.stamp_id), 'resolved: no longer under investigation');
      const ob = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: m.minted_receipt_id });
      assert.equal(ob.json.open, false);
      // The tombstone that resolved it is the one; another outcome is still 409.
      assert.equal((await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'completed' })).status, 409);
    });

    test('a tombstone after the TTL but before the sweep is late too, and the sweep then leaves it alone', async () => {
      const m = await mint(h, { ttl_seconds: 1 });
      h.clock.advance(1500);
      const t = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'completed' });
      assert.equal(t.json.tombstone.late, true);
      assert.equal(await h.services.stamps.sweepStamps(), 0);
      const hist = (await h.req('GET', `/v1/stamps/${m.stamp_id}`)).json.history;
      assert.deepEqual(hist.map((r: { type: string }) => r.type), ['stamp.minted', 'stamp.tombstoned']);
    });

    test('investigations page with a cursor, in the order stamps were flagged', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await mint(h, { ttl_seconds: 1 + i })).stamp_id);
      }
      h.clock.advance(10_000);
      await h.services.stamps.sweepStamps();
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const r: any = await h.req('GET', `/v1/investigations?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...r.json.investigations.map((i: any) => i.stamp.stamp_id));
        cursor = r.json.cursor;
      } while (cursor);
      const mine = seen.filter((id) => ids.includes(id));
      assert.deepEqual(mine, ids);
    });
  });
}

describe('the server runs the TTL sweep on its own, at least every second', () => {
  test('a stamp whose TTL passes is flagged ambiguous without anyone calling the sweep', async () => {
    const tmp = tempDir();
    const clock = new ManualClock('2026-05-01T00:00:00.000Z');
    const services = createServices({ dataDir: tmp.dir, clock });
    const server = await startServer({ services, port: 0 });
    try {
      const tenant = await services.tenants.createTenant('t');
      const m = await services.stamps.mint(tenant.tenant_id, { subject: { kind: 'agent', id: 'a' }, task_ref: 'x', scope: [], ttl_seconds: 2 });
      clock.advance(2000);
      const t0 = Date.now();
      let state = 'active';
      while (Date.now() - t0 < 3000 && state !== 'ambiguous') {
        await sleep(50);
        state = (await services.store.stamps.stamp(tenant.tenant_id, m.stamp.stamp_id))!.state;
      }
      assert.equal(state, 'ambiguous');
      assert.ok(Date.now() - t0 < 1000 + services.config.stamps.sweepIntervalMs, `flagged after ${Date.now() - t0} ms`);
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });
});
