/**
 * GET /v1/ledger/verify on a ledger that is being written to: the check covers the chain up to the head it read
 * first, so receipts committed while it pages through the chain are not mistaken for a broken chain.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent } from '../helpers.js';
import type { ReceiptInput } from '../../src/ledger/types.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] verifying a live ledger`, () => {
    test('a receipt committed between reading the head and reading the chain is left to the next check', async () => {
      const h = await harness({ backend });
      try {
        const one = (n: number): ReceiptInput => ({ type: 'task.assigned', from: agent, to: { kind: 'worker', id: 'w' }, body: { n } });
        for (let i = 0; i < 3; i++) await h.services.ledger.append(h.tenantId, one(i));
        const store = h.services.store;
        const readHead = store.chainHeadOf.bind(store);
        let late = 0;
        // The head is read, then another writer commits before the chain is read.
        store.chainHeadOf = async (tenantId: string) => {
          const head = await readHead(tenantId);
          await h.services.ledger.append(h.tenantId, one(100 + late++));
          return head;
        };
        try {
          const check = await h.services.ledger.verify(h.tenantId);
          assert.deepEqual({ ok: check.ok, receipts: check.receipts, head_seq: check.head_seq }, { ok: true, receipts: 3, head_seq: 3 }, JSON.stringify(check));
          // quittance verify (offline) runs beside live servers too: a receipt one committed meanwhile, which the head
          // has reached when read again, is no defect there either (it was: every check beside a busy server failed).
          const offline = await h.services.ledger.verify(h.tenantId, undefined, { offline: true });
          assert.deepEqual({ ok: offline.ok, receipts: offline.receipts, head_seq: offline.head_seq }, { ok: true, receipts: 4, head_seq: 4 }, JSON.stringify(offline));
        } finally {
          store.chainHeadOf = readHead;
        }
        const next = await h.services.ledger.verify(h.tenantId);
        assert.deepEqual({ ok: next.ok, receipts: next.receipts }, { ok: true, receipts: 6 });

        // A stored head that stays behind a receipt (rewound, or the receipt written outside the ledger): offline, a defect.
        const last = await readHead(h.tenantId);
        const [previous] = await store.chainSegment(h.tenantId, last.seq - 1, 1);
        store.chainHeadOf = async () => ({ ...last, seq: last.seq - 1, chain_hash: previous!.receipt!.chain_hash });
        try {
          const rewound = await h.services.ledger.verify(h.tenantId, undefined, { offline: true });
          assert.deepEqual({ ok: rewound.ok, first_bad_seq: rewound.first_bad_seq }, { ok: false, first_bad_seq: last.seq }, JSON.stringify(rewound));
        } finally {
          store.chainHeadOf = readHead;
        }
      } finally {
        await h.close();
      }
    });

    test('verify while batches keep committing: every check passes, each covers at least what was there before it', async () => {
      // Small segments, so a check takes many reads and appends commit between them.
      const h = await harness({ backend });
      try {
        let n = 0;
        let stop = false;
        const batch = (): ReceiptInput[] => Array.from({ length: 50 }, () => ({ type: 'task.assigned', from: agent, to: { kind: 'worker' as const, id: `w${n % 7}` }, body: { n: n++ } }));
        await h.services.ledger.appendBatch(h.tenantId, batch());
        const writers = Array.from({ length: 4 }, async () => {
          // Bounded: a check now lets batches commit between its segments, and a chain that outgrew every check
          // by a batch per segment would make each next check longer than the last.
          while (!stop && n < 3000) await h.services.ledger.appendBatch(h.tenantId, batch());
        });
        try {
          for (let i = 0; i < 15; i++) {
            const before = (await h.services.store.chainHeadOf(h.tenantId)).seq;
            const check = await h.services.ledger.verify(h.tenantId, undefined, { segment: 20 });
            assert.equal(check.ok, true, JSON.stringify(check));
            assert.ok(check.head_seq >= before && check.receipts === check.head_seq, JSON.stringify({ before, check }));
          }
        } finally {
          stop = true;
          await Promise.all(writers);
        }
        const final = await h.services.ledger.verify(h.tenantId);
        assert.equal(final.ok, true);
        assert.equal(final.receipts, n);
      } finally {
        await h.close();
      }
    });

    test('a long check leaves the server its turns: the event loop runs between its segments', async () => {
      // SQLite reads are synchronous: without a turn for the event loop between segments, a check of a long chain
      // held every other request (a worker's lease renewal, a claim, an append) until it had re-hashed everything.
      const h = await harness({ backend });
      try {
        const one = (n: number): ReceiptInput => ({ type: 'task.assigned', from: agent, to: { kind: 'worker', id: 'w' }, body: { n } });
        await h.services.ledger.appendBatch(h.tenantId, Array.from({ length: 400 }, (_, n) => one(n)));
        let turns = 0;
        let checking = true;
        const count = () => {
          if (!checking) return;
          turns++;
          setImmediate(count);
        };
        setImmediate(count);
        const check = await h.services.ledger.verify(h.tenantId, undefined, { segment: 4 });
        checking = false;
        assert.deepEqual({ ok: check.ok, receipts: check.receipts }, { ok: true, receipts: 400 });
        // 100 segments: a turn after each (PostgreSQL's reads give more).
        assert.ok(turns >= 90, `the event loop had ${turns} turns during a check of 100 segments`);
      } finally {
        await h.close();
      }
    });
  });
}
