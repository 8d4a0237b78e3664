import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../src/clock.js';
import { createServices, type Services } from '../../src/server/index.js';
import { isQuittanceError } from '../../src/errors.js';
import type { Grant } from '../../src/tasks/engine.js';
import type { Receipt } from '../../src/ledger/types.js';
import { tempDir } from '../helpers.js';

type Op =
  | { op: 'create'; maxAttempts: number; maxExpiries: number }
  | { op: 'claim'; worker: number; max: number; ttl: number }
  | { op: 'claimAgain'; pick: number }
  | { op: 'renew'; pick: number }
  | { op: 'advance'; ms: number }
  | { op: 'sweep' }
  | { op: 'fail'; pick: number; retryable: boolean }
  | { op: 'complete'; pick: number; locatable: boolean }
  | { op: 'cancel'; pick: number }
  | { op: 'release'; pick: number }
  | { op: 'start'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('create' as const), maxAttempts: fc.integer({ min: 1, max: 3 }), maxExpiries: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('claim' as const), worker: fc.integer({ min: 0, max: 2 }), max: fc.integer({ min: 1, max: 3 }), ttl: fc.integer({ min: 5, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('claimAgain' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('renew' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('sweep' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fail' as const), pick: fc.nat(), retryable: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('complete' as const), pick: fc.nat(), locatable: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('start' as const), pick: fc.nat() }) },
);

/** Runs one interleaving; every grant ever handed out stays usable, so stale-lease writes happen naturally. */
async function run(ops: Op[]): Promise<void> {
  const tmp = tempDir();
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  const s: Services = createServices({ dataDir: tmp.dir, clock });
  try {
    const tenant = (await s.tenants.createTenant('p')).tenant_id;
    const tasks: string[] = [];
    const grants: Grant[] = [];
    // Every claim names a claim_id; claimAgain sends one of them again, as a worker does when the answer was lost.
    const claims: { worker_id: string; max_tasks: number; lease_ttl_seconds: number; claim_id: string; leases: Set<string> }[] = [];
    const me = { kind: 'agent', id: 'prop' } as const;
    for (const o of ops) {
      const g = grants.length ? grants[('pick' in o ? o.pick : 0) % grants.length]! : undefined;
      const proof = g && { lease_id: g.lease_id, lease_token: g.lease_token };
      try {
        switch (o.op) {
          case 'create':
            tasks.push((await s.tasks.create(tenant, { type: 't', max_attempts: o.maxAttempts, max_lease_expiries: o.maxExpiries, retry_backoff_seconds: 1 }, me)).task.task_id);
            break;
          case 'claim': {
            const ask = { worker_id: `w${o.worker}`, max_tasks: o.max, lease_ttl_seconds: o.ttl, claim_id: `c${claims.length}` };
            const got = await s.tasks.claim(tenant, ask);
            claims.push({ ...ask, leases: new Set(got.map((x) => x.lease_id)) });
            grants.push(...got);
            break;
          }
          case 'claimAgain': {
            const c = claims.length ? claims[o.pick % claims.length]! : undefined;
            if (!c) break;
            const { leases, ...ask } = c;
            const again = await s.tasks.claim(tenant, ask);
            // The leases that claim granted (those still active), never new ones; every token answered keeps working. A
            // claim that granted nothing left nothing to know it by: sent again, it is a claim of its own.
            if (leases.size === 0) for (const x of again) leases.add(x.lease_id);
            for (const x of again) assert.ok(leases.has(x.lease_id), `claim ${c.claim_id} sent again answered ${x.lease_id}, which it never granted`);
            grants.push(...again);
            break;
          }
          case 'advance':
            clock.advance(o.ms);
            break;
          case 'sweep':
            await s.tasks.expireDue();
            break;
          case 'renew':
            if (proof) await s.tasks.renew(tenant, { ...proof, lease_ttl_seconds: 10 });
            break;
          case 'start':
            if (g && proof) await s.tasks.start(tenant, g.task_id, proof);
            break;
          case 'fail':
            if (g && proof) await s.tasks.fail(tenant, g.task_id, { ...proof, error: 'x', retryable: o.retryable });
            break;
          case 'complete':
            if (g && proof) await s.tasks.complete(tenant, g.task_id, { ...proof, ...(o.locatable && { artifacts: [{ kind: 'file', uri: `/r/${g.lease_id}` }] }) });
            break;
          case 'release':
            if (g && proof) await s.tasks.release(tenant, g.task_id, proof);
            break;
          case 'cancel':
            if (tasks.length) await s.tasks.cancel(tenant, tasks[o.pick % tasks.length]!, me);
            break;
        }
      } catch (e) {
        // Refusals are expected (lost leases, finished tasks, limits); bugs are not.
        if (!isQuittanceError(e) || e.statusCode >= 500) throw e;
      }
      await checkInvariants(s, tenant, tasks, grants);
    }
    // Offline, the check also holds the open-obligations projection to the receipts every step above wrote.
    const v = await s.ledger.verify(tenant, undefined, { offline: true });
    assert.equal(v.ok, true, v.reason);
  } finally {
    await s.store.close();
    tmp.cleanup();
  }
}

async function checkInvariants(s: Services, tenant: string, tasks: string[], grants: Grant[]): Promise<void> {
  const receipts: Receipt[] = [];
  for (let cursor: string | undefined; ;) {
    const page = await s.ledger.listReceipts(tenant, { cursor, limit: 1000 });
    receipts.push(...page.items);
    if (!page.cursor) break;
    cursor = page.cursor;
  }
  // A claim sent again answers a lease again (another grant, another token): each lease once.
  const leases = await Promise.all([...new Set(grants.map((g) => g.lease_id))].map((id) => s.store.lease(tenant, id)));
  for (const id of tasks) {
    const t = (await s.store.task(tenant, id))!;
    const mine = receipts.filter((r) => r.task_id === id);
    const count = (type: string) => mine.filter((r) => r.type === type).length;
    // attempt moves only on a retryable failure, never on expiry.
    assert.equal(t.attempt, 1 + count('task.retry_scheduled'), `attempt of ${id}`);
    // counters equal the receipts' story.
    assert.equal(t.claims, count('lease.granted'), `claims of ${id}`);
    assert.equal(t.lease_expiries, count('lease.expired'), `lease_expiries of ${id}`);
    // at most one live lease per task, and it is the task's lease.
    const live = leases.filter((l) => l && l.task_id === id && l.state === 'active');
    assert.ok(live.length <= 1, `${live.length} live leases on ${id}`);
    if (live.length === 1) assert.equal(t.lease_id, live[0]!.lease_id);
    if (t.status === 'queued') assert.equal(live.length, 0);
    // task.assigned closes at most once, and exactly when the task is final.
    const closers = mine.filter((r) => r.discharges && r.parents.includes(t.assigned_receipt_id));
    assert.ok(closers.length <= 1, `task.assigned of ${id} closed ${closers.length} times`);
    const final = ['succeeded', 'failed', 'canceled', 'escalated'].includes(t.status);
    assert.equal(closers.length, final ? 1 : 0, `${id} is ${t.status}`);
  }
  // every expired lease has exactly one lease.expired receipt.
  for (const l of leases) {
    if (!l) continue;
    const expired = receipts.filter((r) => r.type === 'lease.expired' && r.lease_id === l.lease_id).length;
    assert.equal(expired, l.state === 'expired' ? 1 : 0, `lease.expired receipts for ${l.lease_id} (${l.state})`);
  }
}

test('random interleavings keep the lease/attempt invariants', async () => {
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), run), { numRuns: 60 });
});
