import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent, worker, gate, artifact, type Harness } from '../helpers.js';
import { appendAnomaly } from '../../src/ledger/append.js';

for (const backend of BACKENDS) {
  const assigned = (extra: Record<string, unknown> = {}) => ({ type: 'task.assigned', from: agent, to: worker, task_id: 't1', body: { goal: 'summarise' }, ...extra });

  async function count(h: Harness): Promise<number> {
    return h.services.store.countReceipts(h.tenantId);
  }

  describe(`[${backend}] POST /v1/receipts: the append rules`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('a new receipt is chained: seq, ids, hashes assigned by the ledger', async () => {
      const r = await h.req('POST', '/v1/receipts', assigned({ task_id: 'chain-1' }));
      assert.equal(r.status, 201);
      assert.equal(r.json.status, 'created');
      const rec = r.json.receipt;
      assert.match(rec.receipt_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(rec.tenant_id, h.tenantId);
      assert.match(rec.hash, /^[0-9a-f]{64}$/);
      assert.match(rec.chain_hash, /^[0-9a-f]{64}$/);
      assert.equal(rec.created_at, '2026-03-01T12:00:00.000Z');
      assert.deepEqual(rec.parents, []);
      const next = await h.req('POST', '/v1/receipts', assigned({ task_id: 'chain-2' }));
      assert.equal(next.json.receipt.seq, rec.seq + 1);
      assert.equal(next.json.receipt.prev_hash, rec.chain_hash);
    });

    test('the tenant comes from the key, never from the body', async () => {
      const r = await h.req('POST', '/v1/receipts', { ...assigned(), tenant_id: 'someone-else' });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
    });

    test('idempotency: same content returns the stored receipt with 200 and writes nothing', async () => {
      const first = await h.req('POST', '/v1/receipts', assigned({ task_id: 'idem-1' }));
      const before = await count(h);
      const again = await h.req('POST', '/v1/receipts', assigned({ task_id: 'idem-1' }));
      assert.equal(again.status, 200);
      assert.equal(again.json.status, 'duplicate');
      assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
      assert.equal(await count(h), before);
    });

    test('parent order and [] vs omitted do not change the hash; different parents do', async () => {
      const p1 = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'po-1' }))).json.receipt.receipt_id;
      const p2 = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'po-2' }))).json.receipt.receipt_id;
      const ev = (parents: string[]) => ({ type: 'task.progress', from: worker, to: agent, parents, body: { pct: 10 } });
      const a = await h.req('POST', '/v1/receipts', ev([p1, p2]));
      const b = await h.req('POST', '/v1/receipts', ev([p2, p1, p2]));
      assert.equal(a.status, 201);
      assert.equal(b.status, 200);
      assert.equal(b.json.receipt.receipt_id, a.json.receipt.receipt_id);
      assert.deepEqual(a.json.receipt.parents, [p1, p2].sort());
      const c = await h.req('POST', '/v1/receipts', ev([p1]));
      assert.equal(c.status, 201);
      assert.notEqual(c.json.receipt.hash, a.json.receipt.hash);

      const noParents = { type: 'task.progress', from: worker, to: agent, body: { pct: 99 } };
      const d = await h.req('POST', '/v1/receipts', noParents);
      const e = await h.req('POST', '/v1/receipts', { ...noParents, parents: [] });
      assert.equal(d.status, 201);
      assert.equal(e.status, 200);
      assert.equal(e.json.receipt.hash, d.json.receipt.hash);
    });

    test('idempotency_key: same content → stored receipt; different content → 409, nothing written', async () => {
      const a = await h.req('POST', '/v1/receipts', assigned({ task_id: 'ik', idempotency_key: 'k-1' }));
      assert.equal(a.status, 201);
      const b = await h.req('POST', '/v1/receipts', assigned({ task_id: 'ik', idempotency_key: 'k-1' }));
      assert.equal(b.status, 200);
      const before = await count(h);
      const c = await h.req('POST', '/v1/receipts', assigned({ task_id: 'ik-other', idempotency_key: 'k-1' }));
      assert.equal(c.status, 409);
      assert.equal(c.json.code, 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT');
      assert.equal(c.json.receipt_id, a.json.receipt.receipt_id);
      assert.equal(await count(h), before);
    });

    test('a terminator must list a parent', async () => {
      const r = await h.req('POST', '/v1/receipts', { type: 'task.completed', from: worker, to: agent, artifacts: [artifact] });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'QUITTANCE_ERR_TERMINATOR_NEEDS_PARENT');
    });

    test('a parent must exist in the tenant', async () => {
      const r = await h.req('POST', '/v1/receipts', {
        type: 'task.completed', from: worker, to: agent, parents: ['0190a000-0000-7000-8000-000000000000'], artifacts: [artifact],
      });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'QUITTANCE_ERR_PARENT_NOT_FOUND');
      assert.equal(r.json.parent, '0190a000-0000-7000-8000-000000000000');
    });

    test('a terminator illegal for its parent type is refused', async () => {
      const ob = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'ill' }))).json.receipt.receipt_id;
      const progress = (await h.req('POST', '/v1/receipts', { type: 'task.progress', from: worker, to: agent, parents: [ob] })).json.receipt.receipt_id;
      const before = await count(h);
      const r = await h.req('POST', '/v1/receipts', { type: 'task.completed', from: worker, to: agent, parents: [progress], artifacts: [artifact] });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'QUITTANCE_ERR_TERMINATOR_ILLEGAL');
      assert.match(r.json.message, /task\.progress/);
      assert.equal(await count(h), before);
      const open = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: ob });
      assert.equal(open.json.open, true);
    });

    test('an obligation is closed exactly once; a terminator from a different principal is accepted', async () => {
      const ob = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'once' }))).json.receipt;
      assert.deepEqual(ob.to, worker);
      // Written by the gate, not by the worker the obligation is addressed to.
      const done = await h.req('POST', '/v1/receipts', { type: 'task.completed', from: gate, to: agent, parents: [ob.receipt_id], artifacts: [artifact] });
      assert.equal(done.status, 201);
      assert.equal(done.json.receipt.discharges, true);
      const check = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: ob.receipt_id, terminator_type: 'task.failed' });
      assert.equal(check.json.open, false);
      assert.equal(check.json.closed_by, done.json.receipt.receipt_id);
      assert.equal(check.json.would_close, false);
      const before = await count(h);
      const again = await h.req('POST', '/v1/receipts', { type: 'task.failed', from: worker, to: agent, parents: [ob.receipt_id], body: { error: 'late' } });
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 'QUITTANCE_ERR_OBLIGATION_CLOSED');
      assert.equal(again.json.closed_by, done.json.receipt.receipt_id);
      assert.equal(await count(h), before);
    });

    test('a non-terminating type listing a parent closes nothing', async () => {
      const ob = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'nonterm' }))).json.receipt.receipt_id;
      for (const type of ['task.accepted', 'task.started', 'task.progress', 'receipt.acknowledged']) {
        const r = await h.req('POST', '/v1/receipts', { type, from: worker, to: agent, parents: [ob] });
        assert.equal(r.status, 201, type);
        assert.equal(r.json.receipt.discharges, false);
      }
      const check = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: ob, terminator_type: 'task.completed' });
      assert.equal(check.json.open, true);
      assert.equal(check.json.would_close, true);
      assert.deepEqual(check.json.legal_terminators, ['task.completed', 'task.failed', 'task.canceled', 'task.escalated']);
    });

    test('a terminator closes every parent obligation it lists', async () => {
      const a = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'multi-a' }))).json.receipt.receipt_id;
      const b = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'multi-b' }))).json.receipt.receipt_id;
      const r = await h.req('POST', '/v1/receipts', { type: 'task.canceled', from: agent, to: worker, parents: [a, b] });
      assert.equal(r.status, 201);
      for (const id of [a, b]) assert.equal((await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: id })).json.open, false);
    });

    test('delivery_proof makes a success locatable', async () => {
      const ob = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'push' }))).json.receipt.receipt_id;
      const r = await h.req('POST', '/v1/receipts', {
        type: 'task.completed', from: worker, to: agent, parents: [ob],
        delivery_proof: { mode: 'push', target: { url: 'https://hooks.example/x' }, status: 'succeeded', at: '2026-03-01T12:00:00Z', proof: { http_status: 200, request_id: 'r-1' } },
      });
      assert.equal(r.status, 201);
      assert.equal(r.json.receipt.discharges, true);
    });

    test('unknown and engine-owned types are refused', async () => {
      const u = await h.req('POST', '/v1/receipts', { type: 'task.vanished', from: worker, to: agent });
      assert.equal(u.status, 422);
      assert.equal(u.json.code, 'QUITTANCE_ERR_UNKNOWN_RECEIPT_TYPE');
      const r = await h.req('POST', '/v1/receipts', { type: 'system.anomaly', from: worker, to: agent, body: { kind: 'chain_break' } });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'QUITTANCE_ERR_RECEIPT_TYPE_RESERVED');
    });

    test('schema violations are coded 400s', async () => {
      const r = await h.req('POST', '/v1/receipts', { type: 'task.assigned', to: worker });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error', 'message', 'statusCode']);
      const bad = await h.req('POST', '/v1/receipts', { ...assigned(), from: { kind: 'robot', id: 'x' } });
      assert.equal(bad.status, 400);
      const junk = await h.raw('POST', '/v1/receipts', '{"type": "task.assigned",');
      assert.equal(junk.status, 400);
      assert.equal(junk.json.code, 'QUITTANCE_ERR_INVALID_JSON');
    });
  });

  describe(`[${backend}] limits and duplicate keys write nothing`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('duplicate JSON keys anywhere → 400', async () => {
      const docs = [
        '{"type":"task.assigned","type":"task.completed","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"}}',
        '{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":{"outcome":"crashed","outcome":"completed"}}',
        '{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":{"list":[{"x":1},{"x":1,"\\u0078":2}]}}',
      ];
      for (const doc of docs) {
        const r = await h.raw('POST', '/v1/receipts', doc);
        assert.equal(r.status, 400, doc);
        assert.equal(r.json.code, 'QUITTANCE_ERR_DUPLICATE_JSON_KEY');
      }
      assert.equal(await count(h), 0);
    });

    // Hashing and schema validation recurse: 4000 levels overflowed the stack and answered 500 QUITTANCE_ERR_INTERNAL.
    test('a body nested deeper than limits.jsonDepthMax → 400 QUITTANCE_ERR_JSON_TOO_DEEP on every JSON route, nothing written', async () => {
      const before = await count(h);
      const deepObject = '{"a":'.repeat(4000) + '1' + '}'.repeat(4000);
      const deepArray = '['.repeat(4000) + ']'.repeat(4000);
      const cases: [string, string][] = [
        ['/v1/receipts', `{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":${deepObject}}`],
        ['/v1/receipts/batch', `{"receipts":[{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":${deepObject}}]}`],
        ['/v1/tasks', `{"type":"render","payload":${deepObject}}`],
        ['/v1/contracts', `{"id":"urn:x","type":${deepArray}}`],
        ['/v1/contracts/validate', deepArray],
      ];
      for (const [url, text] of cases) {
        const r = await h.raw('POST', url, text);
        assert.equal(r.status, 400, url);
        assert.equal(r.json.code, 'QUITTANCE_ERR_JSON_TOO_DEEP', url);
        assert.match(r.json.message, /deeper than 256 levels/);
      }
      assert.equal(await count(h), before);
      // At the limit it is an ordinary body.
      const ok = await h.raw('POST', '/v1/receipts', `{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":${'{"a":'.repeat(255)}1${'}'.repeat(255)}}`);
      assert.equal(ok.status, 201, JSON.stringify(ok.json));
    });

    // JSON.parse reads these as ±Infinity; canonical hashing refused them with a TypeError: a 500 (found by the fuzz test).
    test('a number beyond a float\'s range → 400 QUITTANCE_ERR_JSON_NUMBER_RANGE on every JSON route, nothing written', async () => {
      const before = await count(h);
      const huge = '1' + '0'.repeat(400);
      const cases: [string, string, string][] = [
        ['/v1/receipts', `{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":{"x":[1,{"y":1e400}]}}`, '/body/x/1/y'],
        ['/v1/receipts', `{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":{"a/b":-${huge}}}`, '/body/a~1b'],
        ['/v1/receipts/batch', `{"receipts":[{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":{"x":-1E+999}}]}`, '/receipts/0/body/x'],
        ['/v1/tasks', '{"type":"render","payload":{"page":1e400},"priority":1}', '/payload/page'],
        ['/v1/stamps', `{"subject":{"kind":"agent","id":"a"},"task_ref":"x","scope":[],"ttl_seconds":${huge}.5}`, '/ttl_seconds'],
        // One key or none: the duplicate-key scan's fast path, which does not look at numbers on the way.
        ['/v1/contracts/validate', '[1e400]', '/0'],
        ['/v1/tasks', '{"payload":1e309}', '/payload'],
      ];
      for (const [url, text, at] of cases) {
        const r = await h.raw('POST', url, text);
        assert.equal(r.status, 400, text);
        assert.equal(r.json.code, 'QUITTANCE_ERR_JSON_NUMBER_RANGE', text);
        assert.equal(r.json.message, `Request body has a number at ${at} beyond the range of a 64-bit float: it would read as infinity, which nothing can store. Send a string`);
      }
      assert.equal(await count(h), before);
      // The largest a float holds, exponents and long numbers inside strings, true and false: ordinary bodies.
      const ok = await h.raw('POST', '/v1/receipts', `{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":{"max":1.7976931348623157e308,"long":${'9'.repeat(308)},"tiny":1e-400,"s":"1e400 ${huge}","t":true,"f":false}}`);
      assert.equal(ok.status, 201, JSON.stringify(ok.json));
    });

    test('sibling objects may share key names', async () => {
      const r = await h.raw('POST', '/v1/receipts', '{"type":"task.assigned","from":{"kind":"agent","id":"a"},"to":{"kind":"worker","id":"w"},"body":{"a":{"x":1},"b":{"x":1}}}');
      assert.equal(r.status, 201);
    });

    test('an oversize body → 413 with the contracts message', async () => {
      const before = await count(h);
      const r = await h.req('POST', '/v1/receipts', assigned({ body: { text: 'x'.repeat(64 * 1024) } }));
      assert.equal(r.status, 413);
      assert.equal(r.json.code, 'QUITTANCE_ERR_BODY_TOO_LARGE');
      assert.match(r.json.message, /Receipt bodies are contracts, not chat messages/);
      // Just under the limit is fine: the limit is on canonical bytes, {"text":"..."} adds 11.
      const ok = await h.req('POST', '/v1/receipts', assigned({ body: { text: 'x'.repeat(64 * 1024 - 11) } }));
      assert.equal(ok.status, 201);
      assert.equal(await count(h), before + 1);
    });

    test('more than 10 parents or 100 artifacts → 422 with the contracts message', async () => {
      const before = await count(h);
      const parents = Array.from({ length: 11 }, (_, i) => `0190a000-0000-7000-8000-0000000000${10 + i}`);
      const p = await h.req('POST', '/v1/receipts', { type: 'task.progress', from: worker, to: agent, parents });
      assert.equal(p.status, 422);
      assert.equal(p.json.code, 'QUITTANCE_ERR_TOO_MANY_PARENTS');
      assert.match(p.json.message, /contracts, not chat/);
      const artifacts = Array.from({ length: 101 }, (_, i) => ({ kind: 'file', uri: `/out/${i}` }));
      const a = await h.req('POST', '/v1/receipts', { type: 'task.progress', from: worker, to: agent, artifacts });
      assert.equal(a.status, 422);
      assert.equal(a.json.code, 'QUITTANCE_ERR_TOO_MANY_ARTIFACTS');
      assert.equal(await count(h), before);
    });

    test('parents are a set: the limit counts distinct ids, so one parent listed 11 times is one parent', async () => {
      const ob = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'parents-set' }))).json.receipt.receipt_id;
      const r = await h.req('POST', '/v1/receipts', { type: 'task.progress', from: worker, to: agent, parents: Array(11).fill(ob) });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.deepEqual(r.json.receipt.parents, [ob]);
      const once = await h.req('POST', '/v1/receipts', { type: 'task.progress', from: worker, to: agent, parents: [ob] });
      assert.equal(once.status, 200);
      assert.equal(once.json.receipt.receipt_id, r.json.receipt.receipt_id);
    });

    test('a request over the HTTP limit → 413 before parsing', async () => {
      const r = await h.raw('POST', '/v1/receipts', JSON.stringify(assigned({ body: { text: 'x'.repeat(2 * 1024 * 1024) } })));
      assert.equal(r.status, 413);
      assert.equal(r.json.code, 'QUITTANCE_ERR_REQUEST_TOO_LARGE');
      assert.match(r.json.message, /limit of 1048576 bytes/);
    });
  });

  describe(`[${backend}] locatability`, () => {
    test('lenient: 202 LOCATABILITY_MISSING, anomaly present, obligation still open; a resend with artifacts closes it', async () => {
      const h = await harness({ backend });
      try {
        const ob = (await h.req('POST', '/v1/receipts', assigned())).json.receipt.receipt_id;
        const done = { type: 'task.completed', from: worker, to: agent, parents: [ob], body: { summary: 'done' } };
        const r = await h.req('POST', '/v1/receipts', done);
        assert.equal(r.status, 202);
        assert.equal(r.json.code, 'LOCATABILITY_MISSING');
        assert.equal(r.json.receipt.discharges, false);
        assert.equal(r.json.anomaly.type, 'system.anomaly');
        assert.equal(r.json.anomaly.body.kind, 'success_without_locatability');
        assert.deepEqual(r.json.anomaly.parents, [r.json.receipt.receipt_id]);

        const anomalies = await h.req('GET', '/v1/anomalies?kind=success_without_locatability');
        assert.deepEqual(anomalies.json.anomalies.map((a: { receipt_id: string }) => a.receipt_id), [r.json.anomaly.receipt_id]);
        const open = await h.req('GET', '/v1/obligations/open');
        assert.deepEqual(open.json.open_obligations.map((o: { receipt_id: string }) => o.receipt_id), [ob]);

        // The identical resend is idempotent and still says it discharged nothing; no second anomaly.
        const same = await h.req('POST', '/v1/receipts', done);
        assert.equal(same.status, 202);
        assert.equal(same.json.receipt.receipt_id, r.json.receipt.receipt_id);
        assert.equal((await h.req('GET', '/v1/anomalies')).json.anomalies.length, 1);

        const fixed = await h.req('POST', '/v1/receipts', { ...done, artifacts: [artifact] });
        assert.equal(fixed.status, 201);
        assert.equal((await h.req('GET', '/v1/obligations/open')).json.open_obligations.length, 0);
      } finally {
        await h.close();
      }
    });

    test('strict: 422, nothing stored', async () => {
      const h = await harness({ backend, config: { locatability: 'strict' } });
      try {
        const ob = (await h.req('POST', '/v1/receipts', assigned())).json.receipt.receipt_id;
        const before = await count(h);
        const r = await h.req('POST', '/v1/receipts', { type: 'task.completed', from: worker, to: agent, parents: [ob] });
        assert.equal(r.status, 422);
        assert.equal(r.json.code, 'QUITTANCE_ERR_LOCATABILITY_REQUIRED');
        assert.equal(await count(h), before);
        assert.equal((await h.req('GET', '/v1/anomalies')).json.anomalies.length, 0);
        assert.equal((await h.req('GET', '/v1/obligations/open')).json.open_obligations.length, 1);
      } finally {
        await h.close();
      }
    });
  });

  describe(`[${backend}] GET /v1/anomalies`, () => {
    test('?kind= pages through that kind in order; a rare kind among many anomalies costs a query or two, not one per anomaly', async () => {
      const h = await harness({ backend });
      try {
        const ob = (await h.req('POST', '/v1/receipts', assigned())).json.receipt.receipt_id;
        const unlocatable = Array.from({ length: 60 }, (_, i) => ({ type: 'task.completed', from: worker, to: agent, parents: [ob], body: { i } }));
        assert.ok((await h.req('POST', '/v1/receipts/batch', { receipts: unlocatable })).json.results.every((r: { statusCode: number }) => r.statusCode === 202));
        await h.req('POST', '/v1/tasks', { task_id: 'rare', type: 'rare' });
        const [lease] = (await h.req('POST', '/v1/leases/claim', { worker_id: 'w1' })).json.leases;
        assert.equal((await h.req('POST', '/v1/tasks/rare/progress', { lease_id: lease.lease_id, lease_token: 'not-the-token' })).status, 409);

        const all = (await h.req('GET', '/v1/anomalies?limit=1000')).json.anomalies as { receipt_id: string; body: { kind: string } }[];
        assert.equal(all.length, 61);
        const paged: string[] = [];
        let cursor: string | null = null;
        do {
          const page: { json: { anomalies: { receipt_id: string }[]; cursor: string | null } } =
            await h.req('GET', `/v1/anomalies?kind=success_without_locatability&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
          paged.push(...page.json.anomalies.map((a) => a.receipt_id));
          cursor = page.json.cursor;
        } while (cursor);
        assert.deepEqual(paged, all.filter((a) => a.body.kind === 'success_without_locatability').map((a) => a.receipt_id));

        const store = h.services.store;
        const list = store.listReceipts.bind(store);
        let queries = 0;
        store.listReceipts = async (...args) => (queries++, list(...args));
        const rare = await h.req('GET', '/v1/anomalies?kind=stale_lease_write&limit=1');
        assert.deepEqual(rare.json.anomalies.map((a: { receipt_id: string }) => a.receipt_id), [all[60]!.receipt_id]);
        assert.ok(queries <= 2, `${queries} queries for one page of one anomaly`);
      } finally {
        await h.close();
      }
    });
  });

  describe(`[${backend}] batch, reads and acknowledgements`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('batch: one call, a result per item, failures do not undo the others', async () => {
      const ob = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'b0' }))).json.receipt.receipt_id;
      const r = await h.req('POST', '/v1/receipts/batch', {
        receipts: [
          assigned({ task_id: 'b1' }),
          { type: 'task.completed', from: worker, to: agent, parents: ['0190a000-0000-7000-8000-000000000000'], artifacts: [artifact] },
          { type: 'task.completed', from: worker, to: agent, parents: [ob] },
          assigned({ task_id: 'b1' }),
          { type: 'nope', from: worker, to: agent },
        ],
      });
      assert.equal(r.status, 200);
      const codes = r.json.results.map((x: { statusCode: number }) => x.statusCode);
      assert.deepEqual(codes, [201, 422, 202, 200, 422]);
      assert.equal(r.json.results[1].error.code, 'QUITTANCE_ERR_PARENT_NOT_FOUND');
      assert.equal(r.json.results[2].code, 'LOCATABILITY_MISSING');
      assert.equal(r.json.results[3].receipt.receipt_id, r.json.results[0].receipt.receipt_id);
      assert.equal(r.json.results[4].error.code, 'QUITTANCE_ERR_UNKNOWN_RECEIPT_TYPE');
      assert.equal((await h.req('GET', '/v1/ledger/verify')).json.ok, true);
    });

    test('GET /v1/receipts filters by type, task, principal, since, and pages with a cursor', async () => {
      for (let i = 0; i < 5; i++) await h.req('POST', '/v1/receipts', assigned({ task_id: 'list', body: { i } }));
      await h.req('POST', '/v1/receipts', { type: 'task.progress', from: { kind: 'worker', id: 'w9' }, to: agent, task_id: 'list' });
      const byTask = await h.req('GET', '/v1/receipts?task_id=list');
      assert.equal(byTask.json.receipts.length, 6);
      const byType = await h.req('GET', '/v1/receipts?task_id=list&type=task.progress');
      assert.equal(byType.json.receipts.length, 1);
      const byPrincipal = await h.req('GET', '/v1/receipts?principal_kind=worker&principal_id=w9');
      assert.equal(byPrincipal.json.receipts.length, 1);
      const half = await h.req('GET', '/v1/receipts?principal_kind=worker');
      assert.equal(half.status, 400);

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { json: { receipts: { receipt_id: string }[]; cursor: string | null } } =
          await h.req('GET', `/v1/receipts?task_id=list&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.json.receipts.map((r) => r.receipt_id));
        cursor = page.json.cursor;
      } while (cursor);
      assert.equal(seen.length, 6);
      assert.equal(new Set(seen).size, 6);

      h.clock.advance(60_000);
      await h.req('POST', '/v1/receipts', assigned({ task_id: 'list', body: { late: true } }));
      const since = await h.req('GET', '/v1/receipts?task_id=list&since=2026-03-01T12:00:30Z');
      assert.equal(since.json.receipts.length, 1);
      assert.equal((await h.req('GET', '/v1/receipts?cursor=bogus')).json.code, 'QUITTANCE_ERR_INVALID_CURSOR');
    });

    // created_at is stored as UTC text with milliseconds and compared as text: `since` used to be compared as sent,
    // so 13:00:00Z sorted after 13:00:00.250Z ('Z' > '.') and a receipt made a quarter second later was left out.
    test('GET /v1/receipts?since= means the instant, however RFC 3339 writes it', async () => {
      h.clock.set(Date.parse('2026-03-02T13:00:00.250Z'));
      await h.req('POST', '/v1/receipts', assigned({ task_id: 'since-forms' }));
      const found = async (since: string) => {
        const r = await h.req('GET', `/v1/receipts?task_id=since-forms&since=${encodeURIComponent(since)}`);
        assert.equal(r.status, 200, JSON.stringify(r.json));
        return r.json.receipts.length;
      };
      for (const at of ['2026-03-02T13:00:00Z', '2026-03-02t13:00:00z', '2026-03-02T14:00:00+01:00', '2026-03-02T08:00:00.25-05:00', '2026-03-02T13:00:00.250Z', '2026-03-02T13:00:00.2500000Z']) {
        assert.equal(await found(at), 1, `since ${at}: at or before the receipt`);
      }
      for (const at of ['2026-03-02T13:00:00.2500001Z', '2026-03-02T13:00:00.251Z', '2026-03-02T12:00:00.251-01:00']) {
        assert.equal(await found(at), 0, `since ${at}: after the receipt`);
      }
      // A '+' sent unencoded (curl "…?since=…+01:00") arrives as a space; it was a 400 "must match format date-time".
      for (const [at, n] of [['2026-03-02T14:00:00.250+01:00', 1], ['2026-03-02T14:00:00.251+01:00', 0], ['2026-03-02 14:00:00+01:00', 1]] as const) {
        const r = await h.req('GET', `/v1/receipts?task_id=since-forms&since=${at}`);
        assert.equal(r.status, 200, `since ${at}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.receipts.length, n, `since ${at} sent with a bare +`);
      }
      // A leap second is RFC 3339 but no instant JavaScript (or the ledger's timestamps) can name, and an offset can
      // carry a valid date-time out of the years the ledger's form holds: a coded 400 that says what is accepted
      // (it said "must be an RFC 3339 date-time", which they are).
      for (const at of ['2026-06-30T23:59:60Z', '9999-12-31T23:59:59-01:00', '0000-01-01T00:30:00+01:00', '9999-12-31T23:59:59.9999Z']) {
        const r = await h.req('GET', `/v1/receipts?since=${encodeURIComponent(at)}`);
        assert.equal(r.status, 400, at);
        assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
        assert.ok(r.json.message.includes('from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z (UTC), without a leap second'), `${at}: ${r.json.message}`);
        assert.ok(r.json.message.includes(JSON.stringify(at)), r.json.message);
      }
      assert.equal(await found('0000-01-01T00:00:00Z'), 1, 'the earliest accepted since');
      assert.equal(await found('9999-12-31T23:59:59.999Z'), 0, 'the latest accepted since');
    });

    test('GET /v1/receipts/{id}: the receipt, or a coded 404', async () => {
      const r = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'one' }))).json.receipt;
      const got = await h.req('GET', `/v1/receipts/${r.receipt_id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.json.receipt, r);
      const missing = await h.req('GET', '/v1/receipts/0190a000-0000-7000-8000-000000000000');
      assert.equal(missing.status, 404);
      assert.equal(missing.json.code, 'QUITTANCE_ERR_RECEIPT_NOT_FOUND');
    });

    test('ack appends receipt.acknowledged answering the receipt, addressed to its sender', async () => {
      const r = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'ack' }))).json.receipt;
      const ack = await h.req('POST', `/v1/receipts/${r.receipt_id}/ack`, { from: worker });
      assert.equal(ack.status, 201);
      assert.equal(ack.json.receipt.type, 'receipt.acknowledged');
      assert.deepEqual(ack.json.receipt.parents, [r.receipt_id]);
      assert.deepEqual(ack.json.receipt.to, agent);
      assert.equal((await h.req('POST', `/v1/receipts/${r.receipt_id}/ack`, { from: worker })).status, 200);
      assert.equal((await h.req('POST', '/v1/receipts/0190a000-0000-7000-8000-000000000000/ack')).status, 404);
    });

    test('unknown routes answer a coded 404', async () => {
      const r = await h.req('GET', '/v1/nothing-here');
      assert.equal(r.status, 404);
      assert.equal(r.json.code, 'QUITTANCE_ERR_ROUTE_NOT_FOUND');
    });

    test('a route asked with a method it does not take answers a coded 405 with Allow, and writes nothing', async () => {
      const before = await h.services.store.chainHeadOf(h.tenantId);
      const cases: [string, string, string][] = [
        ['DELETE', '/v1/receipts', 'GET, HEAD, POST'],
        ['PUT', '/v1/receipts/0190a000-0000-7000-8000-000000000000', 'GET, HEAD'],
        ['GET', '/v1/receipts/batch', 'GET, HEAD, POST'], // /v1/receipts/{id} takes GET: this is a 404 of the receipt
        ['GET', '/v1/tasks/t-1/complete', 'POST'],
        ['PATCH', '/v1/capabilities/urn:x/planes/runtime', 'POST'],
        ['POST', '/v1/health', 'GET, HEAD'],
      ];
      for (const [method, url, allow] of cases) {
        const r = await h.req(method, url, method === 'GET' || method === 'HEAD' ? undefined : {});
        if (allow.split(', ').includes(method)) {
          assert.equal(r.status, 404, `${method} ${url}`);
          assert.equal(r.json.code, 'QUITTANCE_ERR_RECEIPT_NOT_FOUND');
          continue;
        }
        assert.equal(r.status, 405, `${method} ${url}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.code, 'QUITTANCE_ERR_METHOD_NOT_ALLOWED');
        assert.equal(r.headers['allow'], allow, `${method} ${url}`);
        assert.ok(r.json.message.includes(allow), r.json.message);
      }
      // A path the API does not have is still a 404, whatever the method.
      assert.equal((await h.req('DELETE', '/v1/nothing-here')).status, 404);
      assert.deepEqual(await h.services.store.chainHeadOf(h.tenantId), before);
    });

    // Refused by Fastify before routing, where setErrorHandler does not reach: they used to leave as FST_ERR_* bodies.
    test('a path that does not percent-decode, or an overlong path parameter, answers a coded 4xx and writes nothing', async () => {
      const r = (await h.req('POST', '/v1/receipts', assigned({ task_id: 'bad-url' }))).json.receipt;
      const before = await h.services.store.chainHeadOf(h.tenantId);
      for (const url of ['/v1/receipts/%zz', '/v1/receipts/%ED%A0%80', `/v1/receipts/${r.receipt_id}%/ack`]) {
        const bad = await h.req(url.endsWith('/ack') ? 'POST' : 'GET', url, url.endsWith('/ack') ? { from: worker } : undefined);
        assert.equal(bad.status, 400, url);
        assert.deepEqual(Object.keys(bad.json).sort(), ['code', 'error', 'message', 'statusCode']);
        assert.equal(bad.json.code, 'QUITTANCE_ERR_BAD_URL');
      }
      const long = await h.req('POST', `/v1/receipts/${'x'.repeat(2049)}/ack`, { from: worker });
      assert.equal(long.status, 414);
      assert.equal(long.json.code, 'QUITTANCE_ERR_PATH_PARAMETER_TOO_LONG');
      assert.equal(long.json.error, 'URI Too Long');
      assert.match(long.json.message, /over 2048 characters$/);
      // Up to the router's limit the route decides: an id that long is simply not found.
      assert.equal((await h.req('POST', `/v1/receipts/${'x'.repeat(2048)}/ack`, { from: worker })).json.code, 'QUITTANCE_ERR_RECEIPT_NOT_FOUND');
      assert.deepEqual(await h.services.store.chainHeadOf(h.tenantId), before);
    });

    test('GET /v1/anomalies?kind= scanning many anomalies of other kinds leaves the server its turns', async () => {
      // The kind is in the body: the scan pages through every anomaly. SQLite reads are synchronous, so without a
      // turn for the event loop between pages, that scan held every other request until it ended.
      const t = await h.newTenant('anomaly-scan');
      await h.services.store.write(async (tx) => {
        // Over three of the scan's pages (it reads obligations.pageSizeMax, 1000, a query when a kind is asked).
        for (let i = 0; i < 3000; i++) await appendAnomaly(tx, h.services.ledger.ctx, t.tenantId, 'stale_lease_write', { body: { i } });
        await appendAnomaly(tx, h.services.ledger.ctx, t.tenantId, 'chain_break', { body: {} });
      });
      let turns = 0;
      let scanning = true;
      const count = () => {
        if (!scanning) return;
        turns++;
        setImmediate(count);
      };
      setImmediate(count);
      const page = await h.services.ledger.anomalies(t.tenantId, { kind: 'chain_break', limit: 3 });
      scanning = false;
      assert.deepEqual(page.items.map((r) => r.body['kind']), ['chain_break']);
      // Four pages: a turn after each of the first three (PostgreSQL's reads give more).
      assert.ok(turns >= 3, `the event loop had ${turns} turns during a scan of four pages`);
    });
  });
}
