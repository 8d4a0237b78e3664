import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { claimsOf, introspect, subject } from './helpers.js';

/** A client whose answer was lost sends the same request again: it must not mint (or rotate) a second time. */
for (const backend of BACKENDS) {
  describe(`[${backend}] stamps: retried mints and rotations`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    const mintBody = { subject, task_ref: 'report-7', scope: ['fs:read'], ttl_seconds: 60, idempotency_key: 'mint-report-7' };
    const count = async (type: string) => (await h.req('GET', `/v1/receipts?type=${type}&limit=1000`)).json.receipts.length as number;

    test('the same idempotency_key and body answers the stored stamp and token (200), minting nothing; after the TTL nothing is ambiguous', async () => {
      const first = await h.req('POST', '/v1/stamps', mintBody);
      assert.equal(first.status, 201, JSON.stringify(first.json));
      assert.equal(first.json.status, 'created');
      const minted = await count('stamp.minted');
      const again = await h.req('POST', '/v1/stamps', mintBody);
      assert.equal(again.status, 200, JSON.stringify(again.json));
      assert.equal(again.json.status, 'duplicate');
      assert.equal(again.json.stamp.stamp_id, first.json.stamp.stamp_id);
      assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
      assert.equal(again.json.token, first.json.token, 'the same credential, signed again by the same key');
      assert.equal(await count('stamp.minted'), minted);
      assert.equal((await introspect(h, again.json.token)).active, true);

      // The subject closes the one stamp it knows; nothing is left to turn ambiguous when the TTL passes.
      const t = await h.req('POST', `/v1/stamps/${first.json.stamp.stamp_id}/tombstone`, { outcome: 'completed' });
      assert.equal(t.status, 201);
      h.clock.advance(61_000);
      await h.services.stamps.sweepStamps();
      const inv = await h.req('GET', '/v1/investigations');
      assert.deepEqual(inv.json.investigations, []);
      const anomalies = await h.req('GET', '/v1/anomalies?kind=missing_tombstone');
      assert.equal(anomalies.status, 200);
      assert.deepEqual(anomalies.json.anomalies, []);
    });

    test('the same idempotency_key with another body is 409 and writes nothing; keys are per tenant', async () => {
      const key = 'mint-conflict';
      const first = await h.req('POST', '/v1/stamps', { ...mintBody, idempotency_key: key });
      assert.equal(first.status, 201);
      const minted = await count('stamp.minted');
      for (const change of [{ ttl_seconds: 61 }, { scope: ['fs:write'] }, { task_ref: 'other' }, { subject: { kind: 'agent', id: 'x' } }, { task_id: 't1' }]) {
        const r = await h.req('POST', '/v1/stamps', { ...mintBody, idempotency_key: key, ...change });
        assert.equal(r.status, 409, JSON.stringify(change));
        assert.equal(r.json.code, 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT');
        assert.equal(r.json.receipt_id, first.json.receipt.receipt_id);
      }
      assert.equal(await count('stamp.minted'), minted);
      // Without a key every request mints.
      const { idempotency_key: _k, ...plain } = mintBody;
      const a = await h.req('POST', '/v1/stamps', plain);
      const b = await h.req('POST', '/v1/stamps', plain);
      assert.equal(a.status, 201);
      assert.equal(b.status, 201);
      assert.notEqual(a.json.stamp.stamp_id, b.json.stamp.stamp_id);
      // Another tenant's key space is its own.
      const other = await h.newTenant('idem-other');
      const o = await h.req('POST', '/v1/stamps', { ...mintBody, idempotency_key: key }, other.key);
      assert.equal(o.status, 201);
      assert.notEqual(o.json.stamp.stamp_id, first.json.stamp.stamp_id);
    });

    test('a retry after the signing keys rotated answers the same token, signed by the key that signed it', async () => {
      const body = { ...mintBody, idempotency_key: 'mint-across-keys' };
      const first = await h.req('POST', '/v1/stamps', body);
      assert.equal(first.status, 201);
      const rotated = await h.req('POST', `/v1/stamps/${first.json.stamp.stamp_id}/rotate`, { idempotency_key: 'across-keys' });
      await h.services.stamps.rotateSigningKeys();
      await h.services.stamps.rotateSigningKeys();
      const again = await h.req('POST', '/v1/stamps', body);
      assert.equal(again.status, 200);
      assert.equal(again.json.stamp.stamp_id, first.json.stamp.stamp_id);
      assert.equal(again.json.token, first.json.token);
      const rotatedAgain = await h.req('POST', `/v1/stamps/${first.json.stamp.stamp_id}/rotate`, { idempotency_key: 'across-keys' });
      assert.equal(rotatedAgain.status, 200);
      assert.equal(rotatedAgain.json.token, rotated.json.token);
      // Its key stays published while the stamp lives, so the token it answers verifies as long as the first did.
      assert.equal((await introspect(h, rotatedAgain.json.token)).active, true);
      const jwks = (await h.req('GET', '/.well-known/jwks.json', undefined, null)).json;
      assert.ok(jwks.keys.some((k: { kid: string }) => k.kid === rotated.json.stamp.kid));
    });

    test('concurrent retries of one mint make one stamp', async () => {
      const body = { ...mintBody, idempotency_key: 'mint-race' };
      const before = await count('stamp.minted');
      const rs = await Promise.all(Array.from({ length: 8 }, () => h.req('POST', '/v1/stamps', body)));
      assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
      assert.equal(new Set(rs.map((r) => r.json.stamp.stamp_id)).size, 1);
      assert.equal(await count('stamp.minted'), before + 1);
    });

    test('concurrent retries of one rotation make one generation, and all answer its token', async () => {
      const m = await h.req('POST', '/v1/stamps', { ...mintBody, idempotency_key: undefined, ttl_seconds: 600 });
      const id = m.json.stamp.stamp_id;
      const rs = await Promise.all(Array.from({ length: 8 }, () => h.req('POST', `/v1/stamps/${id}/rotate`, { idempotency_key: 'rot-race' })));
      assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
      assert.equal(new Set(rs.map((r) => r.json.token)).size, 1);
      const g = await h.req('GET', `/v1/stamps/${id}`);
      assert.equal(g.json.stamp.generation, 2);
      assert.equal((await introspect(h, rs[0]!.json.token)).active, true);
    });

    test('a rotation resent with its idempotency_key answers the generation it made (200), not one more; another from is 409', async () => {
      const m = await h.req('POST', '/v1/stamps', { ...mintBody, idempotency_key: undefined, ttl_seconds: 600 });
      const id = m.json.stamp.stamp_id;
      const first = await h.req('POST', `/v1/stamps/${id}/rotate`, { idempotency_key: 'rot-1' });
      assert.equal(first.status, 201, JSON.stringify(first.json));
      assert.equal(first.json.status, 'created');
      assert.equal(first.json.stamp.generation, 2);
      const rotated = await count('stamp.rotated');
      const again = await h.req('POST', `/v1/stamps/${id}/rotate`, { idempotency_key: 'rot-1' });
      assert.equal(again.status, 200, JSON.stringify(again.json));
      assert.equal(again.json.status, 'duplicate');
      assert.equal(again.json.stamp.generation, 2);
      assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
      assert.equal(again.json.token, first.json.token);
      assert.equal(await count('stamp.rotated'), rotated);
      assert.equal((await introspect(h, again.json.token)).active, true);

      const other = await h.req('POST', `/v1/stamps/${id}/rotate`, { idempotency_key: 'rot-1', from: { kind: 'agent', id: 'someone-else' } });
      assert.equal(other.status, 409);
      assert.equal(other.json.code, 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT');
      // A new key is a new rotation; the key is the stamp's own, so another stamp may use it too.
      const next = await h.req('POST', `/v1/stamps/${id}/rotate`, { idempotency_key: 'rot-2' });
      assert.equal(next.status, 201);
      assert.equal(next.json.stamp.generation, 3);
      const m2 = await h.req('POST', '/v1/stamps', { ...mintBody, idempotency_key: undefined, ttl_seconds: 600 });
      const o = await h.req('POST', `/v1/stamps/${m2.json.stamp.stamp_id}/rotate`, { idempotency_key: 'rot-1' });
      assert.equal(o.status, 201);
      // The retry of an older rotation answers what it made then: its generation is superseded now.
      const late = await h.req('POST', `/v1/stamps/${id}/rotate`, { idempotency_key: 'rot-1' });
      assert.equal(late.status, 200);
      assert.equal(late.json.stamp.generation, 3);
      assert.equal(claimsOf(late.json.token).gen, 2);
      assert.equal((await introspect(h, late.json.token)).inactive_reason, 'superseded_generation');
      assert.equal(await count('stamp.rotated'), rotated + 2);
    });
  });
}
