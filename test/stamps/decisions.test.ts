import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { introspect, mint, stampEvents, tamper } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] introspection that records a decision, sent again with its event_id`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(() => h.close());

    test('the same event_id answers the decision recorded the first time, once; other content under it is 409', async () => {
      const m = await mint(h);
      const first = await introspect(h, m.token, { record_action: 'fs.write', event_id: 'd-1' });
      assert.equal(first.active, true);
      const before = await h.services.store.countReceipts(h.tenantId);
      const again = await introspect(h, m.token, { record_action: 'fs.write', event_id: 'd-1' });
      assert.deepEqual(again, first, 'the answer lost is given again');
      // Closed since: a resend still answers what was decided and recorded then (the receipt precedes the tombstone).
      await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'revoked' });
      const afterClose = await h.services.store.countReceipts(h.tenantId);
      assert.deepEqual(await introspect(h, m.token, { record_action: 'fs.write', event_id: 'd-1' }), first);
      assert.equal(await h.services.store.countReceipts(h.tenantId), afterClose);
      assert.equal(afterClose, before + 1, 'only the tombstone was written');
      const later = await introspect(h, m.token, { record_action: 'fs.write', event_id: 'd-2' });
      assert.deepEqual([later.active, later.inactive_reason], [false, 'tombstoned']);
      assert.deepEqual(await introspect(h, m.token, { record_action: 'fs.write', event_id: 'd-2' }), later);
      const other = await h.req('POST', '/v1/stamps/introspect', { token: m.token, record_action: 'fs.delete', event_id: 'd-1' });
      assert.equal(other.status, 409, JSON.stringify(other.json));
      assert.equal(other.json.code, 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT');
      const events = (await stampEvents(h)).filter((e) => e.stamp_id === m.stamp_id);
      assert.deepEqual(events.map((e) => e.body.outcome), ['executed', 'denied']);
    });

    test('a denial of a token that names no stamp of the tenant is recorded once per event_id', async () => {
      const m = await mint(h);
      const forged = tamper(m.token);
      const gone = tamper(m.token).replace(/^[^.]+\./, `${Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'x', typ: 'JWT' })).toString('base64url')}.`);
      for (const [i, token] of [forged, gone, 'not-a-token'].entries()) {
        const a = await introspect(h, token, { record_action: 'net.fetch', event_id: `f-${i}` });
        const b = await introspect(h, token, { record_action: 'net.fetch', event_id: `f-${i}` });
        assert.equal(a.active, false);
        assert.equal(b.event_receipt_id, a.event_receipt_id, token.slice(0, 20));
        assert.equal((await stampEvents(h)).filter((e) => e.receipt_id === a.event_receipt_id).length, 1);
      }
    });

    test('event_id without record_action is refused (400)', async () => {
      const m = await mint(h);
      const r = await h.req('POST', '/v1/stamps/introspect', { token: m.token, event_id: 'd-9' });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
    });
  });
}
