import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testSchema } from '../pg.js';
import { createServices } from '../../src/server/index.js';
import { artifact } from '../helpers.js';

const skip = process.env['QUITTANCE_TEST_PG'] === '1' ? false : 'PostgreSQL is not reachable';

/**
 * The same claim (worker_id and claim_id) sent to two servers on one PostgreSQL at once: the original held up on its
 * way to one, its resend at the other. One grants, the other answers the same leases; every answer's tokens work, and
 * no task is leased twice or left leased to nobody.
 */
describe('[postgres] one claim sent to two servers at once', { skip }, () => {
  test('both answer the same leases, each answer\'s tokens work, one lease per task', async () => {
    const schema = testSchema();
    const [storeA, storeB] = [await schema.open(), await schema.open()];
    const a = createServices({ store: storeA });
    const b = createServices({ store: storeB });
    try {
      const tenant = (await a.tenants.createTenant('nodes')).tenant_id;
      const me = { kind: 'agent', id: 'nodes' } as const;
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await a.tasks.create(tenant, { type: 'n' }, me)).task.task_id);
      for (let round = 0; round < 5; round++) {
        const ask = { worker_id: 'w', max_tasks: 2, lease_ttl_seconds: 60, claim_id: `claim-${round}` };
        const [x, y] = await Promise.all([a.tasks.claim(tenant, ask), b.tasks.claim(tenant, ask)]);
        assert.equal(x.length, 2, `round ${round}`);
        assert.deepEqual(y.map((g) => g.lease_id).sort(), x.map((g) => g.lease_id).sort(), `round ${round}: the same leases`);
        for (const gx of x) {
          const gy = y.find((g) => g.lease_id === gx.lease_id)!;
          const proof = (g: typeof gx) => ({ lease_id: g.lease_id, lease_token: g.lease_token });
          assert.equal((await b.tasks.start(tenant, gx.task_id, proof(gx))).status, 'created');
          assert.equal((await a.tasks.complete(tenant, gy.task_id, { ...proof(gy), artifacts: [artifact] })).status, 'created');
        }
      }
      for (const id of ids) {
        const t = (await storeA.task(tenant, id))!;
        assert.ok(t.claims <= 1, `${id} leased ${t.claims} times`);
        assert.ok(t.status === 'succeeded' || t.status === 'queued', `${id} is ${t.status}`);
      }
      const done = await Promise.all(ids.map((id) => storeA.task(tenant, id)));
      assert.equal(done.filter((t) => t!.status === 'succeeded').length, 10, 'five claims of two, none lost');
    } finally {
      await storeA.close();
      await storeB.close();
      await schema.drop();
    }
  });
});
