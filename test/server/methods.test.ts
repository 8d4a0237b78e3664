/**
 * A method a path does not take is 405 with an Allow header listing those it does (RFC 9110 §15.5.6). Before, it
 * was 404 QUITTANCE_ERR_ROUTE_NOT_FOUND "No route DELETE /v1/tasks", which reads as if the path did not exist.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../helpers.js';

describe('methods a path does not take', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => h.close());

  test('405 with Allow, for static and parameter paths, with or without a key; unknown paths stay 404', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/v1/tasks', 'GET, HEAD, POST'],
      ['PUT', '/v1/receipts/abc', 'GET, HEAD'],
      ['GET', '/v1/tasks/t1/complete', 'POST'],
      ['OPTIONS', '/v1/obligations/open', 'GET, HEAD'],
      ['DELETE', '/v1/sessions/s1', 'GET, HEAD, PATCH'],
      ['POST', '/openapi.json', 'GET, HEAD'],
      ['GET', '/v1/leases/claim', 'POST'],
    ];
    for (const [method, url, allow] of cases) {
      for (const headers of [{ authorization: `Bearer ${h.key}` }, {}]) {
        const r = await h.app.inject({ method: method as 'GET', url, headers });
        assert.equal(r.statusCode, 405, `${method} ${url}: ${r.body}`);
        assert.equal(r.headers['allow'], allow, `${method} ${url}`);
        const body = r.json();
        assert.deepEqual(Object.keys(body), ['statusCode', 'code', 'error', 'message']);
        assert.equal(body.code, 'QUITTANCE_ERR_METHOD_NOT_ALLOWED');
        assert.equal(body.error, 'Method Not Allowed');
        assert.equal(body.message, `Method ${method} is not allowed on ${JSON.stringify(url)} (allowed: ${allow})`);
      }
    }
    for (const [method, url] of [['GET', '/v1/nothing-here'], ['DELETE', '/v1/tasks/t1/nothing'], ['GET', '/v1//tasks']]) {
      const r = await h.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${h.key}` } });
      assert.equal(r.statusCode, 404, `${method} ${url}`);
      assert.equal(r.json().code, 'QUITTANCE_ERR_ROUTE_NOT_FOUND');
    }
  });
});
