import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import { BACKENDS, harness, artifact, type Harness } from '../helpers.js';
import { claimsOf, introspect } from './helpers.js';

type Grant = { task_id: string; lease_id: string; lease_token: string; stamp: { stamp_id: string; token: string; expires_at: string } };

for (const backend of BACKENDS) {
  describe(`[${backend}] lease stamps: the gate tombstones them, every outcome visible in the task's trace`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    /** A task of its own type, claimed by w1: each test works on exactly its task. */
    const start = async (type: string, extra: Record<string, unknown> = {}): Promise<Grant> => {
      const c = await h.req('POST', '/v1/tasks', { type, requirements: { capabilities: ['fs:read'] }, ...extra });
      assert.equal(c.status, 201, JSON.stringify(c.json));
      const r = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', accept_types: [type], capabilities: ['fs:read'], lease_ttl_seconds: 30 });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.leases.length, 1);
      return r.json.leases[0];
    };
    const trace = async (taskId: string) => (await h.req('GET', `/v1/tasks/${taskId}`)).json.receipts as any[];
    const lp = (g: Grant) => ({ lease_id: g.lease_id, lease_token: g.lease_token });

    /** The stamp part of a task's trace, and checks every tombstone closes that lease's stamp.minted. */
    const stampTrace = async (g: Grant) => {
      const t = await trace(g.task_id);
      const minted = t.filter((r) => r.type === 'stamp.minted' && r.stamp_id === g.stamp.stamp_id);
      const tombstones = t.filter((r) => r.type === 'stamp.tombstoned' && r.stamp_id === g.stamp.stamp_id);
      assert.equal(minted.length, 1);
      for (const ts of tombstones) assert.deepEqual(ts.parents, [minted[0].receipt_id]);
      return { all: t, minted: minted[0], tombstones };
    };

    test('claim mints a stamp bound to tenant, task, lease and worker; it is active while the lease is', async () => {
      const g = await start('lease-stamp-bind');
      assert.ok(g.stamp);
      const c = claimsOf(g.stamp.token);
      assert.equal(c.tenant, h.tenantId);
      assert.equal(c.task, g.task_id);
      assert.equal(c.task_id, g.task_id);
      assert.equal(c.lease, g.lease_id);
      assert.equal(c.worker, 'w1');
      assert.equal(c.sub, 'worker:w1');
      assert.equal(c.scope, 'fs:read');
      const a = await introspect(h, g.stamp.token);
      assert.equal(a.active, true);
      assert.equal(a.lease, g.lease_id);
      const { minted, all } = await stampTrace(g);
      const granted = all.find((r) => r.type === 'lease.granted' && r.lease_id === g.lease_id);
      assert.deepEqual(minted.parents, [granted.receipt_id]);
      // The TTL (safety net) outlives every renewal the lease may get.
      assert.ok(Date.parse(g.stamp.expires_at) - h.clock.now() >= h.services.config.tasks.leaseLifetimeSecondsMax * 1000);
      await h.req('POST', `/v1/tasks/${g.task_id}/complete`, { ...lp(g), artifacts: [artifact] });
    });

    test('a claim of several tasks answers each lease with a token of its own stamp, bound to that lease', async () => {
      const type = 'lease-stamp-many';
      for (let i = 0; i < 3; i++) assert.equal((await h.req('POST', '/v1/tasks', { type, payload: { i } })).status, 201);
      const r = await h.req('POST', '/v1/leases/claim', { worker_id: 'w2', accept_types: [type], max_tasks: 3, lease_ttl_seconds: 30 });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const grants = r.json.leases as Grant[];
      assert.equal(grants.length, 3);
      assert.equal(new Set(grants.map((g) => g.stamp.token)).size, 3);
      for (const g of grants) {
        assert.equal(typeof g.stamp.token, 'string');
        const c = claimsOf(g.stamp.token);
        assert.equal(c.lease, g.lease_id);
        assert.equal(c.task_id, g.task_id);
        assert.equal(c.stamp_id, g.stamp.stamp_id);
        const a = await introspect(h, g.stamp.token);
        assert.equal(a.active, true);
        assert.equal(a.lease, g.lease_id);
        assert.equal((await h.req('POST', `/v1/tasks/${g.task_id}/complete`, { ...lp(g), artifacts: [artifact] })).status, 201);
        assert.equal((await introspect(h, g.stamp.token)).active, false);
      }
    });

    test('a lease stamp is signed only once the claim has committed: its row is already visible to readers', async () => {
      const tasks = h.services.tasks;
      const plug = tasks.stamps!;
      const committedAtSigning: boolean[] = [];
      tasks.stamps = {
        ...plug,
        async mintForLease(...args) {
          const m = await plug.mintForLease(...args);
          return {
            ...m,
            token: async () => {
              // The store's reads see committed data only.
              committedAtSigning.push((await h.services.store.stamps.stamp(h.tenantId, m.stamp_id)) !== undefined);
              return m.token();
            },
          };
        },
      };
      try {
        const g = await start('lease-stamp-after-commit');
        assert.deepEqual(committedAtSigning, [true]);
        assert.equal((await introspect(h, g.stamp.token)).active, true);
        await h.req('POST', `/v1/tasks/${g.task_id}/complete`, { ...lp(g), artifacts: [artifact] });
      } finally {
        tasks.stamps = plug;
      }
    });

    test('complete → tombstone completed (closed by the gate)', async () => {
      const g = await start('lease-stamp-complete');
      assert.equal((await h.req('POST', `/v1/tasks/${g.task_id}/complete`, { ...lp(g), artifacts: [artifact] })).status, 201);
      const { tombstones, all } = await stampTrace(g);
      assert.equal(tombstones.length, 1);
      assert.equal(tombstones[0].body.outcome, 'completed');
      assert.equal(tombstones[0].body.closed_by, 'gate');
      assert.ok(all.findIndex((r) => r.type === 'stamp.tombstoned') > all.findIndex((r) => r.type === 'stamp.minted'));
      assert.equal((await introspect(h, g.stamp.token)).inactive_reason, 'tombstoned');
    });

    test('worker-reported failure → tombstone crashed, retryable or not', async () => {
      for (const retryable of [true, false]) {
        const g = await start(`lease-stamp-fail-${retryable}`);
        const f = await h.req('POST', `/v1/tasks/${g.task_id}/fail`, { ...lp(g), error: 'disk full', retryable });
        assert.ok(f.status === 200 || f.status === 201, JSON.stringify(f.json));
        const { tombstones } = await stampTrace(g);
        assert.deepEqual(tombstones.map((t) => [t.body.outcome, t.body.closed_by]), [['crashed', 'gate']]);
        assert.equal((await introspect(h, g.stamp.token)).active, false);
      }
    });

    test('lease expiry → tombstone timeout (closed by the gate), never an ambiguous stamp', async () => {
      const g = await start('lease-stamp-expiry');
      h.clock.advance(31_000);
      assert.ok((await h.services.tasks.expireDue()) >= 1);
      const { tombstones, all } = await stampTrace(g);
      assert.deepEqual(tombstones.map((t) => [t.body.outcome, t.body.closed_by]), [['timeout', 'gate']]);
      assert.ok(all.some((r) => r.type === 'lease.expired' && r.lease_id === g.lease_id));
      assert.equal((await introspect(h, g.stamp.token)).active, false);
      // The stamp sweep has nothing to flag: the gate closed it.
      h.clock.advance(3 * 3600_000);
      await h.services.stamps.sweepStamps();
      assert.equal((await h.req('GET', `/v1/stamps/${g.stamp.stamp_id}`)).json.stamp.state, 'tombstoned');
      await h.services.tasks.expireDue();
    });

    test('a lease renewed to its full lifetime still ends in a timeout tombstone, even when the stamp sweep runs first', async () => {
      const g = await start('lease-stamp-lifetime');
      const grantedAt = h.clock.now();
      const lifetimeMs = h.services.config.tasks.leaseLifetimeSecondsMax * 1000;
      // Renew until the lease expires at exactly its lifetime limit (the last renewal allowed).
      for (let expires = grantedAt + 30_000; expires < grantedAt + lifetimeMs;) {
        h.clock.set(expires - 1000);
        const ttl = Math.min(1800, (grantedAt + lifetimeMs - h.clock.now()) / 1000);
        const r = await h.req('POST', '/v1/leases/renew', { ...lp(g), lease_ttl_seconds: ttl });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        expires = Date.parse(r.json.expires_at);
      }
      // Both sweeps find work at this instant; servers run them independently, in either order.
      h.clock.set(grantedAt + lifetimeMs);
      await h.services.stamps.sweepStamps();
      assert.ok((await h.services.tasks.expireDue()) >= 1);
      const { tombstones, all } = await stampTrace(g);
      assert.deepEqual(tombstones.map((t) => [t.body.outcome, t.body.closed_by, t.body.late ?? false]), [['timeout', 'gate', false]]);
      assert.ok(!all.some((r) => r.type === 'system.anomaly' && r.body.kind === 'missing_tombstone'), 'no missing_tombstone anomaly');
      await h.services.tasks.expireDue();
    });

    test('cancel → tombstone revoked (closed by the operator)', async () => {
      const g = await start('lease-stamp-cancel');
      assert.equal((await h.req('POST', `/v1/tasks/${g.task_id}/cancel`, { reason: 'no longer needed' })).status, 201);
      const { tombstones } = await stampTrace(g);
      assert.deepEqual(tombstones.map((t) => [t.body.outcome, t.body.closed_by]), [['revoked', 'operator']]);
      assert.equal((await introspect(h, g.stamp.token)).active, false);
    });

    test('a stamp its subject already closed keeps that one tombstone; the lease still ends normally', async () => {
      const g = await start('lease-stamp-subject-first');
      const own = await h.req('POST', `/v1/stamps/${g.stamp.stamp_id}/tombstone`, { outcome: 'crashed', reason: 'agent noticed it crashed' });
      assert.equal(own.status, 201);
      h.clock.advance(31_000);
      await h.services.tasks.expireDue();
      const { tombstones, all } = await stampTrace(g);
      assert.deepEqual(tombstones.map((t) => [t.body.outcome, t.body.closed_by]), [['crashed', 'subject']]);
      assert.ok(all.some((r) => r.type === 'lease.expired' && r.lease_id === g.lease_id));
      const task = (await h.req('GET', `/v1/tasks/${g.task_id}`)).json.task;
      assert.equal(task.status, 'queued');
      await h.services.tasks.expireDue();
    });
  });
}

