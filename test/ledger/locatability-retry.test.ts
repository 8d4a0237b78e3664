/**
 * A success without locatability, resent as it was (a producer retrying after a lost answer), answers what it
 * answered the first time: 202 LOCATABILITY_MISSING with the same receipt and the same anomaly, nothing new
 * written, alone or in a batch, on every backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent, worker } from '../helpers.js';

for (const backend of BACKENDS) {
  test(`[${backend}] a resent success without locatability answers its first answer again, anomaly included`, async () => {
    const h = await harness({ backend });
    try {
      const ob = (await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, task_id: 'lr-1' })).json.receipt.receipt_id;
      const done = { type: 'task.completed', from: worker, to: agent, task_id: 'lr-1', parents: [ob], body: { summary: 'done' } };
      const first = await h.req('POST', '/v1/receipts', done);
      assert.equal(first.status, 202);
      assert.equal(first.json.code, 'LOCATABILITY_MISSING');
      assert.ok(first.json.anomaly, 'the first answer names the anomaly');
      const count = await h.services.store.countReceipts(h.tenantId);

      const again = await h.req('POST', '/v1/receipts', done);
      assert.equal(again.status, 202);
      assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
      assert.deepEqual(again.json.anomaly, first.json.anomaly);

      const batch = await h.req('POST', '/v1/receipts/batch', { receipts: [done] });
      assert.equal(batch.json.results[0].statusCode, 202);
      assert.deepEqual(batch.json.results[0].anomaly, first.json.anomaly);

      assert.equal(await h.services.store.countReceipts(h.tenantId), count);
      assert.equal((await h.req('GET', '/v1/anomalies?kind=success_without_locatability')).json.anomalies.length, 1);

      // Sent twice in one batch: the second answers as the first, from the same transaction.
      const twice = { ...done, body: { summary: 'twice' } };
      const both = (await h.req('POST', '/v1/receipts/batch', { receipts: [twice, twice] })).json.results;
      assert.deepEqual(both.map((r: { statusCode: number }) => r.statusCode), [202, 202]);
      assert.ok(both[0].anomaly);
      assert.deepEqual(both[1], both[0]);
      // A success naming no task, and its parent given twice (parents are a set): its retry finds its anomaly too.
      const ob2 = (await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker })).json.receipt.receipt_id;
      const bare = { type: 'task.completed', from: { ...worker, instance_id: 'w1-a' }, to: agent, parents: [ob2, ob2], body: {} };
      const bareFirst = await h.req('POST', '/v1/receipts', bare);
      assert.ok(bareFirst.json.anomaly);
      assert.deepEqual((await h.req('POST', '/v1/receipts', bare)).json.anomaly, bareFirst.json.anomaly);
      assert.equal((await h.req('GET', '/v1/ledger/verify')).json.ok, true);
    } finally {
      await h.close();
    }
  });
}
