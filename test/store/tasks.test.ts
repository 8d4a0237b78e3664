/**
 * The task and lease part of the Store contract (TaskTx), on every backend, and the same engine running on two
 * stores of one database at once (two servers): no task handed out twice, no lease expired twice.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, agent } from '../helpers.js';
import { backing, type Backing } from './backing.js';
import type { Store } from '../../src/store/types.js';
import type { LeaseRow, TaskRow } from '../../src/tasks/types.js';
import { TaskEngine, type Grant } from '../../src/tasks/engine.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { resolveConfig } from '../../src/config.js';
import { ManualClock } from '../../src/clock.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function taskRow(tenant_id: string, n: number, over: Partial<TaskRow> = {}): TaskRow {
  return {
    tenant_id, task_id: `task-${n}`, type: 'summarise', payload: { n, text: 'é☃' }, payload_ref: null, capabilities: ['gpu'], priority: 0,
    status: 'queued', attempt: 1, max_attempts: 3, lease_expiries: 0, max_lease_expiries: 5, claims: 0, retry_backoff_seconds: 1.5,
    next_eligible_at: T0, idempotency_key: null, created_by: agent, assigned_to: { kind: 'system', id: 'pool' },
    assigned_receipt_id: `r-${n}`, queue_seq: n, lease_id: null, outcome: null, created_at: '2026-03-01T12:00:00.000Z',
    updated_at: '2026-03-01T12:00:00.000Z', ...over,
  };
}

function leaseRow(tenant_id: string, n: number, over: Partial<LeaseRow> = {}): LeaseRow {
  return {
    tenant_id, lease_id: `lease-${n}`, task_id: `task-${n}`, worker_id: 'w1', token_hash: 'f'.repeat(64), granted_receipt_id: `g-${n}`,
    attempt: 1, state: 'active', granted_at: T0, expires_at: T0 + 120_000, last_heartbeat_at: T0, renewals: 0, stamp_id: null, ended_at: null, claim_id: null, resent_token_hashes: null, ...over,
  };
}

for (const backend of BACKENDS) {
  describe(`[${backend}] Store contract: tasks and leases`, () => {
    let b: Backing;
    let store: Store;
    before(async () => {
      b = backing(backend);
      store = await b.open();
    });
    after(async () => {
      await store.close();
      await b.cleanup();
    });

    test('tasks round trip whole; updateTask writes the mutable fields; lookups by id and idempotency key stay in the tenant', async () => {
      const t = taskRow('tnt_t1', 1, { idempotency_key: 'k1', payload_ref: null });
      const ref = taskRow('tnt_t1', 2, { payload: null, payload_ref: 's3://in/2', capabilities: [] });
      await store.write(async (tx) => {
        await tx.insertTask(t);
        await tx.insertTask(ref);
      });
      assert.deepEqual(await store.task('tnt_t1', 'task-1'), t);
      assert.deepEqual(await store.task('tnt_t1', 'task-2'), ref);
      assert.equal(await store.task('tnt_other', 'task-1'), undefined);
      const changed: TaskRow = { ...t, status: 'leased', attempt: 2, lease_expiries: 1, claims: 3, next_eligible_at: T0 + 5, lease_id: 'lease-x', outcome: { why: [1] }, updated_at: '2026-03-01T12:00:01.000Z' };
      await store.write(async (tx) => {
        assert.deepEqual(await tx.taskByIdempotencyKey('tnt_t1', 'k1'), t);
        assert.equal(await tx.taskByIdempotencyKey('tnt_other', 'k1'), undefined);
        await tx.updateTask(changed);
        assert.deepEqual(await tx.taskById('tnt_t1', 'task-1'), changed, 'a write sees its own update');
      });
      assert.deepEqual(await store.task('tnt_t1', 'task-1'), changed);
    });

    test('listTasks: queue order, filters by status and type, cursor and limit', async () => {
      const tenant = 'tnt_list';
      await store.write(async (tx) => {
        for (let n = 1; n <= 5; n++) await tx.insertTask(taskRow(tenant, n, { type: n % 2 ? 'odd' : 'even', status: n === 3 ? 'running' : 'queued' }));
      });
      const ids = (ts: TaskRow[]) => ts.map((t) => t.task_id);
      assert.deepEqual(ids(await store.listTasks(tenant, { after_seq: 0, limit: 10 })), ['task-1', 'task-2', 'task-3', 'task-4', 'task-5']);
      assert.deepEqual(ids(await store.listTasks(tenant, { status: 'queued', type: 'odd', after_seq: 0, limit: 10 })), ['task-1', 'task-5']);
      assert.deepEqual(ids(await store.listTasks(tenant, { status: 'running', after_seq: 0, limit: 10 })), ['task-3']);
      assert.deepEqual(ids(await store.listTasks(tenant, { after_seq: 2, limit: 2 })), ['task-3', 'task-4']);
    });

    test('claimCandidates: queued only, priority first then age, paged after a position', async () => {
      const tenant = 'tnt_claim';
      const prio = [0, 5, 0, 5, 9, 0];
      await store.write(async (tx) => {
        for (let n = 1; n <= 6; n++) await tx.insertTask(taskRow(tenant, n, { priority: prio[n - 1]!, status: n === 6 ? 'leased' : 'queued' }));
      });
      const order = await store.write(async (tx) => {
        const first = await tx.claimCandidates(tenant, undefined, 2);
        const last = first[first.length - 1]!;
        const rest = await tx.claimCandidates(tenant, { priority: last.priority, queue_seq: last.queue_seq }, 10);
        return [...first, ...rest].map((t) => t.task_id);
      });
      assert.deepEqual(order, ['task-5', 'task-2', 'task-4', 'task-1', 'task-3']);
      assert.deepEqual(await store.write((tx) => tx.claimCandidates('tnt_empty', undefined, 5)), []);
    });

    test('leases round trip; dueLeases: active ones whose time has come, across tenants, oldest expiry first, limited', async () => {
      await store.write(async (tx) => {
        await tx.insertLease(leaseRow('tnt_la', 1, { expires_at: T0 + 30 }));
        await tx.insertLease(leaseRow('tnt_lb', 2, { expires_at: T0 + 10 }));
        await tx.insertLease(leaseRow('tnt_la', 3, { expires_at: T0 + 20, state: 'completed', ended_at: T0 }));
        await tx.insertLease(leaseRow('tnt_lb', 4, { expires_at: T0 + 5_000 }));
        await tx.insertLease(leaseRow('tnt_la', 5, { expires_at: T0 + 20, stamp_id: 'stamp-5' }));
      });
      assert.deepEqual(await store.lease('tnt_la', 'lease-5'), leaseRow('tnt_la', 5, { expires_at: T0 + 20, stamp_id: 'stamp-5' }));
      assert.equal(await store.lease('tnt_lb', 'lease-5'), undefined);
      const due = await store.write((tx) => tx.dueLeases(T0 + 30, 100));
      assert.deepEqual(due.map((l) => l.lease_id), ['lease-2', 'lease-5', 'lease-1']);
      assert.deepEqual(due[1], leaseRow('tnt_la', 5, { expires_at: T0 + 20, stamp_id: 'stamp-5' }), 'whole rows');
      assert.deepEqual((await store.write((tx) => tx.dueLeases(T0 + 30, 2))).map((l) => l.lease_id), ['lease-2', 'lease-5']);
      const renewed = { ...leaseRow('tnt_lb', 2), expires_at: T0 + 60_000, renewals: 1, last_heartbeat_at: T0 + 9, resent_token_hashes: `${'a'.repeat(64)} ${'b'.repeat(64)}` };
      await store.write((tx) => tx.updateLease(renewed));
      assert.deepEqual(await store.lease('tnt_lb', 'lease-2'), renewed);
      assert.deepEqual((await store.write((tx) => tx.dueLeases(T0 + 30, 100))).map((l) => l.lease_id), ['lease-5', 'lease-1']);
      // anyLeaseDue reads the same rule from committed data: the earliest active expiry is lease-5's (lease-3 ended).
      assert.equal(await store.anyLeaseDue(T0 + 19), false);
      assert.equal(await store.anyLeaseDue(T0 + 20), true);
    });
  });

  describe(`[${backend}] the lease sweeper`, () => {
    test('opens no write while no lease is due, and expires the lease once it is', async () => {
      const b = backing(backend);
      const store = await b.open();
      try {
        const clock = new ManualClock(T0);
        const config = resolveConfig();
        const engine = new TaskEngine(new Ledger(store, config, clock));
        await store.createTenant({ tenant_id: 't_sweep', name: 't_sweep', created_at: '2026-03-01T12:00:00.000Z' });
        await engine.create('t_sweep', { type: 'summarise', payload: {} }, agent);
        assert.equal((await engine.claim('t_sweep', { worker_id: 'w1', lease_ttl_seconds: 30 })).length, 1);
        let writes = 0;
        const write = store.write.bind(store);
        (store as { write: Store['write'] }).write = ((fn) => (writes++, write(fn))) as Store['write'];
        clock.advance(29_000);
        assert.equal(await engine.expireDue(), 0);
        assert.equal(writes, 0, 'an idle sweep commits nothing');
        clock.advance(1_000);
        assert.equal(await engine.expireDue(), 1);
        assert.equal(writes, 1);
        assert.equal((await store.listReceipts('t_sweep', { type: 'lease.expired', after_seq: 0, limit: 10 })).length, 1);
      } finally {
        await store.close();
        await b.cleanup();
      }
    });
  });

  describe(`[${backend}] tasks on two stores of one database (two servers)`, () => {
    test('claims race from both: every task handed out exactly once; expiry races: every lease expired exactly once, no attempt burned', async () => {
      const b = backing(backend);
      const stores = [await b.open(), await b.open()];
      try {
        const clock = new ManualClock(T0);
        const config = resolveConfig();
        const engines = stores.map((s) => new TaskEngine(new Ledger(s, config, clock)));
        const tenants = ['t_one', 't_two'];
        for (const t of tenants) await stores[0]!.createTenant({ tenant_id: t, name: t, created_at: '2026-03-01T12:00:00.000Z' });
        const perTenant = 40;
        await Promise.all(tenants.flatMap((t, ti) => Array.from({ length: perTenant }, (_, i) =>
          engines[i % 2]!.create(t, { type: 'summarise', payload: { i } }, agent).then(() => undefined, (e) => assert.fail(`create ${ti}/${i}: ${e}`)))));

        // Eight claimers per store, each taking up to 3 tasks at a time from either tenant, until the queues are empty.
        const grants: { tenant: string; grant: Grant }[] = [];
        const claimer = async (engine: TaskEngine, k: number) => {
          for (let idle = 0; idle < 2;) {
            const tenant = tenants[k % 2]!;
            const got = await engine.claim(tenant, { worker_id: `w${k}`, max_tasks: 3 });
            grants.push(...got.map((grant) => ({ tenant, grant })));
            idle = got.length === 0 ? idle + 1 : 0;
          }
        };
        await Promise.all(engines.flatMap((e, ei) => Array.from({ length: 8 }, (_, k) => claimer(e, ei * 8 + k))));
        const claimed = grants.map((g) => `${g.tenant}/${g.grant.task_id}`);
        assert.equal(claimed.length, tenants.length * perTenant, 'every task claimed');
        assert.equal(new Set(claimed).size, claimed.length, 'no task claimed twice');

        // Every lease runs out; both "servers" sweep at the same time, twice over.
        clock.advance(config.tasks.leaseTtlSecondsDefault * 1000 + 1);
        const expired = await Promise.all([...engines, ...engines].map((e) => e.expireDue()));
        assert.equal(expired.reduce((a, n) => a + n, 0), grants.length, 'each lease expired exactly once in all');
        for (const t of tenants) {
          const tasks = await stores[1]!.listTasks(t, { after_seq: 0, limit: 1000 });
          assert.equal(tasks.length, perTenant);
          for (const task of tasks) {
            assert.equal(task.status, 'queued');
            assert.deepEqual([task.attempt, task.lease_expiries, task.claims], [1, 1, 1], task.task_id);
          }
          const receipts = await stores[0]!.listReceipts(t, { type: 'lease.expired', after_seq: 0, limit: 1000 });
          assert.equal(receipts.length, perTenant);
          assert.equal(new Set(receipts.map((r) => r.lease_id)).size, perTenant);
          const check = await new Ledger(stores[0]!, config, clock).verify(t);
          assert.equal(check.ok, true, JSON.stringify(check));
        }
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await b.cleanup();
      }
    });
  });
}
