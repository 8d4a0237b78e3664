/**
 * /openapi.json documents what every route answers (src/server/openapi.ts), and test/helpers.ts holds every
 * harness answer in the suite to it. These tests hold the document's own shape, and check that the checker the
 * harness runs does refuse what it should, so that a suite passing with it means something.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, agent, worker, type Harness } from '../helpers.js';
import { ResponseChecker } from '../openapi-responses.js';
import { withResponses } from '../../src/server/openapi.js';

type Doc = ConstructorParameters<typeof ResponseChecker>[0] & { components: { schemas: Record<string, unknown> } };

describe('/openapi.json responses', () => {
  let h: Harness;
  let doc: Doc;
  let checker: ResponseChecker;
  before(async () => {
    h = await harness();
    const r = await h.req('GET', '/openapi.json', undefined, null);
    assert.equal(r.status, 200);
    doc = r.json as Doc;
    checker = new ResponseChecker(doc);
  });
  after(() => h.close());

  test('every operation lists its successes and a coded error for 4XX and 5XX', () => {
    let operations = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        operations++;
        const codes = Object.keys(op.responses ?? {});
        assert.ok(codes.some((c) => /^2\d\d$/.test(c)), `${method} ${path} lists no success: ${codes.join(', ')}`);
        for (const range of ['4XX', '5XX']) {
          assert.deepEqual(op.responses![range]!.content, { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }, `${method} ${path} ${range}`);
        }
        assert.ok(!codes.includes('200') || op.responses!['200']!.content !== undefined, `${method} ${path}: 200 without a body`);
      }
    }
    assert.ok(operations >= 60, `${operations} operations`);
    for (const name of ['Error', 'Receipt', 'Task', 'Stamp', 'TaskTombstone', 'LeaseClaimResponse']) assert.ok(doc.components.schemas[name], name);
    // Every $ref points into the document.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? [];
    for (const r of new Set(refs)) {
      const name = /^"\$ref":"#\/components\/schemas\/([A-Za-z]+)"$/.exec(r)?.[1];
      assert.ok(name !== undefined && doc.components.schemas[name] !== undefined, r);
    }
  });

  test('a real answer validates; a changed one, an unlisted status or another content type is refused', async () => {
    const created = await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: {} });
    assert.equal(created.status, 201);
    const text = JSON.stringify(created.json);
    const ct = 'application/json; charset=utf-8';
    assert.equal(checker.check('POST', '/v1/receipts', 201, ct, text), undefined);
    // 201 says `created`; the same body as a 200 (a duplicate) is wrong.
    assert.match(checker.check('POST', '/v1/receipts', 200, ct, text)!, /does not match/);
    // A key the receipt does not have, a required one missing.
    assert.match(checker.check('POST', '/v1/receipts', 201, ct, JSON.stringify({ ...created.json, extra: 1 }))!, /does not match/);
    const { hash: _hash, ...noHash } = created.json.receipt;
    assert.match(checker.check('POST', '/v1/receipts', 201, ct, JSON.stringify({ ...created.json, receipt: noHash }))!, /does not match/);
    // A status the route does not answer, another content type, a body that is not JSON.
    assert.match(checker.check('POST', '/v1/receipts', 204, ct, '')!, /does not list/);
    assert.match(checker.check('POST', '/v1/receipts', 201, 'text/html', text)!, /lists application\/json/);
    assert.match(checker.check('POST', '/v1/receipts', 201, ct, '<html>')!, /not JSON/);
    // Errors: the coded shape, on any route and on none.
    const error = JSON.stringify({ statusCode: 404, code: 'QUITTANCE_ERR_NOT_FOUND', error: 'Not Found', message: 'x' });
    assert.equal(checker.check('GET', '/v1/receipts/nope', 404, ct, error), undefined);
    assert.equal(checker.check('GET', '/v1/nowhere', 404, ct, error), undefined);
    assert.match(checker.check('GET', '/v1/receipts/nope', 404, ct, JSON.stringify({ message: 'x' }))!, /does not match/);
    // A path is matched with its method, as the router does: GET /v1/tasks/batch is GET /v1/tasks/{id}.
    assert.match(checker.check('GET', '/v1/tasks/batch', 200, ct, JSON.stringify({ results: [] }))!, /^GET \/v1\/tasks\/\{id\} 200: the body does not match/);
  });

  test('the lease writes the suite drives through real servers hold to it too (the harness checks each answer)', async () => {
    const created = await h.req('POST', '/v1/tasks/batch', { tasks: [{ type: 'doc', payload: {} }, { type: 'doc', payload: {} }] });
    assert.equal(created.status, 200);
    const claim = await h.req('POST', '/v1/leases/claim', { worker_id: 'w', max_tasks: 2 });
    const [a, b] = claim.json.leases as { task_id: string; lease_id: string; lease_token: string }[];
    const proof = (g: typeof a) => ({ lease_id: g!.lease_id, lease_token: g!.lease_token });
    assert.equal((await h.req('POST', '/v1/leases/renew', { ...proof(a), renewal: 1 })).status, 200);
    assert.equal((await h.req('POST', `/v1/tasks/${a!.task_id}/start`, proof(a))).status, 201);
    assert.equal((await h.req('POST', `/v1/tasks/${a!.task_id}/progress`, { ...proof(a), progress: { pct: 50 } })).status, 201);
    const release = { ...proof(a), reason: 'shutting down' };
    assert.equal((await h.req('POST', `/v1/tasks/${a!.task_id}/release`, release)).status, 201);
    assert.equal((await h.req('POST', `/v1/tasks/${a!.task_id}/release`, release)).status, 200);
    const done = await h.req('POST', '/v1/tasks/complete-batch', {
      completions: [{ task_id: b!.task_id, ...proof(b), artifacts: [{ kind: 'blob', uri: 'blob:doc' }] }, { task_id: a!.task_id, ...proof(a) }],
    });
    assert.deepEqual(done.json.results.map((r: { statusCode: number }) => r.statusCode), [201, 409]);
  });

  test('a route the module does not describe gets the error answers only, which the first test refuses', () => {
    const paths = { '/v1/receipts': { post: {} }, '/v1/brand-new': { get: {} } };
    const d = withResponses({ paths }) as unknown as Doc;
    assert.deepEqual(Object.keys(d.paths['/v1/brand-new']!['get']!.responses!), ['4XX', '5XX']);
    assert.ok(d.paths['/v1/receipts']!['post']!.responses!['201']);
  });
});
