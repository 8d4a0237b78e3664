/**
 * Bearer API keys as a user relies on them: a key works the moment it exists (even created by the CLI while the
 * server runs), a revoked key stops working once the positive cache (config.apiKeyCacheMs) has lapsed, a wrong
 * secret never rides on a cached right one, and public routes need no key. The server keeps verified keys in
 * memory, so each of these is checked with the key already cached.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, agent, worker, type Harness } from '../helpers.js';
import { cli } from '../e2e.js';

const UNAUTHORIZED = 'QUITTANCE_ERR_UNAUTHORIZED';

describe('API key authentication', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => h.close());

  /** Revokes the key with `quittance key revoke`, through a store of its own, as an operator would. */
  const revoke = async (apiKey: string) => {
    const keyId = /^qk_([^.]+)\./.exec(apiKey)![1]!;
    const out = await cli(['key', 'revoke', keyId, '--data', h.dir, '--json']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).already_revoked, false);
  };

  test('a revoked key is refused once apiKeyCacheMs has passed, and stays refused', async () => {
    const { key } = await h.newTenant('revoked', ['read']);
    assert.equal((await h.req('GET', '/v1/obligations/open', undefined, key)).status, 200);
    assert.equal((await h.req('GET', '/v1/obligations/open', undefined, key)).status, 200); // now cached
    await revoke(key);
    // The cache's time is a clock that never steps: the ledger's (here the wall clock's stand-in) set back an hour
    // changes nothing, and once apiKeyCacheMs has really passed the key is refused.
    h.clock.advance(-3600_000);
    await new Promise((r) => setTimeout(r, h.services.config.apiKeyCacheMs + 50));
    for (let i = 0; i < 3; i++) {
      const r = await h.req('GET', '/v1/obligations/open', undefined, key);
      assert.equal(r.status, 401);
      assert.equal(r.json.code, UNAUTHORIZED);
    }
  });

  test('a key created by the CLI while the server runs works at once, with its own scopes', async () => {
    const out = await cli(['key', 'create', '--tenant', 'a', '--scopes', 'read', '--data', h.dir, '--json']);
    assert.equal(out.code, 0, out.stderr);
    const created = JSON.parse(out.stdout) as { api_key: string };
    assert.equal((await h.req('GET', '/v1/obligations/open', undefined, created.api_key)).status, 200);
    // Cached or not, the read key may not write.
    for (let i = 0; i < 2; i++) {
      const w = await h.req('POST', '/v1/tasks', { type: 'render' }, created.api_key);
      assert.equal(w.status, 403);
      assert.equal(w.json.code, 'QUITTANCE_ERR_FORBIDDEN');
    }
  });

  test('a wrong secret under a cached key id is refused', async () => {
    assert.equal((await h.req('GET', '/v1/obligations/open')).status, 200); // h.key is cached
    const last = h.key.at(-1) === 'A' ? 'B' : 'A';
    for (const wrong of [h.key.slice(0, -1) + last, `${h.key.slice(0, -1)}`, `${h.key}A`, h.key.toLowerCase()]) {
      if (wrong === h.key) continue;
      const r = await h.req('GET', '/v1/obligations/open', undefined, wrong);
      assert.equal(r.status, 401, wrong);
      assert.equal(r.json.code, UNAUTHORIZED);
    }
    assert.equal((await h.req('GET', '/v1/obligations/open')).status, 200);
  });

  test('many keys in turn all authenticate, each as its own tenant', async () => {
    const keys: { key: string; receiptId?: string }[] = [];
    for (let i = 0; i < 40; i++) keys.push({ key: (await h.newTenant(`many-${i}`, ['read', 'write'])).key });
    for (const k of keys) {
      const r = await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker }, k.key);
      assert.equal(r.status, 201);
      k.receiptId = r.json.receipt.receipt_id;
    }
    for (let i = 0; i < keys.length; i++) {
      const mine = keys[i]!;
      const theirs = keys[(i + 1) % keys.length]!;
      assert.equal((await h.req('GET', `/v1/receipts/${mine.receiptId}`, undefined, mine.key)).status, 200);
      assert.equal((await h.req('GET', `/v1/receipts/${theirs.receiptId}`, undefined, mine.key)).status, 404);
    }
  });

  test('missing, malformed and unknown keys are 401; public routes need none; unknown routes are 404', async () => {
    for (const authorization of [undefined, 'Bearer', 'Bearer ', 'Basic abc', `Bearer qk_${'x'.repeat(16)}.${'y'.repeat(32)}`, 'Bearer not-a-key']) {
      const res = await h.app.inject({ method: 'GET', url: '/v1/obligations/open', headers: authorization === undefined ? {} : { authorization } });
      assert.equal(res.statusCode, 401, String(authorization));
      assert.equal(res.json().code, UNAUTHORIZED);
    }
    // The scheme is case-insensitive (RFC 9110 §11.1), as clients that write `bearer` expect.
    for (const authorization of [`bearer ${h.key}`, `BEARER ${h.key}`, `Bearer   ${h.key}`]) {
      assert.equal((await h.app.inject({ method: 'GET', url: '/v1/obligations/open', headers: { authorization } })).statusCode, 200, authorization);
    }
    for (const authorization of [`bearer`, `bearer ${h.key} extra`, `Bearerx ${h.key}`]) {
      assert.equal((await h.app.inject({ method: 'GET', url: '/v1/obligations/open', headers: { authorization } })).statusCode, 401, authorization);
    }
    // A HEAD request on a scoped GET route is scoped too.
    assert.equal((await h.app.inject({ method: 'HEAD', url: '/v1/obligations/open' })).statusCode, 401);
    assert.equal((await h.app.inject({ method: 'HEAD', url: '/v1/obligations/open', headers: { authorization: `Bearer ${h.key}` } })).statusCode, 200);
    for (const url of ['/v1/health', '/.well-known/jwks.json', '/openapi.json']) {
      assert.equal((await h.app.inject({ method: 'GET', url })).statusCode, 200, url);
    }
    const missing = await h.app.inject({ method: 'GET', url: '/v1/nothing-here' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'QUITTANCE_ERR_ROUTE_NOT_FOUND');
  });
});
