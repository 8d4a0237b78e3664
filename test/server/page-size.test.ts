/**
 * The list routes page by the configuration: obligations.pageSize* for the ledger's lists (GET /v1/tasks included),
 * sessions.pageSize* for sessions and orphans. A `limit` past the configured largest page is a coded 400, one up to
 * it is served, and the OpenAPI document states the bound each route enforces.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config.js';
import { BACKENDS, harness, type Harness } from '../helpers.js';

type Param = { name: string; in: string; schema: { maximum?: number } };

for (const backend of BACKENDS) {
  describe(`[${backend}] page sizes follow the configuration`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend, config: { obligations: { pageSizeDefault: 3, pageSizeMax: 1500 }, sessions: { pageSizeDefault: 2, pageSizeMax: 4 } } });
      for (let i = 0; i < 5; i++) assert.equal((await h.req('POST', '/v1/tasks', { task_id: `t${i}`, type: 'build' })).status, 201);
    });
    after(async () => h.close());

    test('GET /v1/tasks pages by obligations.pageSizeDefault and accepts a limit up to pageSizeMax', async () => {
      const first = await h.req('GET', '/v1/tasks');
      assert.equal(first.status, 200);
      assert.deepEqual(first.json.tasks.map((t: { task_id: string }) => t.task_id), ['t0', 't1', 't2']);
      assert.ok(first.json.cursor);
      assert.equal((await h.req('GET', '/v1/tasks?limit=1500')).json.tasks.length, 5);
      const over = await h.req('GET', '/v1/tasks?limit=1501');
      assert.equal(over.status, 400);
      assert.equal(over.json.code, 'QUITTANCE_ERR_VALIDATION');
    });

    test('every documented limit is the bound the route enforces', async () => {
      const spec = (await h.req('GET', '/openapi.json', undefined, null)).json as { paths: Record<string, Record<string, { parameters?: Param[] }>> };
      const checked: string[] = [];
      for (const [path, ops] of Object.entries(spec.paths)) {
        const limit = ops['get']?.parameters?.find((p) => p.in === 'query' && p.name === 'limit');
        if (!limit) continue;
        const max = /^\/v1\/(sessions|orphans)/.test(path) ? 4 : 1500;
        assert.equal(limit.schema.maximum, max, `${path}: documented maximum`);
        // Path parameters their schemas accept, so the limit is what is judged.
        const url = path.replace('{ref}', encodeURIComponent('urn:srcos:capability:x@1')).replace(/\{[^}]+\}/g, 'x');
        const over = await h.req('GET', `${url}?limit=${max + 1}`);
        assert.equal(over.status, 400, `${path}?limit=${max + 1}`);
        assert.match(over.json.message, new RegExp(`${max}`), `${path}: the message names the bound`);
        assert.notEqual((await h.req('GET', `${url}?limit=${max}`)).status, 400, `${path}?limit=${max}`);
        checked.push(path);
      }
      for (const path of ['/v1/tasks', '/v1/tasks/{id}', '/v1/receipts', '/v1/obligations/open', '/v1/orphans', '/v1/sessions/{id}']) assert.ok(checked.includes(path), path);
    });
  });
}

describe('page size settings', () => {
  test('a default page larger than the largest page stops the start', () => {
    assert.throws(() => resolveConfig({ obligations: { pageSizeDefault: 2000 } }), /obligations\.pageSizeDefault must not exceed obligations\.pageSizeMax/);
    assert.throws(() => resolveConfig({ sessions: { pageSizeDefault: 20, pageSizeMax: 10 } }), /sessions\.pageSizeDefault must not exceed sessions\.pageSizeMax/);
    assert.equal(resolveConfig({ obligations: { pageSizeMax: 100 } }).obligations.pageSizeMax, 100);
  });
});
