/**
 * GET /v1/obligations/open answers with JSON text the ledger builds (on SQLite, straight from the stored receipts).
 * It must be exactly the JSON of the decoded page: same receipts, same keys in the same order, first deliveries
 * stamped once and reported the same on every later fetch.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent, artifact } from '../helpers.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] open obligations as JSON text`, () => {
    test('byte-for-byte the JSON of the decoded page, first deliveries included; pages join up', async () => {
      const h = await harness({ backend });
      try {
        const worker = (i: number) => ({ kind: 'worker' as const, id: `w${i % 3}`, ...(i % 2 ? { instance_id: `inst-"${i}"` } : {}) });
        for (let i = 0; i < 25; i++) {
          const r = await h.req('POST', '/v1/receipts', {
            type: 'task.assigned', from: agent, to: worker(i), task_id: `t${i}`,
            ...(i % 4 === 0 && { idempotency_key: `k${i}`, lease_id: `l${i}`, artifacts: [artifact] }),
            body: { n: i, text: 'é\u2028"\\', nested: { a: [1, null, { b: -0.5 }] } },
          });
          assert.equal(r.status, 201);
        }
        const url = '/v1/obligations/open?limit=10';
        const raw = async (u: string) => (await h.app.inject({ method: 'GET', url: u, headers: { authorization: `Bearer ${h.key}` } }));
        const first = await raw(url);
        assert.equal(first.statusCode, 200);
        assert.match(String(first.headers['content-type']), /^application\/json/);
        const page = JSON.parse(first.body) as { open_obligations: { delivered_at?: string }[]; cursor: string | null };
        assert.deepEqual(Object.keys(page), ['open_obligations', 'cursor']);
        assert.equal(page.open_obligations.length, 10);
        assert.ok(page.open_obligations.every((r) => typeof r.delivered_at === 'string'), 'first fetch reports delivered_at');

        // A later fetch: same bytes as the first (delivered_at is stable) and as the decoded page, serialised.
        const again = await raw(url);
        assert.equal(again.body, first.body);
        const decoded = await h.services.ledger.openObligations(h.tenantId, { limit: 10 });
        // The cursor the route gives out is the ledger's, bound to the listing (server/cursors.ts).
        const served = (JSON.parse(again.body) as { cursor: string }).cursor;
        assert.ok(served.endsWith(`.${decoded.cursor}`), served);
        assert.equal(again.body, JSON.stringify({ open_obligations: decoded.items, cursor: served }));

        // Pages of one principal, followed by cursor, give each of its obligations once.
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const res = await raw(`/v1/obligations/open?limit=3&principal_kind=worker&principal_id=w1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          const p = JSON.parse(res.body) as { open_obligations: { receipt_id: string; to: { id: string } }[]; cursor: string | null };
          for (const r of p.open_obligations) (assert.equal(r.to.id, 'w1'), seen.push(r.receipt_id));
          cursor = p.cursor;
        } while (cursor);
        assert.equal(seen.length, 8);
        assert.equal(new Set(seen).size, 8);
        const bootstrap = await raw('/v1/bootstrap?limit=10');
        assert.equal(bootstrap.body, first.body);
      } finally {
        await h.close();
      }
    });

    test('pages served again and again stay each tenant\'s own and current: same seqs in two tenants, closes, new obligations', async () => {
      const h = await harness({ backend });
      try {
        const b = await h.newTenant('b');
        const open = async (key: string, goal: string, n: number) => {
          const ids: string[] = [];
          for (let i = 0; i < n; i++) {
            const r = await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: { kind: 'worker', id: `w${i}` }, body: { goal, i } }, key);
            assert.equal(r.status, 201);
            ids.push((r.json as { receipt: { receipt_id: string } }).receipt.receipt_id);
          }
          return ids;
        };
        // Both tenants' chains start at seq 1, so their obligations share seqs.
        const aIds = await open(h.key, 'tenant a', 4);
        const bIds = await open(b.key, 'tenant b', 4);
        const page = async (key: string) => {
          const res = await h.app.inject({ method: 'GET', url: '/v1/obligations/open?limit=50', headers: { authorization: `Bearer ${key}` } });
          assert.equal(res.statusCode, 200);
          return { text: res.body, items: (JSON.parse(res.body) as { open_obligations: { receipt_id: string; tenant_id: string; seq: number; body: { goal: string } }[] }).open_obligations };
        };
        for (let round = 0; round < 3; round++) {
          const [pa, pb] = [await page(h.key), await page(b.key)];
          assert.deepEqual(pa.items.map((r) => r.receipt_id), aIds);
          assert.deepEqual(pb.items.map((r) => r.receipt_id), bIds);
          assert.deepEqual(pa.items.map((r) => r.seq), pb.items.map((r) => r.seq), 'the same seqs in both tenants');
          assert.ok(pa.items.every((r) => r.tenant_id === h.tenantId && r.body.goal === 'tenant a'));
          assert.ok(pb.items.every((r) => r.tenant_id === b.tenantId && r.body.goal === 'tenant b'));
        }
        // A close takes the obligation off the page at once; a new obligation joins it; the text stays the
        // decoded page's JSON.
        const done = await h.req('POST', '/v1/receipts', { type: 'task.completed', from: { kind: 'worker', id: 'w1' }, to: agent, parents: [aIds[1]!], artifacts: [artifact] });
        assert.equal(done.status, 201);
        const [extra] = await open(h.key, 'tenant a, later', 1);
        const after = await page(h.key);
        assert.deepEqual(after.items.map((r) => r.receipt_id), [aIds[0], aIds[2], aIds[3], extra]);
        const decoded = await h.services.ledger.openObligations(h.tenantId, { limit: 50 });
        assert.equal(after.text, JSON.stringify({ open_obligations: decoded.items, cursor: decoded.cursor }));
        assert.deepEqual((await page(b.key)).items.map((r) => r.receipt_id), bIds);
      } finally {
        await h.close();
      }
    });
  });
}
