import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { claimsOf, headerOf, introspect, mint, stampEvents, subject, tamper } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] stamps over HTTP: mint, introspect, tombstone`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('the JWKS is public and a minted token verifies with jose; the claims name stamp, tenant, subject, task, scope, generation', async () => {
      const jwks = await h.req('GET', '/.well-known/jwks.json', undefined, null);
      assert.equal(jwks.status, 200);
      assert.ok(jwks.json.keys.length >= 2, 'current and next key are published');
      for (const k of jwks.json.keys) assert.deepEqual(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);

      const r = await h.req('POST', '/v1/stamps', { subject, task_ref: 'report-42', scope: ['fs:read', 'net:fetch'], ttl_seconds: 600 });
      assert.equal(r.status, 201);
      assert.deepEqual(Object.keys(r.json).sort(), ['receipt', 'stamp', 'status', 'token']);
      const { payload, protectedHeader } = await jwtVerify(r.json.token, createLocalJWKSet(jwks.json), {
        algorithms: ['EdDSA'], currentDate: new Date(h.clock.now()),
      });
      assert.equal(protectedHeader.alg, 'EdDSA');
      assert.ok(jwks.json.keys.some((k: { kid: string }) => k.kid === protectedHeader.kid));
      assert.equal(payload['stamp_id'], r.json.stamp.stamp_id);
      assert.equal(payload['tenant'], h.tenantId);
      assert.equal(payload.sub, 'agent:planner');
      assert.equal(payload['task'], 'report-42');
      assert.equal(payload['scope'], 'fs:read net:fetch');
      assert.equal(payload['gen'], 1);
      assert.equal(payload.exp! - payload.iat!, 600);
      assert.equal(payload['status'] && (payload['status'] as { idx: number }).idx, r.json.receipt.seq);

      // The stamp.minted receipt is the obligation, addressed to the subject, and never contains the token.
      const rec = r.json.receipt;
      assert.equal(rec.type, 'stamp.minted');
      assert.deepEqual(rec.to, subject);
      assert.equal(rec.stamp_id, r.json.stamp.stamp_id);
      assert.ok(!JSON.stringify(rec).includes(r.json.token.split('.')[2]));
      const open = await h.req('GET', '/v1/obligations/open?principal_kind=agent&principal_id=planner');
      assert.ok(open.json.open_obligations.some((o: { receipt_id: string }) => o.receipt_id === rec.receipt_id));
    });

    test('an active token introspects RFC 7662-style with its claims', async () => {
      const m = await mint(h);
      const a = await introspect(h, m.token);
      assert.equal(a.active, true);
      assert.equal(a.state, 'active');
      assert.equal(a.token_type, 'stamp');
      assert.equal(a.stamp_id, m.stamp_id);
      assert.equal(a.scope, 'fs:read net:fetch');
      assert.equal(a.sub, 'agent:planner');
      assert.equal(a.gen, 1);
      assert.equal(typeof a.exp, 'number');
    });

    test('a tombstoned stamp is inactive at once, long before its TTL; its obligation is closed', async () => {
      const m = await mint(h, { ttl_seconds: 30 * 24 * 3600 });
      assert.equal((await introspect(h, m.token)).active, true);
      const t = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'revoked', reason: 'operator pulled it' });
      assert.equal(t.status, 201);
      assert.equal(t.json.status, 'created');
      assert.deepEqual(Object.keys(t.json.tombstone).sort(), ['closed_by', 'outcome', 'reason', 'stamp_id', 'timestamp']);
      assert.equal(t.json.tombstone.outcome, 'revoked');
      assert.equal(t.json.tombstone.closed_by, 'subject');
      assert.equal(t.json.receipt.type, 'stamp.tombstoned');
      assert.deepEqual(t.json.receipt.parents, [m.minted_receipt_id]);
      // No time has passed at all: the TTL is 30 days away.
      const a = await introspect(h, m.token);
      assert.deepEqual(a, { active: false, stamp_id: m.stamp_id, state: 'tombstoned', outcome: 'revoked', inactive_reason: 'tombstoned' });
      const ob = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: m.minted_receipt_id });
      assert.equal(ob.json.open, false);
      assert.equal(ob.json.closed_by, t.json.receipt.receipt_id);
      const g = await h.req('GET', `/v1/stamps/${m.stamp_id}`);
      assert.equal(g.json.stamp.state, 'tombstoned');
      assert.equal(g.json.stamp.outcome, 'revoked');
      assert.deepEqual(g.json.history.map((r: { type: string }) => r.type), ['stamp.minted', 'stamp.tombstoned']);
    });

    test('the same tombstone again answers the stored one (200, nothing written); a different one is 409', async () => {
      const m = await mint(h);
      const first = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'completed' });
      assert.equal(first.status, 201);
      const before = await h.services.store.countReceipts(h.tenantId);
      h.clock.advance(5000);
      const again = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'completed' });
      assert.equal(again.status, 200);
      assert.equal(again.json.status, 'duplicate');
      assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
      assert.deepEqual(again.json.tombstone, first.json.tombstone);
      const other = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'crashed' });
      assert.equal(other.status, 409);
      assert.equal(other.json.code, 'QUITTANCE_ERR_STAMP_TOMBSTONED');
      assert.equal(other.json.tombstone.outcome, 'completed');
      assert.equal(await h.services.store.countReceipts(h.tenantId), before);
    });

    test('a tombstone with the same outcome but another reason or closer is a different tombstone: 409', async () => {
      const m = await mint(h);
      const body = { outcome: 'revoked', reason: 'key leaked', closed_by: 'operator' };
      assert.equal((await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, body)).status, 201);
      const before = await h.services.store.countReceipts(h.tenantId);
      assert.equal((await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, body)).status, 200);
      // Before, each of these answered 200 "duplicate" with the stored tombstone: the caller was told its reason
      // (or closer) was recorded when another one was.
      for (const other of [{ reason: 'task cancelled' }, { reason: undefined }, { closed_by: 'gate' }]) {
        const r = await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { ...body, ...other });
        assert.equal(r.status, 409, JSON.stringify(other));
        assert.equal(r.json.code, 'QUITTANCE_ERR_STAMP_TOMBSTONED');
        assert.equal(r.json.tombstone.reason, 'key leaked');
      }
      assert.equal(await h.services.store.countReceipts(h.tenantId), before);
    });

    test('ttl_seconds must lie between 1 s and 30 days; stamp.* receipts cannot be forged through POST /v1/receipts', async () => {
      for (const ttl of [0, 30 * 24 * 3600 + 1]) {
        const r = await h.req('POST', '/v1/stamps', { subject, task_ref: 't', scope: [], ttl_seconds: ttl });
        assert.equal(r.status, 422);
        assert.equal(r.json.code, 'QUITTANCE_ERR_STAMP_TTL');
      }
      assert.equal((await h.req('POST', '/v1/stamps', { subject, task_ref: 't', scope: [], ttl_seconds: 1 })).status, 201);
      const bad = await h.req('POST', '/v1/stamps', { subject, task_ref: 't', scope: ['has space'], ttl_seconds: 5 });
      assert.equal(bad.status, 400);
      // task_ref: 1 to 256 characters, as the OpenAPI document says; a character outside the BMP is one of them.
      const wide = await h.req('POST', '/v1/stamps', { subject, task_ref: '🎉'.repeat(256), scope: [], ttl_seconds: 5 });
      assert.equal(wide.status, 201, JSON.stringify(wide.json));
      assert.equal(wide.json.stamp.task_ref, '🎉'.repeat(256));
      assert.equal(claimsOf(wide.json.token).task, '🎉'.repeat(256));
      assert.equal((await h.req('POST', '/v1/stamps', { subject, task_ref: '🎉'.repeat(257), scope: [], ttl_seconds: 5 })).status, 400);
      const forged = await h.req('POST', '/v1/receipts', { type: 'stamp.tombstoned', from: subject, to: subject, parents: ['x'], body: {} });
      assert.equal(forged.json.code, 'QUITTANCE_ERR_RECEIPT_TYPE_RESERVED');
    });

    test('a tampered token is inactive ({active:false} and nothing else); with record_action a denied event is recorded', async () => {
      const m = await mint(h);
      const bad = tamper(m.token);
      assert.deepEqual(await introspect(h, bad), { active: false });
      assert.deepEqual(await introspect(h, 'not.a.token'), { active: false });
      assert.deepEqual(await introspect(h, ''), { active: false });
      const rec = await introspect(h, bad, { record_action: 'fs.write' });
      assert.deepEqual(Object.keys(rec).sort(), ['active', 'event_receipt_id']);
      assert.equal(rec.active, false);
      const ev = (await stampEvents(h)).find((r) => r.receipt_id === rec.event_receipt_id);
      assert.ok(ev);
      assert.equal(ev.body.outcome, 'denied');
      assert.equal(ev.body.gate_reason, 'invalid_token');
      assert.equal(ev.body.action, 'fs.write');
      // The stamp it claims to be exists in this tenant: the denial is part of that stamp's trace.
      assert.equal(ev.stamp_id, m.stamp_id);
      assert.deepEqual(ev.parents, [m.minted_receipt_id]);
      // The real token is unaffected.
      assert.equal((await introspect(h, m.token)).active, true);
    });

    test("another tenant's token is inactive; the denial is recorded in the caller's tenant only", async () => {
      const b = await h.newTenant(`other-${Date.now()}`);
      const theirs = await mint(h, {}, b.key);
      assert.equal((await introspect(h, theirs.token, {}, b.key)).active, true);
      assert.deepEqual(await introspect(h, theirs.token), { active: false });
      const theirEventsBefore = (await stampEvents(h, b.key)).length;
      const rec = await introspect(h, theirs.token, { record_action: 'net.fetch' });
      assert.deepEqual(Object.keys(rec).sort(), ['active', 'event_receipt_id']);
      const ev = (await stampEvents(h)).find((r) => r.receipt_id === rec.event_receipt_id);
      assert.equal(ev.body.outcome, 'denied');
      assert.equal(ev.body.gate_reason, 'unknown_stamp');
      assert.equal(ev.stamp_id, undefined);
      assert.equal(ev.tenant_id, h.tenantId);
      assert.equal((await stampEvents(h, b.key)).length, theirEventsBefore, 'nothing written into the other tenant');
      // Nor can the other tenant's stamp be read, tombstoned or reported on from here.
      assert.equal((await h.req('GET', `/v1/stamps/${theirs.stamp_id}`)).status, 404);
      assert.equal((await h.req('POST', `/v1/stamps/${theirs.stamp_id}/tombstone`, { outcome: 'revoked' })).status, 404);
      assert.equal((await h.req('POST', `/v1/stamps/${theirs.stamp_id}/events`, { action: 'x', outcome: 'denied' })).status, 404);
      assert.equal((await introspect(h, theirs.token, {}, b.key)).active, true);
    });

    test('a token signed by a key the ledger does not know is inactive, with a denied event when recording', async () => {
      const m = await mint(h);
      const claims = claimsOf(m.token);
      const { privateKey } = generateKeyPairSync('ed25519');
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'made-up-kid', typ: 'JWT' }).sign(privateKey);
      assert.deepEqual(await introspect(h, forged), { active: false });
      // A real kid with the wrong key is just a bad signature.
      const wrongKey = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: headerOf(m.token).kid, typ: 'JWT' }).sign(privateKey);
      assert.deepEqual(await introspect(h, wrongKey), { active: false });
      const rec = await introspect(h, forged, { record_action: 'shell.exec' });
      const ev = (await stampEvents(h)).find((r) => r.receipt_id === rec.event_receipt_id);
      assert.equal(ev.body.outcome, 'denied');
      assert.equal(ev.body.gate_reason, 'unknown_key');
      assert.equal(ev.stamp_id, m.stamp_id);
    });

    test('record_action on a valid token records executed; on a tombstoned one denied; it needs the write scope', async () => {
      const m = await mint(h);
      const ok = await introspect(h, m.token, { record_action: 'fs.read' });
      assert.equal(ok.active, true);
      await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'completed' });
      const no = await introspect(h, m.token, { record_action: 'fs.read' });
      assert.equal(no.active, false);
      assert.equal(no.inactive_reason, 'tombstoned');
      const hist = (await h.req('GET', `/v1/stamps/${m.stamp_id}`)).json.history;
      const events = hist.filter((r: { type: string }) => r.type === 'stamp.event');
      assert.deepEqual(events.map((e: any) => [e.body.action, e.body.outcome, e.body.gate_reason ?? null]), [
        ['fs.read', 'executed', null], ['fs.read', 'denied', 'tombstoned'],
      ]);
      // The trace reads: minted, executed, tombstoned, denied — the denial is visible instead of silence.
      assert.deepEqual(hist.map((r: { type: string }) => r.type), ['stamp.minted', 'stamp.event', 'stamp.tombstoned', 'stamp.event']);
      const reader = await h.services.tenants.createKey(h.tenantId, ['read']);
      assert.equal((await introspect(h, m.token, {}, reader.api_key)).active, false);
      const forbidden = await h.req('POST', '/v1/stamps/introspect', { token: m.token, record_action: 'x' }, reader.api_key);
      assert.equal(forbidden.status, 403);
    });

    test('POST /v1/stamps/{id}/events appends stamp.event receipts; a retried event_id is idempotent', async () => {
      const m = await mint(h);
      const e1 = await h.req('POST', `/v1/stamps/${m.stamp_id}/events`, { action: 'db.write', outcome: 'denied', gate_reason: 'outside scope', event_id: 'ev-1' });
      assert.equal(e1.status, 201);
      assert.equal(e1.json.receipt.type, 'stamp.event');
      assert.deepEqual(e1.json.receipt.parents, [m.minted_receipt_id]);
      const again = await h.req('POST', `/v1/stamps/${m.stamp_id}/events`, { action: 'db.write', outcome: 'denied', gate_reason: 'outside scope', event_id: 'ev-1' });
      assert.equal(again.status, 200);
      assert.equal(again.json.receipt.receipt_id, e1.json.receipt.receipt_id);
      // The same event_id with another decision is not a retry: refused, nothing written.
      const before = await h.services.store.countReceipts(h.tenantId);
      for (const other of [{ outcome: 'executed' }, { action: 'db.drop' }, { from: { kind: 'agent', id: 'other-gate' } }]) {
        const c = await h.req('POST', `/v1/stamps/${m.stamp_id}/events`, { action: 'db.write', outcome: 'denied', gate_reason: 'outside scope', event_id: 'ev-1', ...other });
        assert.equal(c.status, 409, JSON.stringify(c.json));
        assert.equal(c.json.code, 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT');
      }
      assert.equal(await h.services.store.countReceipts(h.tenantId), before);
      // An event_id names a decision under one stamp: another stamp may use the same one.
      const m2 = await mint(h);
      assert.equal((await h.req('POST', `/v1/stamps/${m2.stamp_id}/events`, { action: 'db.write', outcome: 'executed', event_id: 'ev-1' })).status, 201);
      const bad = await h.req('POST', `/v1/stamps/${m.stamp_id}/events`, { action: 'db.write', outcome: 'maybe' });
      assert.equal(bad.status, 400);
      assert.equal((await h.req('POST', '/v1/stamps/nope/events', { action: 'x', outcome: 'executed' })).status, 404);
    });

    test('POST /v1/stamps/{id}/events refuses a generation the stamp never had (422), and writes nothing', async () => {
      const m = await mint(h);
      await h.req('POST', `/v1/stamps/${m.stamp_id}/rotate`);
      for (const generation of [1, 2]) {
        assert.equal((await h.req('POST', `/v1/stamps/${m.stamp_id}/events`, { action: 'x', outcome: 'denied', generation })).status, 201);
      }
      const before = await h.services.store.countReceipts(h.tenantId);
      for (const generation of [3, 2 ** 53]) {
        const r = await h.req('POST', `/v1/stamps/${m.stamp_id}/events`, { action: 'x', outcome: 'executed', generation });
        assert.equal(r.status, 422, JSON.stringify(r.json));
        assert.equal(r.json.code, 'QUITTANCE_ERR_STAMP_GENERATION');
      }
      assert.equal(await h.services.store.countReceipts(h.tenantId), before);
    });

    test('rotate: the next generation is active and the previous one is not; a closed stamp cannot rotate', async () => {
      const m = await mint(h);
      const r = await h.req('POST', `/v1/stamps/${m.stamp_id}/rotate`);
      assert.equal(r.status, 201);
      assert.equal(r.json.stamp.generation, 2);
      assert.equal(r.json.receipt.type, 'stamp.rotated');
      assert.equal(claimsOf(r.json.token).gen, 2);
      assert.equal(claimsOf(r.json.token).stamp_id, m.stamp_id);
      assert.equal((await introspect(h, r.json.token)).active, true);
      const old = await introspect(h, m.token);
      assert.deepEqual(old, { active: false, stamp_id: m.stamp_id, state: 'active', inactive_reason: 'superseded_generation' });
      await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'completed' });
      const again = await h.req('POST', `/v1/stamps/${m.stamp_id}/rotate`);
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 'QUITTANCE_ERR_STAMP_NOT_ACTIVE');
      assert.equal((await introspect(h, r.json.token)).active, false);
    });

    test('after the TTL a token is inactive even before the sweep has run', async () => {
      const m = await mint(h, { ttl_seconds: 2 });
      assert.equal((await introspect(h, m.token)).active, true);
      h.clock.advance(2000);
      const a = await introspect(h, m.token);
      assert.equal(a.active, false);
      assert.equal(a.state, 'ambiguous');
      assert.equal(a.inactive_reason, 'expired');
    });

    test('rotate in the last fraction of a second of the TTL is refused: the token it would issue is already expired', async () => {
      h.clock.advance(500); // expiries off the whole second: a token's exp is rounded down
      const m = await mint(h, { ttl_seconds: 5 });
      h.clock.advance(4200);
      const early = await h.req('POST', `/v1/stamps/${m.stamp_id}/rotate`);
      assert.equal(early.status, 201);
      assert.equal((await introspect(h, early.json.token)).active, true);
      h.clock.advance(500); // 0.3 s before the TTL, past the token's exp
      const late = await h.req('POST', `/v1/stamps/${m.stamp_id}/rotate`);
      assert.equal(late.status, 409, JSON.stringify(late.json));
      assert.equal(late.json.code, 'QUITTANCE_ERR_STAMP_NOT_ACTIVE');
      const g = await h.req('GET', `/v1/stamps/${m.stamp_id}`);
      assert.equal(g.json.stamp.generation, 2, 'no generation was issued dead');
      assert.equal(g.json.history.filter((r: { type: string }) => r.type === 'stamp.rotated').length, 1);
    });
  });
}
