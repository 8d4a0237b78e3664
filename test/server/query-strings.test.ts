/**
 * Query strings are read the same way on every route: an integer is written in decimal digits (limit=0x2 was a page
 * of 2, limit=1e1 one of 10), and a parameter a route does not take is a coded 400 naming it, on every route, not
 * only on those with query parameters of their own.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { harness, type Harness } from '../helpers.js';

type Param = { name: string; in: string };
type Spec = { paths: Record<string, Record<string, { parameters?: Param[] }>> };

/** Path parameters each route's schema accepts, so that only the query string is judged. */
function concrete(path: string): string {
  return path
    .replace('{ref}', encodeURIComponent('urn:srcos:capability:x@1'))
    .replace('{digest}', `sha256:${'a'.repeat(64)}`)
    .replace('{type}', 'Principal')
    .replace('{plane}', 'runtime')
    .replace(/\{[^}]+\}/g, 'x');
}

describe('query strings', () => {
  let h: Harness;
  let spec: Spec;
  before(async () => {
    h = await harness();
    spec = (await h.req('GET', '/openapi.json', undefined, null)).json as Spec;
  });
  after(async () => h.close());

  test('an integer parameter takes decimal digits only', async () => {
    const checked: string[] = [];
    for (const [path, ops] of Object.entries(spec.paths)) {
      if (!ops['get']?.parameters?.some((p) => p.in === 'query' && p.name === 'limit')) continue;
      const url = concrete(path);
      for (const text of ['0x2', '1e1', '%202', '2.0', '0b11', '+2', '2%20']) {
        const r = await h.req('GET', `${url}?limit=${text}`);
        assert.equal(r.status, 400, `${path}?limit=${text}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
        assert.ok(r.json.message.includes('querystring/limit must be an integer in decimal digits'), r.json.message);
      }
      assert.notEqual((await h.req('GET', `${url}?limit=2`)).status, 400, `${path}?limit=2`);
      checked.push(path);
    }
    for (const path of ['/v1/tasks', '/v1/receipts', '/v1/obligations/open', '/v1/anomalies', '/v1/sessions/{id}', '/v1/investigations']) {
      assert.ok(checked.includes(path), path);
    }
    // Out of range in decimal is refused as before, naming the bound.
    const zero = await h.req('GET', '/v1/tasks?limit=0');
    assert.equal(zero.status, 400);
    assert.ok(zero.json.message.includes('querystring/limit must be >= 1'), zero.json.message);
  });

  test('a parameter a route does not take is a 400 naming it, on every route', async () => {
    const urls = Object.entries(spec.paths).filter(([, ops]) => ops['get'] !== undefined).map(([path]) => concrete(path));
    urls.push('/openapi.json');
    for (const url of urls) {
      for (const method of ['GET', 'HEAD']) {
        const r = await h.app.inject({ method: method as 'GET', url: `${url}?bogus=1`, headers: { authorization: `Bearer ${h.key}` } });
        assert.equal(r.statusCode, 400, `${method} ${url}?bogus=1: ${r.body}`);
        if (method === 'GET') {
          assert.equal(r.json().code, 'QUITTANCE_ERR_VALIDATION');
          assert.ok(r.json().message.includes('querystring has an unknown property "bogus"'), r.json().message);
        }
      }
    }
    for (const url of ['/v1/ledger/verify', '/v1/health', '/v1/schemas', '/.well-known/jwks.json', '/v1/stamps/status']) assert.ok(urls.includes(url), url);
    // Nothing written by a write that names a parameter it does not take.
    const w = await h.req('POST', '/v1/tasks?dry_run=1', { task_id: 'q1', type: 'build' });
    assert.equal(w.status, 400);
    assert.ok(w.json.message.includes('querystring has an unknown property "dry_run"'), w.json.message);
    const blob = await h.app.inject({ method: 'POST', url: '/v1/evidence?name=x', headers: { authorization: `Bearer ${h.key}`, 'content-type': 'text/plain' }, payload: 'bytes' });
    assert.equal(blob.statusCode, 400, blob.body);
    assert.equal((await h.req('GET', `/v1/evidence/sha256:${createHash('sha256').update('bytes').digest('hex')}`)).status, 404);
    assert.equal((await h.req('GET', '/v1/tasks/q1')).status, 404);
    assert.deepEqual((await h.req('GET', '/v1/receipts')).json.receipts, []);
    // Routes that take parameters still take them.
    assert.equal((await h.req('GET', '/v1/tasks?limit=2')).status, 200);
  });
});
