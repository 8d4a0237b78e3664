import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StatusBits, buildStatusBits } from '../../src/stamps/status-list.js';
import type { LiveStampStatus, StampState } from '../../src/stamps/types.js';

test('status list bits: every closed live stamp reads closed, every other slot open; outside the window is reported as such', () => {
  const states: StampState[] = ['active', 'tombstoned', 'ambiguous'];
  fc.assert(fc.property(
    fc.uniqueArray(fc.integer({ min: 1, max: 50_000 }), { minLength: 0, maxLength: 300 }),
    fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 300, maxLength: 300 }),
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 300, maxLength: 300 }),
    (idxs, st, gens) => {
      const live: LiveStampStatus[] = idxs.map((idx, i) => ({ stamp_id: `s${idx}`, status_idx: idx, state: states[st[i]!]!, generation: gens[i]! }));
      const { status_list, generations } = buildStatusBits(live);
      const bits = new StatusBits(JSON.parse(JSON.stringify(status_list)));
      for (const s of live) {
        assert.equal(bits.slot(s.status_idx), s.state === 'active' ? 'open' : 'closed');
        assert.equal(generations[s.stamp_id], s.state === 'active' && s.generation > 1 ? s.generation : undefined);
      }
      if (live.length > 0) {
        const min = Math.min(...idxs);
        const max = Math.max(...idxs);
        assert.equal(bits.slot(min - 1), 'before_list');
        assert.equal(bits.slot(max + 1), 'after_list');
        for (let i = min; i <= max; i++) if (!idxs.includes(i)) assert.equal(bits.slot(i), 'open');
      } else {
        assert.equal(bits.slot(1), 'after_list');
      }
    },
  ), { numRuns: 100 });
});

test('a status list whose bits do not match its declared size is refused', async () => {
  const { status_list } = buildStatusBits([{ stamp_id: 'a', status_idx: 10, state: 'tombstoned', generation: 1 }, { stamp_id: 'b', status_idx: 400, state: 'active', generation: 1 }]);
  assert.throws(() => new StatusBits({ ...status_list, size: status_list.size * 8 }));
  assert.throws(() => new StatusBits({ ...status_list, size: 8 }));
  await assert.rejects(StatusBits.unpack({ ...status_list, size: status_list.size * 8 }));
  await assert.rejects(StatusBits.unpack({ ...status_list, size: 8 }));
  const bits = await StatusBits.unpack(status_list);
  assert.deepEqual([bits.slot(10), bits.slot(11), bits.slot(400)], ['closed', 'open', 'open']);
});

test('building a status list whose stamps span 100M seqs does not hold the event loop for its compression', async () => {
  const { harness } = await import('../helpers.js');
  // Every request builds the list anew, so three builds can be measured one after the other.
  const h = await harness({ config: { stamps: { statusListCacheMs: 1 } } });
  try {
    // One stamp minted long ago and one just now, under a busy ledger: the bit array spans every seq between them.
    const span = 100_000_000;
    h.services.store.stamps.liveStamps = async () => [
      { stamp_id: 'old', status_idx: 1, state: 'active', generation: 1 },
      { stamp_id: 'new', status_idx: span, state: 'tombstoned', generation: 1 },
    ];
    await h.services.stamps.ensureKeys();
    let longest = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    let jws = '';
    // The longest stall of each build; the least of three, so a garbage collection or a busy machine during one
    // build does not decide (synchronous deflate of the 12.5 MB array stalled every build ~60-90 ms).
    const stalls: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        longest = 0;
        jws = await h.services.stamps.statusList(h.tenantId);
        await new Promise((r) => setTimeout(r, 5)); // the tick after the last stretch of work measures it
        stalls.push(longest);
      }
    } finally {
      clearInterval(ticker);
    }
    assert.ok(Math.min(...stalls) < 30, `the event loop stalled ${stalls.map((x) => x.toFixed(1)).join(', ')} ms`);
    const payload = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8'));
    const bits = new StatusBits(payload.status_list);
    assert.deepEqual([bits.slot(1), bits.slot(span), bits.slot(span / 2)], ['open', 'closed', 'open']);
  } finally {
    await h.close();
  }
});

