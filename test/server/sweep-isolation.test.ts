/**
 * One item a sweep cannot process (here: a damaged row) must not stop the sweep for every other item of every
 * tenant. Each sweep commits what it can, leaves the bad item for the next sweep and fails naming it, so the
 * server's log says which row to look at.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { rawSql } from '../raw-sql.js';

const GONE = '00000000-0000-4000-8000-000000000000';

for (const backend of BACKENDS) {
  describe(`[${backend}] a sweep with one item it cannot process`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend, config: { sessions: { orphanTtlSeconds: 60 } } });
    });
    after(async () => h.close());

    test('lease expiry: every other lease still expires and its task is requeued; the sweep fails naming the bad lease', async () => {
      for (const n of [1, 2, 3]) assert.equal((await h.req('POST', '/v1/tasks', { task_id: `iso-${n}`, type: 'iso' })).status, 201);
      const claim = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', capabilities: [], accept_types: ['iso'], max_tasks: 3, lease_ttl_seconds: 5 });
      const leases = claim.json.leases as { lease_id: string; task_id: string }[];
      assert.equal(leases.length, 3);
      const bad = leases.find((l) => l.task_id === 'iso-2')!;
      await rawSql(h, backend, 'UPDATE leases SET granted_receipt_id = $1 WHERE lease_id = $2', [GONE, bad.lease_id]);

      h.clock.advance(6_000);
      await assert.rejects(h.services.tasks.expireDue(), (e: Error) => {
        assert.match(e.message, /^1 due leases could not be processed and stay for the next sweep/);
        assert.ok(e.message.includes(bad.lease_id), e.message);
        return true;
      });
      for (const id of ['iso-1', 'iso-3']) {
        const { task: t, receipts } = (await h.req('GET', `/v1/tasks/${id}`)).json;
        assert.equal(t.status, 'queued', id);
        assert.deepEqual([t.attempt, t.lease_expiries], [1, 1], id);
        assert.ok(receipts.some((r: { type: string }) => r.type === 'lease.expired'), id);
      }
      assert.equal((await h.req('GET', '/v1/tasks/iso-2')).json.task.status, 'leased');
      // Every later sweep tries it again, and still gets nowhere with it alone.
      await assert.rejects(h.services.tasks.expireDue(), /1 due leases/);
    });

    test('stamp TTL: every other stamp is still flagged ambiguous; the sweep fails naming the bad stamp', async () => {
      const ids: string[] = [];
      for (const n of [1, 2, 3]) {
        const r = await h.req('POST', '/v1/stamps', { subject: { kind: 'agent', id: `a${n}` }, task_ref: `t${n}`, scope: ['fs:read'], ttl_seconds: 5 });
        assert.equal(r.status, 201);
        ids.push(r.json.stamp.stamp_id);
      }
      await rawSql(h, backend, "UPDATE stamps SET subject = '{' WHERE stamp_id = $1", [ids[1]]);

      h.clock.advance(6_000);
      await assert.rejects(h.services.stamps.sweepStamps(), (e: Error) => {
        assert.match(e.message, /^1 expired stamps could not be processed/);
        assert.ok(e.message.includes(ids[1]!), e.message);
        return true;
      });
      for (const id of [ids[0], ids[2]]) assert.equal((await h.req('GET', `/v1/stamps/${id}`)).json.stamp.state, 'ambiguous', id);
      await assert.rejects(h.services.stamps.sweepStamps(), /1 expired stamps/);
    });

    test('orphan quarantine: every other orphan is still quarantined; the sweep fails naming the bad orphan', async () => {
      const orphans: string[] = [];
      for (const n of [1, 2, 3]) {
        const r = await h.req('POST', '/v1/events', { event_id: `iso-ev-${n}`, event_class: 'plugin', session_id: `iso-missing-${n}` });
        assert.equal(r.status, 202);
        orphans.push(r.json.orphan.orphan_id);
      }
      await rawSql(h, backend, 'UPDATE orphans SET queued_receipt_id = $1 WHERE orphan_id = $2', [GONE, orphans[1]]);

      h.clock.advance(61_000);
      await assert.rejects(h.services.sessions.sweepOrphans(), (e: Error) => {
        assert.match(e.message, /^1 due orphans could not be processed/);
        assert.ok(e.message.includes(orphans[1]!), e.message);
        return true;
      });
      const quarantined = (await h.req('GET', '/v1/orphans?state=quarantined')).json.orphans.map((o: { orphan_id: string }) => o.orphan_id);
      assert.deepEqual(quarantined.sort(), [orphans[0], orphans[2]].sort());
    });
  });
}
