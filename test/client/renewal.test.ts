import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorker, nextLeaseTtl } from '../../src/client/worker.js';

/**
 * A lease renewed by the worker's rule against a server's limits, on one clock: renewals a third of each TTL apart
 * (at least 1 s), each asking what nextLeaseTtl chose. Returns how long the lease lasts and what was asked.
 */
function renewUntilSpent(base: number, limits: { renewals: number; lifetime: number; ttlMax: number }, workerMax?: number) {
  let now = 0;
  let current = base;
  let expires = base;
  const asked: number[] = [];
  for (let renewals = 0; renewals < limits.renewals;) {
    now += Math.max(1, current / 3);
    assert.ok(now < expires, 'a renewal comes before the lease ends');
    assert.ok(now + current <= limits.lifetime, `a renewal at ${now} s asking ${current} s passes the lifetime limit`);
    assert.ok(current <= limits.ttlMax && current >= Math.min(base, 5));
    expires = now + current;
    asked.push(current);
    renewals++;
    const next = nextLeaseTtl(base, current, {
      lease_id: 'l', expires_at: new Date(expires * 1000).toISOString(), renewals, renewals_left: limits.renewals - renewals,
      renewable_until: new Date(limits.lifetime * 1000).toISOString(), lease_ttl_seconds_max: limits.ttlMax,
    }, workerMax);
    if (next === undefined) break;
    current = next;
  }
  return { lastsSeconds: expires, asked };
}

const defaults = { renewals: 10, lifetime: 7200, ttlMax: 1800 };

test('with the default limits a 120 s lease renewed by the worker lasts 100 minutes, not 8.7', () => {
  const { lastsSeconds, asked } = renewUntilSpent(120, defaults);
  assert.ok(lastsSeconds >= 100 * 60, `lasts ${lastsSeconds} s`);
  // Crash detection stays at the worker's TTL first, and grows no faster than doubling.
  assert.deepEqual(asked.slice(0, 4), [120, 240, 480, 960]);
});

test('a TTL is never grown when the renewals left reach the lifetime limit at the worker\'s own TTL', () => {
  const { lastsSeconds, asked } = renewUntilSpent(120, { ...defaults, renewals: 1000 });
  assert.ok(asked.every((t) => t <= 120), asked.join(','));
  assert.ok(lastsSeconds > 7100, `lasts ${lastsSeconds} s`);
});

test('renewals near the lifetime limit ask for what is left, then stop instead of being refused', () => {
  // Lifetimes the first renewal (which asks the worker's TTL, knowing no limits yet) fits in.
  for (const base of [5, 30, 120, 600, 1800]) {
    for (const lifetime of [2 * base, 3600, 7200, 20_000].filter((l) => l >= (4 / 3) * base)) {
      const { lastsSeconds } = renewUntilSpent(base, { ...defaults, lifetime });
      assert.ok(lastsSeconds <= lifetime, `${base} s in ${lifetime} s: ${lastsSeconds}`);
    }
  }
});

test('leaseTtlMaxSeconds caps the growth: at the worker\'s own TTL, every renewal asks it, and the lease lasts what the renewals allow', () => {
  const fixed = renewUntilSpent(120, defaults, 120);
  assert.deepEqual(fixed.asked, Array(10).fill(120));
  assert.ok(fixed.lastsSeconds < 10 * 60, `lasts ${fixed.lastsSeconds} s`);
  const capped = renewUntilSpent(120, defaults, 300);
  assert.deepEqual(capped.asked.slice(0, 4), [120, 240, 300, 300]);
  assert.ok(capped.asked.every((t) => t <= 300));
});

test('createWorker refuses a leaseTtlMaxSeconds below its leaseTtlSeconds', () => {
  assert.throws(() => createWorker({ url: 'http://127.0.0.1:9', key: 'k', leaseTtlSeconds: 60, leaseTtlMaxSeconds: 30, handleSignals: false, handler: async () => ({}) }),
    /leaseTtlMaxSeconds must be at least leaseTtlSeconds \(60\), not 30/);
});

test('an answer from a server that does not say what is left renews as asked', () => {
  assert.equal(nextLeaseTtl(120, 120, { lease_id: 'l', expires_at: new Date().toISOString(), renewals: 1 } as never), 120);
});
