import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { mint } from './helpers.js';

interface Observation { gen: number; start: number; end: number; active: boolean }
interface Rotation { gen: number; end: number }

/**
 * Real-time order check for "never two generations active at any instant": an observation that STARTED after
 * another one (or a rotation) had FINISHED must not see an older generation active.
 */
function violations(obs: Observation[], rotations: Rotation[]): string[] {
  // Everything that proves "generation g is (or was) the newest": rotation answers and active observations, by
  // when they finished; prefix maxima give the newest generation known to be active before any instant.
  const proofs = [...rotations.map((r) => ({ gen: r.gen, end: r.end })), ...obs.filter((o) => o.active).map((o) => ({ gen: o.gen, end: o.end }))]
    .sort((a, b) => a.end - b.end);
  const maxGen: number[] = [];
  proofs.forEach((p, i) => maxGen.push(Math.max(p.gen, i > 0 ? maxGen[i - 1]! : 0)));
  const newestBefore = (t: number): { gen: number; end: number } | undefined => {
    let lo = 0, hi = proofs.length; // first proof with end >= t
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (proofs[mid]!.end < t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : { gen: maxGen[lo - 1]!, end: proofs[lo - 1]!.end };
  };
  const out: string[] = [];
  for (const o of obs) {
    if (!o.active) continue;
    const p = newestBefore(o.start);
    if (p && p.gen > o.gen) out.push(`gen ${o.gen} seen active in a request started at ${o.start.toFixed(3)} ms, after gen ${p.gen} was already active`);
  }
  return out.slice(0, 5);
}

async function hammer(
  rotate: () => Promise<{ gen: number; token: string }>,
  check: (token: string) => Promise<boolean>,
  first: string, rotations: number, checkers: number,
): Promise<{ obs: Observation[]; rots: Rotation[] }> {
  const tokens: string[] = [first];
  const obs: Observation[] = [];
  const rots: Rotation[] = [];
  let done = false;
  const rotator = (async () => {
    try {
      for (let i = 0; i < rotations; i++) {
        const r = await rotate();
        rots.push({ gen: r.gen, end: performance.now() });
        tokens[r.gen - 1] = r.token;
      }
    } finally {
      done = true;
    }
  })();
  const checker = async (seed: number) => {
    let i = seed;
    while (!done) {
      // Mostly the newest two generations, sometimes an older one.
      const newest = tokens.length;
      const gen = Math.max(1, newest - (i++ % 3));
      const start = performance.now();
      const active = await check(tokens[gen - 1]!);
      obs.push({ gen, start, end: performance.now(), active });
      // Cache hits resolve without I/O; let the group commit (a setImmediate) run.
      await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all([rotator, ...Array.from({ length: checkers }, (_, k) => checker(k))]);
  return { obs, rots };
}

for (const backend of BACKENDS) {
  describe(`[${backend}] concurrent rotate + introspect: never two generations active`, () => {
    let h: Harness;
    let url: string;
    before(async () => {
      h = await harness({ backend });
      url = await h.app.listen({ port: 0, host: '127.0.0.1' });
    });
    after(async () => h.close());

    test('over HTTP, 6 introspecting clients against a rotating stamp', async () => {
      const m = await mint(h);
      const headers = { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' };
      const { obs, rots } = await hammer(
        async () => {
          const r = await fetch(`${url}/v1/stamps/${m.stamp_id}/rotate`, { method: 'POST', headers: { authorization: `Bearer ${h.key}` } });
          assert.equal(r.status, 201);
          const j = (await r.json()) as { stamp: { generation: number }; token: string };
          return { gen: j.stamp.generation, token: j.token };
        },
        async (token) => {
          const r = await fetch(`${url}/v1/stamps/introspect`, { method: 'POST', headers, body: JSON.stringify({ token }) });
          return ((await r.json()) as { active: boolean }).active;
        },
        m.token, 60, 6,
      );
      assert.deepEqual(violations(obs, rots), []);
      // The test must have seen both sides often, or it proves nothing.
      assert.ok(obs.filter((o) => o.active).length > 50, `active observations: ${obs.filter((o) => o.active).length}`);
      assert.ok(obs.filter((o) => !o.active).length > 50, `inactive observations: ${obs.filter((o) => !o.active).length}`);
      assert.ok(new Set(obs.filter((o) => o.active).map((o) => o.gen)).size > 20);
    });

    test('in process, through the engine and its caches, with many more interleavings', async () => {
      const m = await mint(h);
      const s = h.services.stamps;
      const { obs, rots } = await hammer(
        async () => {
          const r = await s.rotate(h.tenantId, m.stamp_id);
          return { gen: r.stamp.generation, token: r.token };
        },
        async (token) => (await s.introspect(h.tenantId, token)).active,
        m.token, 300, 8,
      );
      assert.deepEqual(violations(obs, rots), []);
      assert.ok(obs.filter((o) => o.active).length > 300);
      assert.ok(obs.filter((o) => !o.active).length > 300);
      // At the end exactly the newest generation is active.
      const last = rots[rots.length - 1]!.gen;
      assert.equal(last, 301);
      const g = await h.req('GET', `/v1/stamps/${m.stamp_id}`);
      assert.equal(g.json.stamp.generation, 301);
    });
  });
}
