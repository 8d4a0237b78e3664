/**
 * Single appends to one tenant that arrive together share one write (Ledger.append), on every backend. Sharing
 * must change nothing a caller sees: each append gets the answer it would get alone, in the order they were made,
 * a refusal writes nothing and leaves the others alone, and the chain verifies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, agent, worker } from '../helpers.js';
import { backing } from '../store/backing.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { AppendResult } from '../../src/ledger/append.js';
import { resolveConfig } from '../../src/config.js';
import { ManualClock } from '../../src/clock.js';
import { isQuittanceError } from '../../src/errors.js';
import type { ReceiptInput } from '../../src/ledger/types.js';

for (const backend of BACKENDS) {
  test(`[${backend}] concurrent single appends share writes and each gets its own answer`, async () => {
    const b = backing(backend);
    const store = await b.open();
    let writes = 0;
    const write = store.write.bind(store);
    store.write = (fn) => {
      writes++;
      return write(fn);
    };
    const ledger = new Ledger(store, resolveConfig(), new ManualClock('2026-03-01T12:00:00.000Z'));
    const tenant = 'tnt_single_appends';
    const other = 'tnt_single_appends_other';
    try {
      const progress = (await ledger.append(tenant, { type: 'task.progress', from: worker, to: agent, body: { pct: 1 } })).receipt;
      const obligation = (await ledger.append(tenant, { type: 'task.assigned', from: agent, to: worker, task_id: 'task-0' })).receipt;
      writes = 0;

      const assigned = (n: number): ReceiptInput => ({ type: 'task.assigned', from: agent, to: worker, task_id: `task-${n}`, body: { n } });
      const inputs: ReceiptInput[] = Array.from({ length: 40 }, (_, n) => assigned(n + 1));
      inputs[5] = { type: 'task.completed', from: worker, to: agent, parents: [progress.receipt_id], artifacts: [{ kind: 'blob', uri: 'blob:x' }] };
      inputs[9] = assigned(3); // the same content as inputs[2]: the stored receipt, nothing new
      inputs[12] = { ...assigned(100), idempotency_key: 'k-1' };
      inputs[20] = { ...assigned(200), idempotency_key: 'k-1' }; // the same key, other content: refused
      inputs[25] = { type: 'task.completed', from: worker, to: agent, parents: [obligation.receipt_id], artifacts: [{ kind: 'blob', uri: 'blob:y' }] };
      inputs[30] = { type: 'task.failed', from: worker, to: agent, parents: [obligation.receipt_id], body: { error: 'late' } }; // closed by [25]
      const answers = await Promise.allSettled([
        ...inputs.map((input) => ledger.append(tenant, input)),
        ledger.append(other, assigned(1)),
      ]);

      const code = (i: number) => {
        const a = answers[i]!;
        assert.equal(a.status, 'rejected', `append ${i} should be refused`);
        const e = (a as PromiseRejectedResult).reason;
        assert.ok(isQuittanceError(e), String(e));
        return e.code;
      };
      const ok = (i: number): AppendResult => {
        const a = answers[i]!;
        assert.equal(a.status, 'fulfilled', `append ${i}: ${a.status === 'rejected' ? String(a.reason) : ''}`);
        return (a as PromiseFulfilledResult<AppendResult>).value;
      };
      assert.equal(code(5), 'QUITTANCE_ERR_TERMINATOR_ILLEGAL');
      assert.equal(code(20), 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT');
      assert.equal(code(30), 'QUITTANCE_ERR_OBLIGATION_CLOSED');
      assert.equal(ok(9).status, 'duplicate');
      assert.equal(ok(9).receipt.receipt_id, ok(2).receipt.receipt_id);
      assert.equal(ok(25).status, 'created');
      assert.equal((await store.obligationState(tenant, obligation.receipt_id))?.closed_by, ok(25).receipt.receipt_id);

      // Created in the order they were made, one seq each, nothing for the refusals.
      const created = inputs.flatMap((_, i) => (i === 5 || i === 9 || i === 20 || i === 30 ? [] : [ok(i).receipt]));
      assert.deepEqual(created.map((r) => r.seq), created.map((_, i) => 3 + i));
      assert.equal(await store.countReceipts(tenant), 2 + created.length);
      assert.equal(ok(40).receipt.tenant_id, other);
      assert.equal(ok(40).receipt.seq, 1);

      // 41 appends to two tenants: the first write of each tenant takes one, the rest share the next ones.
      assert.ok(writes <= 6, `41 single appends ran in ${writes} writes`);
      assert.equal((await ledger.verify(tenant)).ok, true);
      assert.equal((await ledger.verify(other)).ok, true);
    } finally {
      await store.close();
      await b.cleanup();
    }
  });
}
