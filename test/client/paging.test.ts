import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { BACKENDS, harness, agent, worker, type Harness } from '../helpers.js';
import { QuittanceClient } from '../../src/client/index.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] client: paging loops`, () => {
    let h: Harness;
    let client: QuittanceClient;
    before(async () => {
      h = await harness({ backend });
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      client = new QuittanceClient({ url: `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`, key: h.key });
      for (let i = 0; i < 5; i++) {
        await client.append({ type: 'task.assigned', from: agent, to: worker, body: { i } });
        await client.createTask({ type: 'paged', payload: { i } });
      }
    });
    after(async () => h.close());

    test('a page loop may start from a null cursor and pass back whatever the answer carried', async () => {
      // The answers' cursor is string | null; sending null back (the first page, or in JavaScript) was `cursor=null`,
      // a 400 QUITTANCE_ERR_INVALID_CURSOR.
      const ids = async <T>(page: (cursor: string | null) => Promise<{ cursor: string | null; items: T[] }>, id: (x: T) => string) => {
        const out: string[] = [];
        let cursor: string | null = null;
        do {
          const p = await page(cursor);
          out.push(...p.items.map(id));
          cursor = p.cursor;
        } while (cursor !== null);
        return out;
      };
      const receipts = await ids(async (cursor) => {
        const p = await client.receipts({ cursor, limit: 3 });
        return { cursor: p.cursor, items: p.receipts };
      }, (r) => r.receipt_id);
      assert.deepEqual(receipts, (await client.receipts()).receipts.map((r) => r.receipt_id));
      assert.equal(receipts.length, 10);
      const open = await ids(async (cursor) => {
        const p = await client.openObligations({ cursor, limit: 4 });
        return { cursor: p.cursor, items: p.open_obligations };
      }, (r) => r.receipt_id);
      assert.equal(open.length, 10);
      const tasks = await ids(async (cursor) => {
        const p = await client.tasks({ type: 'paged', cursor, limit: 2 });
        return { cursor: p.cursor, items: p.tasks };
      }, (t) => t.task_id);
      assert.equal(tasks.length, 5);
      const anomalies = await client.anomalies({ cursor: null });
      assert.deepEqual(anomalies, { anomalies: [], cursor: null });
    });
  });
}
