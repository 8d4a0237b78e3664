/**
 * A JavaScript string may hold an unpaired UTF-16 surrogate; UTF-8, and so neither backend, can. A receipt field
 * stored as text with one in it read back with U+FFFD instead, no longer matched its hash, and the tenant's chain
 * failed verification. The HTTP layer refuses such strings in any body (test/server/nul.test.ts); the ledger itself
 * refuses them in every field it stores as text, whoever calls it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent } from '../helpers.js';
import { isQuittanceError } from '../../src/errors.js';
import type { ReceiptInput } from '../../src/ledger/types.js';

const base: ReceiptInput = { type: 'task.assigned', from: agent, to: { kind: 'worker', id: 'w' }, body: {} };

for (const backend of BACKENDS) {
  describe(`[${backend}] unpaired surrogates in process`, () => {
    test('refused in every field stored as text, with where; nothing written', async () => {
      const h = await harness({ backend });
      try {
        const cases: [ReceiptInput, string][] = [
          [{ ...base, task_id: 'task-\ud800' }, 'task_id'],
          [{ ...base, from: { kind: 'agent', id: '\udfffa' } }, 'from/id'],
          [{ ...base, to: { kind: 'worker', id: 'w', instance_id: 'i\udbff' } }, 'to/instance_id'],
          [{ ...base, idempotency_key: 'k\udc00' }, 'idempotency_key'],
          [{ ...base, session_id: 's\ud83d' }, 'session_id'],
        ];
        for (const [input, at] of cases) {
          await assert.rejects(h.services.ledger.append(h.tenantId, input), (e: unknown) => isQuittanceError(e) && e.code === 'QUITTANCE_ERR_UNPAIRED_SURROGATE' && e.message.includes(` at ${at}:`));
        }
        const [batch] = await h.services.ledger.appendBatch(h.tenantId, [{ ...base, stamp_id: 'st\ud800' }]);
        assert.equal(!batch!.ok && batch!.error.code, 'QUITTANCE_ERR_UNPAIRED_SURROGATE');
        assert.equal(await h.services.store.countReceipts(h.tenantId), 0);
      } finally {
        await h.close();
      }
    });

    test('in a body (stored as canonical text, where it is an escape) and in pairs: stored as hashed, the chain verifies', async () => {
      const h = await harness({ backend });
      try {
        const r = await h.services.ledger.append(h.tenantId, { ...base, task_id: 'pair-\u{1F600}', body: { lone: 'x\ud800', key: { 'k\udc00': 1 } } });
        assert.equal(r.status, 'created');
        const stored = await h.services.ledger.receipt(h.tenantId, r.receipt.receipt_id);
        assert.equal(stored.task_id, 'pair-\u{1F600}');
        assert.deepEqual(stored.body, { lone: 'x\ud800', key: { 'k\udc00': 1 } });
        const check = await h.services.ledger.verify(h.tenantId);
        assert.equal(check.ok, true, JSON.stringify(check));
      } finally {
        await h.close();
      }
    });
  });
}
