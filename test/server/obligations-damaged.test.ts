/**
 * GET /v1/obligations/open on a damaged database: an open obligation whose receipt row is gone (deleted behind the
 * ledger's back, or a restore that brought back the projection and not the receipts). The page was a 500, so no
 * client saw any of its obligations; now the page serves what is there, pages on past the damage, and the server
 * logs the missing obligation (quittance verify reports the same projection mismatch).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { BACKENDS, harness, agent, worker } from '../helpers.js';
import { rawSql } from '../raw-sql.js';
import { buildApp } from '../../src/server/index.js';

type Page = { open_obligations: { receipt_id: string }[]; cursor: string | null };

for (const backend of BACKENDS) {
  describe(`[${backend}] open obligations with a receipt missing`, () => {
    test('the page serves the rest, paging reaches past it, and the server logs it', async () => {
      const h = await harness({ backend });
      const lines: string[] = [];
      const logged = await buildApp(h.services, {
        logger: { level: 'error', stream: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) },
      });
      try {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push((await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: { i } })).json.receipt.receipt_id);
        }
        // The second obligation's receipt, and (a page of 2 ends on it) the fourth's.
        for (const id of [ids[1], ids[3]]) await rawSql(h, backend, 'DELETE FROM receipts WHERE tenant_id = $1 AND receipt_id = $2', [h.tenantId, id]);
        const kept = [ids[0], ids[2], ids[4]];

        const get = async (url: string, method: 'GET' | 'HEAD' = 'GET') => logged.inject({ method, url, headers: { authorization: `Bearer ${h.key}` } });
        const all = await get('/v1/obligations/open');
        assert.equal(all.statusCode, 200, all.body);
        assert.deepEqual((JSON.parse(all.body) as Page).open_obligations.map((r) => r.receipt_id), kept);
        assert.equal((await get('/v1/obligations/open', 'HEAD')).statusCode, 200);

        // Pages of 2 end on a missing one: the cursor still moves past it and the last obligation is reached.
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res = await get(`/v1/obligations/open?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          assert.equal(res.statusCode, 200, res.body);
          const p = JSON.parse(res.body) as Page;
          seen.push(...p.open_obligations.map((r) => r.receipt_id));
          cursor = p.cursor;
          pages++;
        } while (cursor !== null && pages < 10);
        assert.deepEqual(seen, kept);

        const logs = lines.map((l) => JSON.parse(l) as { level: number; msg: string; missing?: { receipt_id: string }[] });
        assert.ok(logs.length > 0, 'the damage is logged');
        for (const l of logs) {
          assert.match(l.msg, /quittance verify/);
          assert.ok(l.missing!.every((m) => m.receipt_id === ids[1] || m.receipt_id === ids[3]), JSON.stringify(l));
        }
        assert.ok(logs.some((l) => l.missing!.some((m) => m.receipt_id === ids[1])));

        // The decoded page says the same, for a program using the ledger directly.
        const page = await h.services.ledger.openObligations(h.tenantId, { limit: 10 });
        assert.deepEqual(page.items.map((r) => r.receipt_id), kept);
        assert.deepEqual(page.missing.map((m) => m.receipt_id), [ids[1], ids[3]]);
        assert.deepEqual((await h.services.store.openObligations(h.tenantId, { after_seq: 0, limit: 10 })).map((r) => r.receipt_id), kept);
      } finally {
        await logged.close();
        await h.close();
      }
    });
  });
}
