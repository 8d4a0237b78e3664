import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { compactVerify, createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildApp, createServices, type Services } from '../../src/server/index.js';
import { StampGate } from '../../src/stamps/gate.js';
import { harness, type Harness } from '../helpers.js';
import { claimsOf, mint, stampEvents, tamper } from './helpers.js';

/** An offline verifier written only against the documented formats, with jose for the signatures. */
class JoseVerifier {
  jwks: JSONWebKeySet = { keys: [] };
  list: { sub: string; status_list: { base: number; size: number; lst: string }; generations: Record<string, number> } | undefined;
  bits = Buffer.alloc(0);

  constructor(private readonly url: string, private readonly key: string) {}

  async refresh(): Promise<void> {
    this.jwks = (await (await fetch(`${this.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const res = await fetch(`${this.url}/v1/stamps/status`, { headers: { authorization: `Bearer ${this.key}` } });
    assert.equal(res.headers.get('content-type'), 'application/statuslist+jwt');
    const jws = await res.text();
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(this.jwks));
    assert.equal(protectedHeader.typ, 'statuslist+jwt');
    this.list = JSON.parse(new TextDecoder().decode(payload));
    this.bits = this.list!.status_list.size === 0 ? Buffer.alloc(0) : inflateSync(Buffer.from(this.list!.status_list.lst, 'base64url'));
  }

  /** true = the token is valid and its stamp is not closed, per the last list fetched. */
  async valid(token: string, now: Date): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(this.jwks), { algorithms: ['EdDSA'], currentDate: now });
      const l = this.list!;
      if (payload['tenant'] !== l.sub) return false;
      const idx = (payload['status'] as { idx: number }).idx;
      const p = idx - l.status_list.base;
      if (p < 0) return false;
      if (p < l.status_list.size && (this.bits[p >> 3]! >> (p & 7)) & 1) return false;
      const gen = l.generations[payload['stamp_id'] as string];
      return gen === undefined || gen <= (payload['gen'] as number);
    } catch {
      return false;
    }
  }
}

describe('offline verification: JWKS + the signed status list, with jose', () => {
  let h: Harness;
  let a: FastifyInstance;
  let b: { services: Services; app: FastifyInstance };
  let urlA: string;
  let urlB: string;
  before(async () => {
    h = await harness();
    a = h.app;
    urlA = await a.listen({ port: 0, host: '127.0.0.1' });
    // A second server on the same ledger (another process in production): revocations written there must
    // reach verifiers that fetch from server A within a second.
    const services = createServices({ dataDir: h.dir, clock: h.clock });
    b = { services, app: await buildApp(services) };
    urlB = await b.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await b.app.close();
    await b.services.store.close();
    await h.close();
  });

  test('a revocation written on another server reaches an offline jose verifier within 1 s', async () => {
    const m = await mint(h, { ttl_seconds: 3600 });
    const keep = await mint(h, { ttl_seconds: 3600 });
    const v = new JoseVerifier(urlA, h.key);
    await v.refresh();
    const now = new Date(h.clock.now());
    assert.equal(await v.valid(m.token, now), true);
    assert.equal(await v.valid(keep.token, now), true);
    assert.equal(await v.valid(tamper(m.token), now), false);

    const res = await fetch(`${urlB}/v1/stamps/${m.stamp_id}/tombstone`, {
      method: 'POST', headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ outcome: 'revoked' }),
    });
    assert.equal(res.status, 201);
    const t0 = Date.now();
    // The verifier refreshes every 200 ms, as a gate would.
    while (await v.valid(m.token, now)) {
      assert.ok(Date.now() - t0 < 1000, 'revocation not visible within 1 s');
      await sleep(200);
      await v.refresh();
    }
    const seenAfter = Date.now() - t0;
    assert.ok(seenAfter < 1000, `seen after ${seenAfter} ms`);
    assert.equal(await v.valid(keep.token, now), true, 'other stamps are unaffected');
  });

  test('rotation is in the list: the previous generation fails offline, the new one passes', async () => {
    const m = await mint(h);
    const r = await h.req('POST', `/v1/stamps/${m.stamp_id}/rotate`);
    const v = new JoseVerifier(urlA, h.key);
    await v.refresh();
    assert.equal(v.list!.generations[m.stamp_id], 2);
    const now = new Date(h.clock.now());
    assert.equal(await v.valid(r.json.token, now), true);
    assert.equal(await v.valid(m.token, now), false);
  });

  test("the list is per tenant: another tenant's valid token does not pass this tenant's verifier", async () => {
    const other = await h.newTenant(`o-${Date.now()}`);
    const theirs = await mint(h, {}, other.key);
    const v = new JoseVerifier(urlA, h.key);
    await v.refresh();
    assert.equal(v.list!.sub, h.tenantId);
    assert.equal(await v.valid(theirs.token, new Date(h.clock.now())), false);
  });

  test('StampGate: offline decisions recorded in the ledger; a tombstone on another server is seen within 1 s', async () => {
    const gate = new StampGate({ url: urlA, apiKey: h.key, refreshMs: 200, now: () => h.clock.now() + (Date.now() - started) });
    const started = Date.now();
    const m = await mint(h);
    const ok = await gate.decide(m.token, 'fs.write');
    assert.equal(ok.allowed, true);
    assert.equal(ok.stamp_id, m.stamp_id);
    assert.ok(ok.event_receipt_id);

    await fetch(`${urlB}/v1/stamps/${m.stamp_id}/tombstone`, {
      method: 'POST', headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ outcome: 'completed' }),
    });
    const t0 = Date.now();
    let d = await gate.verify(m.token);
    while (d.allowed && Date.now() - t0 < 1500) {
      await sleep(20);
      d = await gate.verify(m.token);
    }
    assert.equal(d.allowed, false);
    assert.equal(d.reason, 'closed');
    assert.ok(Date.now() - t0 < 1000, `the gate saw the tombstone after ${Date.now() - t0} ms`);

    const denied = await gate.decide(m.token, 'fs.write');
    assert.equal(denied.allowed, false);
    const forged = await gate.decide(tamper(m.token), 'fs.write');
    assert.equal(forged.allowed, false);
    assert.equal(forged.reason, 'invalid_token');
    assert.equal(forged.stamp_id, m.stamp_id, 'the stamp the token names, as the receipt does');
    assert.equal(forged.claims, undefined);

    const other = await h.newTenant(`g-${Date.now()}`);
    const theirs = await mint(h, {}, other.key);
    const foreign = await gate.decide(theirs.token, 'fs.write');
    assert.deepEqual([foreign.allowed, foreign.reason], [false, 'unknown_stamp']);

    const events = await stampEvents(h);
    const byId = new Map(events.map((e) => [e.receipt_id, e]));
    assert.equal(byId.get(foreign.event_receipt_id)!.body.outcome, 'denied');
    assert.equal(byId.get(foreign.event_receipt_id)!.stamp_id, undefined);
    assert.equal(byId.get(ok.event_receipt_id)!.body.outcome, 'executed');
    assert.equal(byId.get(denied.event_receipt_id)!.body.outcome, 'denied');
    assert.equal(byId.get(denied.event_receipt_id)!.body.gate_reason, 'closed');
    assert.equal(byId.get(forged.event_receipt_id)!.body.outcome, 'denied');
    assert.equal(byId.get(forged.event_receipt_id)!.stamp_id, m.stamp_id);
    gate.stop();
  });

  test('StampGate fails closed when it cannot get a fresh status list', async () => {
    const m = await mint(h);
    let up = true;
    const realFetch = globalThis.fetch;
    let clock = h.clock.now();
    const gate = new StampGate({
      url: urlA, apiKey: h.key, refreshMs: 100, maxStalenessMs: 1000, now: () => clock,
      fetch: ((input: string | URL | Request, init?: RequestInit) => (up ? realFetch(input, init) : Promise.reject(new Error('down')))) as typeof fetch,
    });
    assert.equal((await gate.verify(m.token)).allowed, true);
    up = false;
    clock += 500;
    assert.equal((await gate.verify(m.token)).allowed, true, 'a list younger than maxStalenessMs is still used');
    clock += 1000;
    const d = await gate.verify(m.token);
    assert.deepEqual([d.allowed, d.reason], [false, 'status_unavailable']);
    assert.equal(claimsOf(m.token).stamp_id, d.stamp_id);
  });

  test('StampGate fails closed, in time, when the ledger takes the connection and never answers', { timeout: 20_000 }, async () => {
    const m = await mint(h);
    let hung = false;
    const realFetch = globalThis.fetch;
    const gate = new StampGate({
      url: urlA, apiKey: h.key, refreshMs: 100, maxStalenessMs: 1000, now: () => h.clock.now(), monotonic: () => performance.now(),
      // A hung ledger (or a black-holed route): nothing comes back until the request is aborted.
      fetch: ((input: string | URL | Request, init?: RequestInit) => hung
        ? new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))
        : realFetch(input, init)) as typeof fetch,
    });
    assert.equal((await gate.verify(m.token)).allowed, true);
    hung = true;
    await sleep(1100);
    const started = performance.now();
    // Before, the check waited on the hung fetch (fetch's own limit is 5 minutes), and so did every check after it.
    const d = await Promise.race([gate.verify(m.token), sleep(8000).then(() => 'still waiting' as const)]);
    assert.notEqual(d, 'still waiting');
    assert.deepEqual(d !== 'still waiting' && [d.allowed, d.reason], [false, 'status_unavailable']);
    assert.ok(performance.now() - started < 3000);
  });

  test('StampGate denies (status_unavailable) instead of throwing when it cannot fetch the JWKS', async () => {
    const m = await mint(h);
    const realFetch = globalThis.fetch;
    let jwks: 'down' | '503' | 'up' = 'down';
    const gate = new StampGate({
      url: urlA, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now(),
      fetch: ((input: string | URL | Request, init?: RequestInit) => {
        if (!String(input).endsWith('/.well-known/jwks.json') || jwks === 'up') return realFetch(input, init);
        return jwks === 'down' ? Promise.reject(new TypeError('fetch failed')) : Promise.resolve(new Response('<html>bad gateway</html>', { status: 503 }));
      }) as typeof fetch,
    });
    // A gate that has never loaded the keys, with the ledger unreachable, then answering a proxy's 503.
    assert.deepEqual(await gate.verify(m.token), { allowed: false, reason: 'status_unavailable', stamp_id: m.stamp_id });
    await sleep(110);
    jwks = '503';
    assert.deepEqual(await gate.verify(m.token), { allowed: false, reason: 'status_unavailable', stamp_id: m.stamp_id });
    await sleep(110);
    jwks = 'up';
    assert.equal((await gate.verify(m.token)).allowed, true);
  });

  test('StampGate.decide: when the gate cannot name the stamp, its answer is the verdict the ledger recorded', async () => {
    const m = await mint(h);
    const realFetch = globalThis.fetch;
    let jwks: 'without-keys' | '503' = 'without-keys';
    // A JWKS that lacks the signing key (fetched from a server whose cache predates a key rotation), then one that fails.
    const gate = new StampGate({
      url: urlA, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now(),
      fetch: (async (input: string | URL | Request, init?: RequestInit) => {
        if (!String(input).endsWith('/.well-known/jwks.json')) return realFetch(input, init);
        return jwks === '503' ? new Response('bad gateway', { status: 503 }) : Response.json({ keys: [] });
      }) as typeof fetch,
    });
    const recorded = async (d: { event_receipt_id?: string }) => (await stampEvents(h)).find((e) => e.receipt_id === d.event_receipt_id)!.body.outcome;
    for (const mode of ['without-keys', '503'] as const) {
      jwks = mode;
      await sleep(110);
      const d = await gate.decide(m.token, 'fs.write');
      assert.equal(await recorded(d), 'executed', 'the ledger knows the key and the stamp is active');
      assert.equal(d.allowed, true, `${mode}: the gate answers what the ledger recorded`);
      assert.equal(d.stamp_id, m.stamp_id);
      assert.equal(d.claims!.gen, 1);
    }
    await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'revoked' });
    await sleep(110);
    const no = await gate.decide(m.token, 'fs.write');
    assert.equal(no.allowed, false);
    assert.equal(await recorded(no), 'denied');
  });

  test("StampGate.decide: a denial the ledger judged names the stamp and the ledger's reason, as the receipt does", async () => {
    const closed = await mint(h);
    const superseded = await mint(h);
    await h.req('POST', `/v1/stamps/${closed.stamp_id}/tombstone`, { outcome: 'revoked' });
    await h.req('POST', `/v1/stamps/${superseded.stamp_id}/rotate`);
    // The gate's JWKS lacks the signing key (fetched before a key rotation reached it): the ledger judges.
    const realFetch = globalThis.fetch;
    const gate = new StampGate({
      url: urlA, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now(),
      fetch: (async (input: string | URL | Request, init?: RequestInit) =>
        String(input).endsWith('/.well-known/jwks.json') ? Response.json({ keys: [] }) : realFetch(input, init)) as typeof fetch,
    });
    const receipt = async (d: { event_receipt_id?: string }) => (await stampEvents(h)).find((e) => e.receipt_id === d.event_receipt_id)!;
    for (const [m, reason, gateReason] of [[closed, 'closed', 'tombstoned'], [superseded, 'superseded_generation', 'superseded_generation']] as const) {
      const d = await gate.decide(m.token, 'fs.write');
      const r = await receipt(d);
      assert.deepEqual([r.body.outcome, r.body.gate_reason, r.stamp_id], ['denied', gateReason, m.stamp_id]);
      assert.equal(d.allowed, false);
      assert.equal(d.stamp_id, m.stamp_id, 'the ledger named the stamp');
      assert.equal(d.reason, reason);
      assert.equal(d.claims?.stamp_id, m.stamp_id);
    }
    // A forged token is recorded under the stamp it names: the answer names it too, with no claims (none verified).
    const forged = await gate.decide(tamper(closed.token), 'fs.write');
    assert.deepEqual([forged.allowed, forged.reason, forged.stamp_id, forged.claims], [false, 'unknown_key', closed.stamp_id, undefined]);
    assert.equal((await receipt(forged)).stamp_id, closed.stamp_id);
  });

  test("StampGate.decide denies another tenant's expired token (recorded in ours) instead of throwing", async () => {
    const other = await h.newTenant(`x-${Date.now()}`);
    const theirs = await mint(h, { ttl_seconds: 2 }, other.key);
    const ours = await mint(h, { ttl_seconds: 2 });
    h.clock.advance(2000);
    for (const warm of [true, false]) {
      const gate = new StampGate({ url: urlA, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now() });
      if (warm) await gate.refresh(); // the gate knows its tenant from a list; without one, it asks the ledger
      const d = await gate.decide(theirs.token, 'fs.write');
      assert.equal(d.allowed, false);
      assert.equal(d.stamp_id, theirs.stamp_id);
      const r = (await stampEvents(h)).find((e) => e.receipt_id === d.event_receipt_id);
      assert.ok(r, 'the denial is recorded in the gate\'s tenant');
      assert.deepEqual([r.body.outcome, r.stamp_id], ['denied', undefined]);
      // Our own expired stamp is still reported under it, with the gate's reason.
      const own = await gate.decide(ours.token, 'fs.write');
      assert.deepEqual([own.allowed, own.reason, own.stamp_id], [false, 'expired', ours.stamp_id]);
      assert.equal((await stampEvents(h)).find((e) => e.receipt_id === own.event_receipt_id)?.stamp_id, ours.stamp_id);
    }
  });

  test('StampGate.decide denies (status_unavailable) instead of throwing when the ledger cannot record the decision', async () => {
    const m = await mint(h);
    const realFetch = globalThis.fetch;
    let ledger: 'up' | 'down' | '503' | '403' = 'up';
    let mono = performance.now();
    const gate = new StampGate({
      url: urlA, apiKey: h.key, refreshMs: 100, maxStalenessMs: 1000, now: () => h.clock.now(), monotonic: () => mono,
      fetch: ((input: string | URL | Request, init?: RequestInit) => {
        if (ledger === 'up' || (init?.method !== 'POST' && ledger !== 'down')) return realFetch(input, init);
        if (ledger === 'down') return Promise.reject(new TypeError('fetch failed'));
        return Promise.resolve(new Response('{"code":"X"}', { status: ledger === '503' ? 503 : 403 }));
      }) as typeof fetch,
    });
    assert.equal((await gate.decide(m.token, 'fs.write')).allowed, true);
    // The list is fresh, the token valid: the action may not run unrecorded.
    for (const mode of ['down', '503'] as const) {
      ledger = mode;
      const d = await gate.decide(m.token, 'fs.write');
      assert.deepEqual([d.allowed, d.reason, d.stamp_id, d.event_receipt_id], [false, 'status_unavailable', m.stamp_id, undefined], mode);
    }
    // The list has gone stale with the ledger out of reach: denied, as verify() says, not thrown.
    ledger = 'down';
    mono += 2000;
    const stale = await gate.decide(m.token, 'fs.write');
    assert.deepEqual([stale.allowed, stale.reason, stale.stamp_id], [false, 'status_unavailable', m.stamp_id]);
    assert.deepEqual([(await gate.decide('not-a-token', 'fs.write')).allowed], [false]);
    // A refusal by the ledger (a key without the write scope) is a configuration error: still thrown.
    ledger = '403';
    mono += 2000;
    await assert.rejects(gate.decide(m.token, 'fs.write'), /403/);
  });

  test('StampGate loads a status list longer than a token: one long-lived stamp under a busy ledger', async () => {
    const other = await h.newTenant(`big-${Date.now()}`);
    const m = await mint(h, {}, other.key);
    const reads = h.services.store.stamps;
    const real = reads.liveStamps.bind(reads);
    // Live beside it, a stamp minted 100M receipts later and closed: 12.5 MB of bits, ~16 KB of JWS.
    reads.liveStamps = async (tenantId, nowMs) => {
      const live = await real(tenantId, nowMs);
      return tenantId !== other.tenantId ? live : [...live, { stamp_id: 'new', status_idx: 100_000_000, state: 'tombstoned', generation: 1 }];
    };
    try {
      const size = (await (await fetch(`${urlA}/v1/stamps/status`, { headers: { authorization: `Bearer ${other.key}` } })).text()).length;
      assert.ok(size > 16_384, `the list is ${size} characters`);
      const gate = new StampGate({ url: urlA, apiKey: other.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now() });
      await gate.refresh();
      assert.deepEqual(await gate.verify(m.token), { allowed: true, stamp_id: m.stamp_id, claims: claimsOf(m.token) });
    } finally {
      reads.liveStamps = real;
    }
  });

  test('StampGate: a revoked token stays refused once its TTL passes on the ledger, even on a gate whose clock is behind', async () => {
    const keep = await mint(h, { ttl_seconds: 3600 });
    const revoked = await mint(h, { ttl_seconds: 2 });
    await h.req('POST', `/v1/stamps/${revoked.stamp_id}/tombstone`, { outcome: 'revoked' });
    const newer = await mint(h, { ttl_seconds: 3600 });
    // This machine's wall clock is 1.5 s behind the ledger's.
    const gate = new StampGate({ url: urlA, apiKey: h.key, refreshMs: 100, now: () => h.clock.now() - 1500, monotonic: () => performance.now() });
    assert.deepEqual([(await gate.verify(revoked.token)).allowed, (await gate.verify(revoked.token)).reason], [false, 'closed']);
    // The TTL passes on the ledger: its status list no longer covers the stamp, while the token's exp is still
    // ahead on the gate's clock.
    h.clock.advance(2100);
    await sleep(300);
    const d = await gate.verify(revoked.token);
    assert.deepEqual([d.allowed, d.reason], [false, 'expired']);
    assert.equal((await gate.verify(keep.token)).allowed, true);
    assert.equal((await gate.verify(newer.token)).allowed, true);
  });

  test('StampGate measures list ages on a clock that never steps: a wall clock set back does not keep a list fresh', async () => {
    const m = await mint(h);
    let up = true;
    const realFetch = globalThis.fetch;
    const wallStart = h.clock.now();
    let wall = wallStart;
    let mono = 0;
    const gate = new StampGate({
      url: urlA, apiKey: h.key, refreshMs: 100, maxStalenessMs: 1000, now: () => wall, monotonic: () => mono,
      fetch: ((input: string | URL | Request, init?: RequestInit) => (up ? realFetch(input, init) : Promise.reject(new Error('down')))) as typeof fetch,
    });
    assert.equal((await gate.verify(m.token)).allowed, true);
    up = false;
    // Two seconds pass while the wall clock is set back an hour (the token's own expiry is still far off).
    mono += 2000;
    wall = wallStart - 3600_000;
    const d = await gate.verify(m.token);
    assert.deepEqual([d.allowed, d.reason], [false, 'status_unavailable']);
  });
});
