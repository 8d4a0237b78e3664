/**
 * StampGate against a real server: how it loads the status list (off the event loop, once for many checks), how it
 * takes lists from servers whose clocks disagree, and how it records its decisions when answers are lost.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { syncBuiltinESMExports } from 'node:module';
import zlib from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import { buildApp, createServices, type Services } from '../../src/server/index.js';
import { StampGate } from '../../src/stamps/gate.js';
import { harness, type Harness } from '../helpers.js';
import { claimsOf, mint, stampEvents } from './helpers.js';

type Fetch = typeof fetch;

/** A fetch that counts the status lists it asked for, and forwards everything to the real one. */
function countingFetch(): { fetch: Fetch; lists: () => number } {
  let lists = 0;
  const fetchFn = ((input: string | URL | Request, init?: RequestInit) => {
    if (String(input).endsWith('/v1/stamps/status')) lists++;
    return globalThis.fetch(input, init);
  }) as Fetch;
  return { fetch: fetchFn, lists: () => lists };
}

describe('StampGate: loading the status list', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness();
    url = await (h.app as FastifyInstance).listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => h.close());

  test('a big status list is unpacked off the event loop (zlib on the thread pool, never inflateSync)', async () => {
    const other = await h.newTenant(`big-${Date.now()}`);
    const m = await mint(h, {}, other.key);
    const reads = h.services.store.stamps;
    const real = reads.liveStamps.bind(reads);
    // One long-lived stamp and one minted 100M receipts later: 12.5 MB of bits to unpack, 12-95 ms of inflate.
    reads.liveStamps = async (tenantId, nowMs) => {
      const live = await real(tenantId, nowMs);
      return tenantId !== other.tenantId ? live : [...live, { stamp_id: 'new', status_idx: 100_000_000, state: 'tombstoned', generation: 1 }];
    };
    const inflateSync = zlib.inflateSync;
    let syncCalls = 0;
    zlib.inflateSync = ((...args: Parameters<typeof inflateSync>) => {
      syncCalls++;
      return inflateSync(...args);
    }) as typeof inflateSync;
    syncBuiltinESMExports();
    try {
      const gate = new StampGate({ url, apiKey: other.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now() });
      await gate.refresh();
      assert.deepEqual(await gate.verify(m.token), { allowed: true, stamp_id: m.stamp_id, claims: claimsOf(m.token) });
      assert.equal(syncCalls, 0, 'the list was unpacked with inflateSync, holding every check of the gate meanwhile');
    } finally {
      zlib.inflateSync = inflateSync;
      syncBuiltinESMExports();
      reads.liveStamps = real;
    }
  });

  test('concurrent checks that need a list fetch and unpack it once', async () => {
    const m = await mint(h);
    const counting = countingFetch();
    let mono = 0;
    const gate = new StampGate({ url, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => mono, fetch: counting.fetch });
    await gate.refresh(); // the keys, and a first list
    assert.equal(counting.lists(), 1);
    mono += 150; // the list is due
    const ds = await Promise.all(Array.from({ length: 20 }, () => gate.verify(m.token)));
    assert.ok(ds.every((d) => d.allowed));
    assert.equal(counting.lists(), 2, 'twenty checks of a due list fetched it once');
  });
});

