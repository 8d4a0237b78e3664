import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { introspect, mint, tamper } from './helpers.js';

/**
 * Introspection answers from caches (verified tokens with their active answer's JSON text, stamp states). These
 * tests warm every cache first, then change the stamp, and require the very next answer to show the change.
 */
for (const backend of BACKENDS) {
  describe(`[${backend}] introspection caches never outlive a change made on this server`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    /** The HTTP answer and the engine's answer for the same token must be the same JSON. */
    async function both(token: string, key?: string, tenantId = h.tenantId): Promise<any> {
      const r = await h.req('POST', '/v1/stamps/introspect', { token }, key);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.deepEqual(r.json, await h.services.stamps.introspect(tenantId, token));
      return r.json;
    }

    async function warm(token: string): Promise<any> {
      let a: any;
      for (let i = 0; i < 5; i++) a = await both(token);
      return a;
    }

    test('an active answer served from the cached text is exactly the engine answer, claims included', async () => {
      const m = await mint(h);
      const a = await warm(m.token);
      assert.equal(a.active, true);
      assert.equal(a.token_type, 'stamp');
      assert.equal(a.state, 'active');
      assert.equal(a.stamp_id, m.stamp_id);
      assert.equal(a.scope, 'fs:read net:fetch');
      assert.equal(a.gen, 1);
    });

    test('tombstone after warm caches: the next introspection is inactive, with outcome and reason', async () => {
      const m = await mint(h, { ttl_seconds: 30 * 24 * 3600 });
      assert.equal((await warm(m.token)).active, true);
      const t = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'crashed' });
      assert.equal(t.status, 201);
      assert.deepEqual(await both(m.token), { active: false, stamp_id: m.stamp_id, state: 'tombstoned', outcome: 'crashed', inactive_reason: 'tombstoned' });
      // And stays so once the state cache has refilled from the store.
      assert.equal((await warm(m.token)).active, false);
    });

    test('rotate after warm caches: the old generation is inactive at once, the new one active, then the tombstone ends both', async () => {
      const m = await mint(h);
      assert.equal((await warm(m.token)).active, true);
      const r = await h.req('POST', `/v1/stamps/${m.stamp_id}/rotate`);
      assert.equal(r.status, 201);
      assert.deepEqual(await both(m.token), { active: false, stamp_id: m.stamp_id, state: 'active', inactive_reason: 'superseded_generation' });
      const fresh = await warm(r.json.token);
      assert.equal(fresh.active, true);
      assert.equal(fresh.gen, 2);
      assert.equal((await both(m.token)).active, false);
      await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'completed' });
      assert.equal((await both(r.json.token)).inactive_reason, 'tombstoned');
      assert.equal((await both(m.token)).inactive_reason, 'tombstoned');
    });

    test('a tombstone writes exactly its own columns onto the stamp and leaves the rest (rotated generation, kid) as it was', async () => {
      const m = await mint(h);
      const r = await h.req('POST', `/v1/stamps/${m.stamp_id}/rotate`);
      assert.equal(r.status, 201);
      const before = (await h.req('GET', `/v1/stamps/${m.stamp_id}`)).json.stamp;
      h.clock.advance(1000);
      const t = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'revoked', reason: 'operator pulled it', closed_by: 'operator' });
      assert.equal(t.status, 201);
      const after = (await h.req('GET', `/v1/stamps/${m.stamp_id}`)).json.stamp;
      assert.deepEqual(after, {
        ...before, state: 'tombstoned', outcome: 'revoked', closed_by: 'operator', late: false, tombstone_receipt_id: t.json.receipt.receipt_id,
      });
      assert.equal(after.generation, 2);
      const row = await h.services.store.stamps.stamp(h.tenantId, m.stamp_id);
      assert.equal(row?.closed_reason, 'operator pulled it');
      assert.equal(row?.tombstoned_at, t.json.tombstone.timestamp);
      assert.deepEqual(await h.services.store.stamps.stampStatus(h.tenantId, m.stamp_id), {
        state: 'tombstoned', generation: 2, expires_ms: row!.expires_ms, outcome: 'revoked', minted_receipt_id: m.minted_receipt_id,
      });
    });

    test('a cached active answer is not served past the token exp or the stamp TTL', async () => {
      const m = await mint(h, { ttl_seconds: 60 });
      assert.equal((await warm(m.token)).active, true);
      h.clock.advance(61_000);
      const a = await both(m.token);
      assert.equal(a.active, false);
      assert.equal(a.state, 'ambiguous');
      assert.equal(a.inactive_reason, 'expired');
    });

    test('a token warm in the cache is {active: false} for another tenant, and tampered or unknown text is too', async () => {
      const m = await mint(h);
      assert.equal((await warm(m.token)).active, true);
      const b = await h.newTenant('introspect-cache-other');
      assert.deepEqual(await both(m.token, b.key, b.tenantId), { active: false });
      assert.deepEqual(await both(tamper(m.token)), { active: false });
      assert.deepEqual(await both(m.token + 'x'), { active: false });
      assert.deepEqual(await introspect(h, 'not.a.token'), { active: false });
    });
  });
}
