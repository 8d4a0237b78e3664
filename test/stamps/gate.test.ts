/**
 * StampGate against a real server: how it loads the status list (off the event loop, once for many checks), how it
 * takes lists from servers whose clocks disagree, and how it records its decisions when answers are lost.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { syncBuiltinESMExports } from 'node:module';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { StampGate } from '../../src/stamps/gate.js';
import { harness, type Harness } from '../helpers.js';
import { claimsOf, mint } from './helpers.js';

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