describe('StampGate: lists from servers whose clocks disagree, and clocks that step', () => {
  let h: Harness;
  let urlA: string;
  let b: { services: Services; app: FastifyInstance; clock: ManualClock };
  let urlB: string;
  before(async () => {
    h = await harness();
    urlA = await h.app.listen({ port: 0, host: '127.0.0.1' });
    // A second server on the same ledger behind the same load balancer, its clock 600 ms ahead of A's, keeping its
    // lists a while (a list it built before a tombstone written on A is what it still serves).
    const clock = new ManualClock(h.clock.now() + 600);
    const services = createServices({ dataDir: h.dir, clock, config: { stamps: { statusListCacheMs: 60_000 } } });
    b = { services, app: await buildApp(services), clock };
    urlB = await b.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await b.app.close();
    await b.services.store.close();
    await h.close();
  });

  /** A fetch that sends status-list requests to whichever server `to.server` names, as a load balancer would. */
  function balanced(to: { server: 'A' | 'B' }): Fetch {
    return ((input: string | URL | Request, init?: RequestInit) => {
      const u = String(input);
      return globalThis.fetch(to.server === 'B' && u.startsWith(urlA) ? urlB + u.slice(urlA.length) : u, init);
    }) as Fetch;
  }

  test('a list whose server clock is behind the last one is used, and never reopens a stamp an earlier list closed', async () => {
    const m = await mint(h);
    const to = { server: 'B' as 'A' | 'B' };
    let mono = 0;
    const gate = new StampGate({ url: urlA, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => mono, fetch: balanced(to) });
    assert.equal((await gate.verify(m.token)).allowed, true); // B's list: built at A's time + 600 ms
    await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'revoked' });
    // A's list, 600 ms "older" by its iat than B's: before, the gate ignored it and went on allowing the revoked stamp.
    to.server = 'A';
    mono += 150;
    assert.deepEqual(pick(await gate.verify(m.token)), [false, 'closed']);
    // B again, with the list it built before the tombstone: it is the newest by its clock, yet does not reopen.
    to.server = 'B';
    mono += 150;
    assert.deepEqual(pick(await gate.verify(m.token)), [false, 'closed']);
    // Only A answers from now on: its lists are used (before, they were refused as older than B's, and once B's
    // went stale every check was denied, status_unavailable) and the gate keeps deciding.
    to.server = 'A';
    const keep = await mint(h);
    for (let i = 0; i < 10; i++) {
      mono += 700;
      assert.deepEqual(pick(await gate.verify(keep.token)), [true, undefined], `after ${mono} ms`);
      assert.deepEqual(pick(await gate.verify(m.token)), [false, 'closed']);
    }
  });

  test("a server clock stepped back (NTP) stops the gate for at most maxStalenessMs, not until the clock catches up", async () => {
    const m = await mint(h);
    let mono = 0;
    const gate = new StampGate({ url: urlA, apiKey: h.key, refreshMs: 100, maxStalenessMs: 1000, now: () => h.clock.now(), monotonic: () => mono });
    assert.equal((await gate.verify(m.token)).allowed, true);
    const before = h.clock.now();
    h.clock.set(before - 10_000);
    try {
      await sleep(300); // A's cached list runs out
      mono += 150;
      // The list built on the stepped clock is ten seconds older by its iat than the one held: not taken while that
      // one is usable (it might be a stale or replayed list).
      assert.deepEqual(pick(await gate.verify(m.token)), [true, undefined]);
      mono += 2000;
      // The held list is stale: before, every check was denied (status_unavailable) for as long as the server's
      // clock stayed behind the list's iat.
      assert.deepEqual(pick(await gate.verify(m.token)), [true, undefined]);
      await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'revoked' });
      mono += 150;
      assert.deepEqual(pick(await gate.verify(m.token)), [false, 'closed']);
    } finally {
      h.clock.set(before);
    }
  });

  test("the gate's own clock stepped back (a gate given only `now`) does not keep an old list in use", async () => {
    const m = await mint(h);
    let wall = h.clock.now();
    const gate = new StampGate({ url: urlA, apiKey: h.key, refreshMs: 100, now: () => wall });
    assert.equal((await gate.verify(m.token)).allowed, true);
    wall -= 3600_000; // NTP sets this machine back an hour
    await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'revoked' });
    // Before, the list's age was negative, so it was never due: the revoked stamp stayed allowed for an hour.
    assert.deepEqual(pick(await gate.verify(m.token)), [false, 'closed']);
  });
});

function pick(d: { allowed: boolean; reason?: string }): [boolean, string | undefined] {
  return [d.allowed, d.reason];
}

describe('StampGate.decide: tokens the ledger would refuse to read', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness();
    url = await h.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => h.close());

  test('an oversized or malformed token (NUL, a lone surrogate) is denied and the denial recorded, not thrown', async () => {
    const gate = new StampGate({ url, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now() });
    await gate.refresh();
    // What an agent hands its gate is untrusted. Before, each of these went to introspection as it was, which the
    // ledger refuses with a 400 (longer than 16 KB, a NUL, an unpaired surrogate), and decide() threw.
    for (const token of ['x'.repeat(20_000), 'eyJ.eyJ\u0000.c2ln', 'eyJ.\ud800.c2ln']) {
      const d = await gate.decide(token, 'fs.write');
      assert.deepEqual([d.allowed, d.reason], [false, 'invalid_token']);
      const r = (await stampEvents(h)).find((e) => e.receipt_id === d.event_receipt_id);
      assert.deepEqual([r?.body.outcome, r?.body.gate_reason], ['denied', 'invalid_token']);
    }
  });
});

