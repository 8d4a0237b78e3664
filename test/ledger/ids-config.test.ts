import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { createUuidV7 } from '../../src/ids.js';
import { resolveConfig } from '../../src/config.js';
import { QuittanceError } from '../../src/errors.js';

test('UUIDv7 ids are well-formed, carry the clock time, and increase even when the clock stands still', () => {
  const clock = new ManualClock('2026-05-05T05:05:05.005Z');
  const next = createUuidV7(clock);
  const ids = Array.from({ length: 10_000 }, () => next());
  for (const id of ids.slice(0, 100)) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16), clock.now());
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `id ${i} increases`);
  clock.advance(-10_000);
  const back = next();
  assert.ok(back > ids[ids.length - 1]!, 'a clock stepping back does not reorder ids');
});

test('config: defaults, overrides, unknown keys and bad values are refused, result frozen', () => {
  const c = resolveConfig({ limits: { parentsMax: 3 } });
  assert.equal(c.limits.parentsMax, 3);
  assert.equal(c.limits.artifactsMax, 100);
  assert.ok(Object.isFrozen(c.limits));
  assert.throws(() => resolveConfig({ limits: { parentsMax: 0 } }), QuittanceError);
  assert.throws(() => resolveConfig({ nope: 1 } as never), /unknown setting nope/);
  assert.throws(() => resolveConfig({ locatability: 'sometimes' as never }), /lenient or strict/);
});
