import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent, worker, artifact, type Harness } from '../helpers.js';

for (const backend of BACKENDS) {
  type Page = { open_obligations: { receipt_id: string; delivered_at?: string; to: { id: string } }[]; cursor: string | null };

  describe(`[${backend}] GET /v1/obligations/open`, () => {
    let h: Harness;
    const ids: string[] = [];
    before(async () => {
      h = await harness({ backend });
      for (let i = 0; i < 25; i++) {
        const to = i % 5 === 0 ? { kind: 'worker', id: 'w-special' } : worker;
        ids.push((await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to, task_id: `o${i}` })).json.receipt.receipt_id);
      }
      // Close three of them; noise receipts that are not obligations.
      for (const id of [ids[1], ids[2], ids[3]]) {
        await h.req('POST', '/v1/receipts', { type: 'task.completed', from: worker, to: agent, parents: [id], artifacts: [artifact] });
      }
      await h.req('POST', '/v1/receipts', { type: 'task.progress', from: worker, to: agent, parents: [ids[4]] });
    });
    after(async () => h.close());

    test('the answer has exactly two keys: open_obligations and cursor', async () => {
      const r = await h.req('GET', '/v1/obligations/open');
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.json).sort(), ['cursor', 'open_obligations']);
      assert.ok(Array.isArray(r.json.open_obligations));
      const paged = await h.req('GET', '/v1/obligations/open?limit=3');
      assert.deepEqual(Object.keys(paged.json).sort(), ['cursor', 'open_obligations']);
      const filtered = await h.req('GET', '/v1/obligations/open?principal_kind=worker&principal_id=w-special');
      assert.deepEqual(Object.keys(filtered.json).sort(), ['cursor', 'open_obligations']);
    });

    test('cursor paging returns every open obligation exactly once, oldest first', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: { json: Page } = await h.req('GET', `/v1/obligations/open?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...r.json.open_obligations.map((o) => o.receipt_id));
        cursor = r.json.cursor;
        pages++;
      } while (cursor);
      const expected = ids.filter((_, i) => ![1, 2, 3].includes(i));
      assert.deepEqual(seen, expected);
      assert.equal(pages, Math.ceil(expected.length / 4) + (expected.length % 4 === 0 ? 1 : 0));
    });

    test('filters by addressee', async () => {
      const r = await h.req('GET', '/v1/obligations/open?principal_kind=worker&principal_id=w-special');
      assert.deepEqual(r.json.open_obligations.map((o: { receipt_id: string }) => o.receipt_id), [0, 5, 10, 15, 20].map((i) => ids[i]));
    });

    test('fetching changes nothing but delivered_at (telemetry, set once)', async () => {
      const first: Page = (await h.req('GET', '/v1/obligations/open?limit=1000')).json;
      const stamp = first.open_obligations[0]!.delivered_at;
      assert.ok(stamp, 'delivered_at is set when first served');
      h.clock.advance(5_000);
      for (let i = 0; i < 3; i++) {
        const again: Page = (await h.req('GET', '/v1/obligations/open?limit=1000')).json;
        assert.equal(again.open_obligations.length, first.open_obligations.length, 'obligations stay open no matter how often fetched');
        assert.equal(again.open_obligations[0]!.delivered_at, stamp, 'delivered_at is set only the first time');
      }
      const got = await h.req('GET', `/v1/receipts/${first.open_obligations[0]!.receipt_id}`);
      assert.equal(got.json.receipt.delivered_at, stamp);
      // delivered_at is not part of the hash: the chain still verifies.
      assert.equal((await h.req('GET', '/v1/ledger/verify')).json.ok, true);
    });

    test('GET /v1/bootstrap is a deprecated alias with the same body', async () => {
      const a = await h.req('GET', '/v1/obligations/open?limit=7');
      const b = await h.req('GET', '/v1/bootstrap?limit=7');
      assert.equal(b.status, 200);
      assert.equal(b.headers['deprecation'], 'true');
      assert.deepEqual(b.json, a.json);
    });

    test('HEAD writes nothing: delivered_at stays unset until a GET serves the obligation', async () => {
      const h2 = await harness({ backend });
      try {
        const id = (await h2.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, task_id: 'head' })).json.receipt.receipt_id;
        const get = () => h2.app.inject({ method: 'GET', url: '/v1/obligations/open', headers: { authorization: `Bearer ${h2.key}` } });
        for (const url of ['/v1/obligations/open', '/v1/bootstrap']) {
          const head = await h2.app.inject({ method: 'HEAD', url, headers: { authorization: `Bearer ${h2.key}` } });
          assert.equal(head.statusCode, 200, url);
          assert.equal(head.body, '', url);
          assert.equal((await h2.req('GET', `/v1/receipts/${id}`)).json.receipt.delivered_at, undefined, `HEAD ${url} stamped delivered_at`);
        }
        // HEAD announces the length a GET would send at that moment (the first delivery's stamp included).
        const head = await h2.app.inject({ method: 'HEAD', url: '/v1/obligations/open', headers: { authorization: `Bearer ${h2.key}` } });
        const first = await get();
        assert.equal(head.headers['content-length'], first.headers['content-length']);
        assert.ok(JSON.parse(first.body).open_obligations[0].delivered_at, 'the first GET stamps delivered_at');
      } finally {
        await h2.close();
      }
    });

    test('check-terminator on a missing id is a coded 404', async () => {
      const r = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: 'nope' });
      assert.equal(r.status, 404);
      assert.equal(r.json.code, 'QUITTANCE_ERR_RECEIPT_NOT_FOUND');
    });
  });

  describe(`[${backend}] tenant isolation and credentials`, () => {
    let h: Harness;
    let b: { tenantId: string; key: string };
    let aReceipt: { receipt_id: string };
    before(async () => {
      h = await harness({ backend });
      b = await h.newTenant('b');
      aReceipt = (await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, task_id: 'secret' })).json.receipt;
    });
    after(async () => h.close());

    test("tenant B sees none of tenant A's receipts", async () => {
      assert.equal((await h.req('GET', `/v1/receipts/${aReceipt.receipt_id}`, undefined, b.key)).status, 404);
      assert.deepEqual((await h.req('GET', '/v1/receipts', undefined, b.key)).json.receipts, []);
      assert.deepEqual((await h.req('GET', '/v1/obligations/open', undefined, b.key)).json.open_obligations, []);
      assert.equal((await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: aReceipt.receipt_id }, b.key)).status, 404);
    });

    test("tenant B cannot use A's receipts as parents: reported exactly like a missing id", async () => {
      const missing = '0190a000-0000-7000-8000-000000000000';
      const foreign = await h.req('POST', '/v1/receipts', { type: 'task.completed', from: worker, to: agent, parents: [aReceipt.receipt_id], artifacts: [artifact] }, b.key);
      const absent = await h.req('POST', '/v1/receipts', { type: 'task.completed', from: worker, to: agent, parents: [missing], artifacts: [artifact] }, b.key);
      assert.equal(foreign.status, 422);
      assert.equal(foreign.json.code, absent.json.code);
      assert.equal(foreign.json.message.replace(aReceipt.receipt_id, 'X'), absent.json.message.replace(missing, 'X'));
      const check = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: aReceipt.receipt_id });
      assert.equal(check.json.open, true, "A's obligation is untouched");
    });

    test("tenant B cannot ack A's receipts", async () => {
      const r = await h.req('POST', `/v1/receipts/${aReceipt.receipt_id}/ack`, { from: worker }, b.key);
      assert.equal(r.status, 404);
      assert.equal(r.json.code, 'QUITTANCE_ERR_RECEIPT_NOT_FOUND');
    });

    test('the same content in two tenants is two receipts in two chains', async () => {
      const body = { type: 'task.assigned', from: agent, to: worker, task_id: 'shared-name' };
      const ra = await h.req('POST', '/v1/receipts', body);
      const rb = await h.req('POST', '/v1/receipts', body, b.key);
      assert.equal(ra.status, 201);
      assert.equal(rb.status, 201);
      assert.notEqual(ra.json.receipt.hash, rb.json.receipt.hash);
      assert.equal(rb.json.receipt.tenant_id, b.tenantId);
      assert.equal(rb.json.receipt.seq, 1);
    });

    test('no key → 401; a wrong secret → 401; a read key cannot write → 403', async () => {
      const none = await h.req('GET', '/v1/receipts', undefined, null);
      assert.equal(none.status, 401);
      assert.equal(none.json.code, 'QUITTANCE_ERR_UNAUTHORIZED');
      const forged = h.key.slice(0, -4) + 'AAAA';
      assert.equal((await h.req('GET', '/v1/receipts', undefined, forged)).status, 401);
      assert.equal((await h.req('GET', '/v1/receipts', undefined, 'qk_nonsense')).status, 401);
      const reader = await h.services.tenants.createKey(h.tenantId, ['read']);
      assert.equal((await h.req('GET', '/v1/receipts', undefined, reader.api_key)).status, 200);
      const w = await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker }, reader.api_key);
      assert.equal(w.status, 403);
      assert.equal(w.json.code, 'QUITTANCE_ERR_FORBIDDEN');
      const writer = await h.services.tenants.createKey(h.tenantId, ['write']);
      assert.equal((await h.req('GET', '/v1/receipts', undefined, writer.api_key)).status, 403);
    });

    test('health and OpenAPI need no key; OpenAPI lists the routes', async () => {
      const health = await h.req('GET', '/v1/health', undefined, null);
      assert.equal(health.status, 200);
      assert.equal(health.json.backend, backend);
      const spec = await h.req('GET', '/openapi.json', undefined, null);
      assert.equal(spec.status, 200);
      assert.equal(spec.json.openapi, '3.1.0');
      for (const path of ['/v1/receipts', '/v1/receipts/batch', '/v1/receipts/{id}', '/v1/receipts/{id}/ack', '/v1/obligations/open',
        '/v1/obligations/check-terminator', '/v1/bootstrap', '/v1/anomalies', '/v1/ledger/verify', '/v1/health']) {
        assert.ok(spec.json.paths[path], `OpenAPI documents ${path}`);
      }
    });

    test('OpenAPI asks for a key exactly where the route needs one', async () => {
      const spec = await h.req('GET', '/openapi.json', undefined, null);
      assert.deepEqual(spec.json.security, [{ apiKey: [] }]);
      const publicOps: string[] = [];
      for (const [path, ops] of Object.entries(spec.json.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
        for (const [method, op] of Object.entries(ops)) {
          const url = path.replace(/\{[^}]+\}/g, 'x');
          const r = await h.req(method.toUpperCase(), url, undefined, null);
          const documentedPublic = Array.isArray(op.security) && op.security.length === 0;
          assert.equal(r.status !== 401, documentedPublic, `${method.toUpperCase()} ${path}: ${r.status}, documented ${documentedPublic ? 'public' : 'keyed'}`);
          if (documentedPublic) publicOps.push(`${method.toUpperCase()} ${path}`);
        }
      }
      assert.deepEqual(publicOps.sort(), ['GET /.well-known/jwks.json', 'GET /v1/health', 'GET /v1/schemas', 'GET /v1/schemas/{type}']);
    });
  });
}