describe('StampGate.decide: recording a decision whose answer is lost', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness();
    url = await h.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => h.close());

  test('the decision is sent again and answered as the ledger recorded it, once', async () => {
    const m = await mint(h);
    let lose = 0;
    // The ledger records the event, then the answer is lost on the way back (a reset connection, a proxy timeout).
    const lossy = (async (input: string | URL | Request, init?: RequestInit) => {
      const res = await globalThis.fetch(input, init);
      if (String(input).endsWith('/events') && lose > 0) {
        lose--;
        await res.text();
        throw new TypeError('fetch failed');
      }
      return res;
    }) as Fetch;
    const gate = new StampGate({ url, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now(), fetch: lossy });
    const closed = await mint(h);
    await h.req('POST', `/v1/stamps/${closed.stamp_id}/tombstone`, { outcome: 'revoked' });
    await gate.refresh();
    for (const [stamp, outcome] of [[m, 'executed'], [closed, 'denied']] as const) {
      lose = 2;
      const d = await gate.decide(stamp.token, 'fs.write');
      const mine = (await stampEvents(h)).filter((e) => e.stamp_id === stamp.stamp_id && e.type === 'stamp.event');
      // Before: an executed decision whose answer was lost was answered denied (status_unavailable), while the
      // ledger kept it as executed; a resend without an event_id would have recorded it twice.
      assert.equal(mine.length, 1, `one ${outcome} receipt`);
      assert.equal(d.event_receipt_id, mine[0].receipt_id);
      assert.equal(d.allowed, outcome === 'executed');
    }
  });

  test('a denial for want of the ledger (status_unavailable) is sent once, not again: the check does not wait out timeoutMs', async () => {
    const m = await mint(h);
    let down = false;
    let posts = 0;
    const fetchFn = ((input: string | URL | Request, init?: RequestInit) => {
      if (init?.method === 'POST') posts++;
      return down ? Promise.reject(new TypeError('fetch failed')) : globalThis.fetch(input, init);
    }) as Fetch;
    let mono = 0;
    const gate = new StampGate({ url, apiKey: h.key, refreshMs: 100, maxStalenessMs: 1000, now: () => h.clock.now(), monotonic: () => mono, fetch: fetchFn });
    await gate.refresh();
    down = true;
    mono += 2000;
    const d = await gate.decide(m.token, 'fs.write');
    assert.deepEqual([d.allowed, d.reason], [false, 'status_unavailable']);
    assert.equal(posts, 1, 'the ledger is known to be out of reach: resending only delays the refusal');
  });

  test('a decision the ledger judges (the gate cannot name the stamp) is sent again too, and answered as recorded', async () => {
    const m = await mint(h);
    let lose = 0;
    // The gate's JWKS lacks the signing key (fetched before a key rotation reached it): the ledger judges the token.
    const lossy = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/.well-known/jwks.json')) return Response.json({ keys: [] });
      const res = await globalThis.fetch(input, init);
      if (String(input).endsWith('/introspect') && lose > 0) {
        lose--;
        await res.text();
        throw new TypeError('fetch failed');
      }
      return res;
    }) as Fetch;
    const gate = new StampGate({ url, apiKey: h.key, refreshMs: 100, now: () => h.clock.now(), monotonic: () => performance.now(), fetch: lossy });
    lose = 2;
    const d = await gate.decide(m.token, 'fs.write');
    const mine = (await stampEvents(h)).filter((e) => e.stamp_id === m.stamp_id);
    // Before: answered denied while the ledger recorded it executed, and a resend would have recorded it again.
    assert.deepEqual(mine.map((e) => e.body.outcome), ['executed']);
    assert.deepEqual([d.allowed, d.event_receipt_id], [true, mine[0].receipt_id]);
  });
});

test('StampGate refuses a time bound that is not a finite number of milliseconds at least 0', () => {
  const base = { url: 'http://127.0.0.1:1', apiKey: 'qk_x.y' };
  for (const name of ['refreshMs', 'maxStalenessMs', 'maxSkewMs', 'timeoutMs'] as const) {
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new StampGate({ ...base, [name]: bad }), (e: unknown) => e instanceof RangeError && e.message.includes(name), `${name} ${bad}`);
    }
    assert.doesNotThrow(() => new StampGate({ ...base, [name]: 0 }));
  }
  assert.doesNotThrow(() => new StampGate(base));
});
