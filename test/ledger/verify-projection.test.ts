/**
 * `quittance verify` (Ledger.verify offline) holds the open-obligations projection to the chain: what
 * `GET /v1/obligations/open` lists must be exactly what the receipts leave open. A projection changed behind the
 * ledger's back (an obligation closed with no terminator, a closed one reopened, a row deleted) is reported with
 * the obligation's seq, though every receipt still hashes.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent, worker, artifact, type Harness } from '../helpers.js';
import { rawSql } from '../raw-sql.js';
import { checkOpenObligations } from '../../src/ledger/verify.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] verify: the open-obligations projection`, () => {
    let h: Harness;
    /** Receipts of a small story: two obligations stay open (one after an unlocatable success), one is closed. */
    let story: { open: { id: string; seq: number }; unlocatable: { id: string; seq: number }; closed: { id: string; seq: number } };
    const verify = () => h.services.ledger.verify(h.tenantId, undefined, { offline: true });
    const append = async (body: unknown) => {
      const r = await h.req('POST', '/v1/receipts', body);
      assert.ok(r.status === 201 || r.status === 202, JSON.stringify(r.json));
      return { id: r.json.receipt.receipt_id as string, seq: r.json.receipt.seq as number };
    };

    beforeEach(async () => {
      h = await harness({ backend });
      const open = await append({ type: 'task.assigned', from: agent, to: worker, body: { n: 1 } });
      const unlocatable = await append({ type: 'task.assigned', from: agent, to: worker, body: { n: 2 } });
      await append({ type: 'task.progress', from: worker, to: agent, parents: [open.id], body: { pct: 10 } });
      await append({ type: 'task.completed', from: worker, to: agent, parents: [unlocatable.id] }); // lenient: 202, closes nothing
      const closed = await append({ type: 'task.assigned', from: agent, to: worker, body: { n: 3 } });
      await append({ type: 'task.completed', from: worker, to: agent, parents: [closed.id], artifacts: [artifact] });
      story = { open, unlocatable, closed };
    });
    afterEach(async () => h.close());

    test('a projection that agrees with the chain verifies', async () => {
      const r = await verify();
      assert.equal(r.ok, true, r.reason);
      const listed = (await h.req('GET', '/v1/obligations/open')).json.open_obligations.map((o: { receipt_id: string }) => o.receipt_id);
      assert.deepEqual(listed, [story.open.id, story.unlocatable.id]);
    });

    test('an obligation closed in the projection with no terminator in the chain', async () => {
      await rawSql(h, backend, `UPDATE obligations SET closed_by = $1, closed_at = '2026-03-01T12:00:00.000Z' WHERE tenant_id = $2 AND receipt_id = $3`, [story.closed.id, h.tenantId, story.unlocatable.id]);
      const r = await verify();
      assert.equal(r.ok, false);
      assert.equal(r.first_bad_seq, story.unlocatable.seq);
      assert.match(r.reason!, /has the obligation closed, but no receipt in the chain closed it/);
    });

    test('a closed obligation reopened in the projection', async () => {
      await rawSql(h, backend, 'UPDATE obligations SET closed_by = NULL, closed_at = NULL WHERE tenant_id = $1 AND receipt_id = $2', [h.tenantId, story.closed.id]);
      const r = await verify();
      assert.equal(r.ok, false);
      assert.equal(r.first_bad_seq, story.closed.seq);
      assert.match(r.reason!, /lists an obligation that a receipt in the chain closed/);
    });

    test('an open obligation whose projection row is gone; the first difference in seq order is the one named', async () => {
      await rawSql(h, backend, 'DELETE FROM obligations WHERE tenant_id = $1 AND receipt_id = $2', [h.tenantId, story.unlocatable.id]);
      await rawSql(h, backend, 'UPDATE obligations SET closed_by = NULL, closed_at = NULL WHERE tenant_id = $1 AND receipt_id = $2', [h.tenantId, story.closed.id]);
      const r = await verify();
      assert.equal(r.ok, false);
      assert.equal(r.first_bad_seq, story.unlocatable.seq);
      assert.match(r.reason!, /has no row for an obligation the chain leaves open/);
    });

    test('an obligation closed after the head the check read (a server appending meanwhile) is no difference', async () => {
      // As the chain up to the open obligation's own seq leaves it; then it is closed by a receipt past that head.
      const closer = await append({ type: 'task.completed', from: worker, to: agent, parents: [story.open.id], artifacts: [artifact] });
      const headBefore = closer.seq - 1;
      const expected = new Map([[story.open.id, story.open.seq], [story.unlocatable.id, story.unlocatable.seq]]);
      assert.equal(await checkOpenObligations(h.services.store, h.tenantId, expected, headBefore), undefined);
      // Held to the head that includes the closer, the same expectation is wrong, and is reported.
      const late = await checkOpenObligations(h.services.store, h.tenantId, expected, closer.seq);
      assert.equal(late?.seq, story.open.seq);
      assert.equal((await verify()).ok, true);
    });
  });
}