test('concurrent requests for a tenant\'s status list build it once; a request after a change of this server builds anew', async () => {
  const { harness } = await import('../helpers.js');
  const { mint } = await import('./helpers.js');
  // Every request past the first ones misses the cache: what is shared is the build in flight.
  const h = await harness({ config: { stamps: { statusListCacheMs: 1 } } });
  try {
    const m = await mint(h);
    const reads = h.services.store.stamps;
    const real = reads.liveStamps.bind(reads);
    let builds = 0;
    let hold: Promise<void> = Promise.resolve();
    reads.liveStamps = async (tenantId, nowMs) => {
      builds++;
      const live = await real(tenantId, nowMs);
      await hold;
      return live;
    };
    const lists = await Promise.all(Array.from({ length: 10 }, () => h.req('GET', '/v1/stamps/status')));
    assert.ok(lists.every((r) => r.status === 200 && r.json === lists[0]!.json));
    assert.equal(builds, 1, 'ten concurrent requests built the list ten times');

    // A build in flight that read the store before a tombstone is not the answer to a request made after it.
    await new Promise((r) => setTimeout(r, 5));
    let release!: () => void;
    hold = new Promise((r) => (release = r));
    const early = h.req('GET', '/v1/stamps/status');
    while (builds < 2) await new Promise((r) => setImmediate(r));
    await h.req('POST', `/v1/stamps/${m.stamp_id}/tombstone`, { outcome: 'revoked' });
    const late = h.req('GET', '/v1/stamps/status');
    release();
    hold = Promise.resolve();
    const closedIn = (jws: string) => {
      const p = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8'));
      return new StatusBits(p.status_list).slot(claimsIdx(m.token));
    };
    assert.equal(closedIn((await early).json), 'open');
    assert.equal(closedIn((await late).json), 'closed');
    assert.equal(builds, 3);
  } finally {
    await h.close();
  }
});

function claimsIdx(token: string): number {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).status.idx;
}

test("a tombstone written inside another engine's write (a lease's end) is in this server's next status list once committed", async () => {
  const { harness } = await import('../helpers.js');
  const { mint } = await import('./helpers.js');
  // Long caches: a list built while the write was not yet committed would be served for a minute.
  const h = await harness({ config: { stamps: { statusListCacheMs: 60_000, jwksCacheMs: 60_000 } } });
  try {
    const m = await mint(h);
    const slotOf = (jws: string) => new StatusBits(JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')).status_list).slot(claimsIdx(m.token));
    assert.equal(slotOf((await h.req('GET', '/v1/stamps/status')).json), 'open');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inTx!: () => void;
    const tombstoned = new Promise<void>((r) => (inTx = r));
    // As the tasks engine does when a lease ends: the tombstone inside its own write, no call after the commit.
    const write = h.services.store.write(async (tx) => {
      await h.services.stamps.tombstoneInTx(tx, h.tenantId, m.stamp_id, { outcome: 'completed', closed_by: 'gate' });
      inTx();
      await held;
    });
    await tombstoned;
    // A list asked for meanwhile is built from what has committed: the stamp is still open there.
    assert.equal(slotOf((await h.req('GET', '/v1/stamps/status')).json), 'open');
    release();
    await write;
    // Before, that list was kept as the one after the change and served until the cache ran out.
    assert.equal(slotOf((await h.req('GET', '/v1/stamps/status')).json), 'closed');
  } finally {
    await h.close();
  }
});

test('the generations of rotated stamps are listed in slot order on every backend', async () => {
  const { harness, BACKENDS } = await import('../helpers.js');
  for (const backend of BACKENDS) {
    const h = await harness({ backend });
    try {
      // The first stamp lives longer than the second: SQLite read them by expiry (its index), so the second first.
      const ids: string[] = [];
      for (const ttl of [600, 60]) {
        const m = await h.req('POST', '/v1/stamps', { subject: { kind: 'agent', id: 'a' }, task_ref: `order-${ttl}`, scope: ['read'], ttl_seconds: ttl });
        assert.equal(m.status, 201, JSON.stringify(m.json));
        assert.equal((await h.req('POST', `/v1/stamps/${m.json.stamp.stamp_id}/rotate`, {})).status, 201);
        ids.push(m.json.stamp.stamp_id);
      }
      const jws = (await h.req('GET', '/v1/stamps/status')).json as string;
      const payload = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8'));
      assert.deepEqual(Object.keys(payload.generations), ids, backend);
    } finally {
      await h.close();
    }
  }
});