describe('[sqlite] a stamp is signed after its write commits, with a key loaded before', () => {
  /** A harness whose current signing key is damaged before this server ever loaded it. */
  const withBadKey = async (): Promise<Harness> => {
    const h = await harness({ backend: 'sqlite' });
    await h.services.stamps.rotateSigningKeys();
    const db = new Database((h.services.store as SqliteStore).file);
    db.prepare(`UPDATE signing_keys SET private_pkcs8 = 'bm90IGEga2V5' WHERE role = 'current'`).run();
    db.close();
    return h;
  };

  test('a signing key that cannot be loaded refuses a standalone mint before anything commits', async () => {
    const h = await withBadKey();
    try {
      const r = await h.req('POST', '/v1/stamps', { subject: { kind: 'agent', id: 'a1' }, task_ref: 'bad-key', scope: [], ttl_seconds: 60 });
      assert.equal(r.status, 500, JSON.stringify(r.json));
      const minted = await h.req('GET', '/v1/receipts?type=stamp.minted');
      assert.equal(minted.status, 200);
      assert.deepEqual(minted.json.receipts, []);
    } finally {
      await h.close();
    }
  });

  test('a signing key that cannot be loaded refuses the claim before anything commits', async () => {
    const h = await withBadKey();
    try {
      const task = (await h.req('POST', '/v1/tasks', { type: 'bad-key' })).json.task;
      const r = await h.req('POST', '/v1/leases/claim', { worker_id: 'w1', accept_types: ['bad-key'] });
      assert.equal(r.status, 500, JSON.stringify(r.json));
      const view = (await h.req('GET', `/v1/tasks/${task.task_id}`)).json;
      assert.equal(view.task.status, 'queued');
      assert.equal(view.task.claims, 0);
      assert.deepEqual(view.receipts.map((x: { type: string }) => x.type), ['task.assigned']);
    } finally {
      await h.close();
    }
  });
});
