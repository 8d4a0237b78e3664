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

test('a status list whose bits do not match its declared size is refused', () => {
  const { status_list } = buildStatusBits([{ stamp_id: 'a', status_idx: 10, state: 'tombstoned', generation: 1 }, { stamp_id: 'b', status_idx: 400, state: 'active', generation: 1 }]);
  assert.throws(() => new StatusBits({ ...status_list, size: status_list.size * 8 }));
  assert.throws(() => new StatusBits({ ...status_list, size: 8 }));
});
