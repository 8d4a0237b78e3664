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
        assert.equal(again.body, JSON.stringify({ open_obligations: decoded.items, cursor: decoded.cursor }));

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
  });
}
