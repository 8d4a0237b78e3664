/**
 * The plain client reads what the stamp routes serve (a stamp with its receipts, the investigations list), and
 * ack() passes what the ack route takes: who acknowledges and what the acknowledgement says.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { BACKENDS, harness, agent, worker, type Harness } from '../helpers.js';
import { QuittanceClient, QuittanceClientError } from '../../src/client/index.js';
import { mint } from '../stamps/helpers.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] client: stamps, investigations and ack`, () => {
    let h: Harness;
    let client: QuittanceClient;
    before(async () => {
      h = await harness({ backend });
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      client = new QuittanceClient({ url: `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`, key: h.key });
    });
    after(async () => h.close());

    test('stamp() reads a stamp and pages its receipts; investigations() lists the ambiguous ones', async () => {
      const m = await mint(h, { ttl_seconds: 5, task_ref: 'run-9' });
      for (const action of ['fs.read', 'fs.write']) {
        assert.equal((await h.req('POST', `/v1/stamps/${m.stamp_id}/events`, { action, outcome: 'executed' })).status, 201);
      }
      const s = await client.stamp(m.stamp_id);
      assert.equal(s.stamp.stamp_id, m.stamp_id);
      assert.equal(s.stamp.state, 'active');
      assert.equal(s.stamp.task_ref, 'run-9');
      assert.deepEqual(s.history.map((r) => r.type), ['stamp.minted', 'stamp.event', 'stamp.event']);
      const first = await client.stamp(m.stamp_id, { limit: 2 });
      assert.equal(first.history.length, 2);
      assert.ok(first.cursor);
      const rest = await client.stamp(m.stamp_id, { cursor: first.cursor, limit: 2 });
      assert.deepEqual([...first.history, ...rest.history].map((r) => r.receipt_id), s.history.map((r) => r.receipt_id));
      await assert.rejects(client.stamp('stp_missing'), (e: unknown) => e instanceof QuittanceClientError && e.code === 'QUITTANCE_ERR_STAMP_NOT_FOUND');

      assert.deepEqual((await client.investigations()).investigations, []);
      h.clock.advance(5000);
      assert.equal(await h.services.stamps.sweepStamps(), 1);
      const inv = await client.investigations({ cursor: null, limit: 10 });
      assert.equal(inv.cursor, null);
      assert.deepEqual(inv.investigations.map((i) => i.stamp.stamp_id), [m.stamp_id]);
      assert.equal(inv.investigations[0]!.stamp.state, 'ambiguous');
      assert.deepEqual(inv.investigations[0]!.last_events.map((r) => r.type), ['stamp.event', 'stamp.event', 'stamp.minted']);
      assert.equal((await client.stamp(m.stamp_id)).stamp.state, 'ambiguous');
    });

    test('ack() sends who acknowledges and what the acknowledgement says', async () => {
      const a = await client.append({ type: 'task.assigned', from: agent, to: worker, body: { n: 1 } });
      const ack = await client.ack(a.receipt.receipt_id, worker, { note: 'seen', at_step: 3 });
      assert.equal(ack.status, 'created');
      assert.equal(ack.receipt.type, 'receipt.acknowledged');
      assert.deepEqual(ack.receipt.from, worker);
      assert.deepEqual(ack.receipt.body, { note: 'seen', at_step: 3 });
      assert.deepEqual(ack.receipt.parents, [a.receipt.receipt_id]);
      // Without either: the API key acknowledges, with an empty body.
      const plain = await client.ack(a.receipt.receipt_id);
      assert.equal(plain.receipt.from.kind, 'service');
      assert.deepEqual(plain.receipt.body, {});
    });
  });
}
