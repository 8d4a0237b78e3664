/**
 * Both backends hand pages of receipts over as one JSON text per row, built by the database (each backend's
 * rows.ts receiptJson). That text must parse to exactly the receipt the column-by-column decoder gives, keys in
 * the same order, for every shape a receipt can take.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BACKENDS, tempDir } from '../helpers.js';
import { openTestPostgresStore } from '../pg.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { resolveConfig } from '../../src/config.js';
import { ManualClock } from '../../src/clock.js';
import type { ReceiptInput } from '../../src/ledger/types.js';
import type { Receipt } from '../../src/ledger/types.js';

for (const backend of BACKENDS) test(`${backend}: receipts read as SQL-built JSON equal the column-decoded receipts, key order included`, async () => {
  const tmp = tempDir();
  const store = backend === 'postgres' ? await openTestPostgresStore() : openSqliteStore({ dataDir: tmp.dir });
  const clock = new ManualClock();
  const ledger = new Ledger(store, resolveConfig(), clock);
  const tenant = 'tnt_json_rows';
  try {
    const text = fc.string({ unit: 'binary', maxLength: 10 });
    const principal = fc.record({ kind: fc.constantFrom('agent', 'worker', 'human'), id: text.filter((s) => s.length > 0), instance_id: text }, { requiredKeys: ['kind', 'id'] });
    const input = fc.record({
      type: fc.constantFrom('task.assigned', 'task.progress', 'task.started'),
      from: principal, to: principal,
      task_id: text, lease_id: text, stamp_id: text, session_id: text, idempotency_key: fc.uuid(),
      body: fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
      artifacts: fc.array(fc.record({ kind: fc.constant('blob'), uri: text, size_bytes: fc.nat() }), { minLength: 1, maxLength: 2 }),
      delivery_proof: fc.record({ mode: fc.constant('store'), target: fc.dictionary(text, fc.jsonValue({ maxDepth: 2 })), status: fc.constant('succeeded'), at: text, proof: fc.dictionary(text, fc.string()) }),
    }, { requiredKeys: ['type', 'from', 'to'] });
    // Any code point but U+0000, which no receipt may hold (the API refuses it; PostgreSQL text cannot store it).
    const inputs = fc.sample(input.filter((r) => !JSON.stringify(r).includes('\\u0000')), 300) as ReceiptInput[];
    const written: Receipt[] = [];
    for (const r of inputs) {
      clock.advance(1);
      const out = await ledger.append(tenant, r);
      if (out.status === 'created') written.push(out.receipt);
    }
    assert.ok(written.length > 200, `wrote ${written.length} receipts`);
    // Some first deliveries, so delivered_at is present on part of them.
    await ledger.openObligations(tenant, { limit: 20 });

    const decoded = await store.write((tx) => tx.receiptsByIds(tenant, written.map((r) => r.receipt_id)));
    const listed = await store.listReceipts(tenant, { after_seq: 0, limit: 1000 });
    assert.equal(listed.length, decoded.length);
    for (let i = 0; i < listed.length; i++) {
      assert.deepStrictEqual(listed[i], decoded[i]);
      assert.equal(JSON.stringify(listed[i]), JSON.stringify(decoded[i]), 'same keys in the same order');
    }
    const open = await store.openObligations(tenant, { after_seq: 0, limit: 1000 });
    const byId = new Map(decoded.map((r) => [r.receipt_id, r]));
    assert.ok(open.length > 0);
    assert.ok(open.some((r) => r.delivered_at !== undefined));
    for (const r of open) assert.equal(JSON.stringify(r), JSON.stringify(byId.get(r.receipt_id)));
    // Read again: delivered receipts now come from the store's cache of delivered texts, the rest from the database.
    const again = await store.openObligations(tenant, { after_seq: 0, limit: 1000 });
    assert.deepStrictEqual(again.map((r) => JSON.stringify(r)), open.map((r) => JSON.stringify(r)));
  } finally {
    await store.close();
    tmp.cleanup();
  }
});
