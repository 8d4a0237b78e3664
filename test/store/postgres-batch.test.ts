/**
 * PgBatch's round trips (PostgreSQL only): what a task claim and a task completion cost, counted the way
 * bench/pg-roundtrips.ts counts them (client.query calls: a simple query of several statements is one), and the
 * shortcuts that save them, each checked against the slow path it stands in for.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { harness, type Harness } from '../helpers.js';
import type { PostgresStore } from '../../src/store/postgres/index.js';
import type { PgBatch } from '../../src/store/postgres/batch.js';
import type { Tx } from '../../src/store/types.js';
import { TEST_PG_URL } from '../pg.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { resolveConfig } from '../../src/config.js';
import { ManualClock } from '../../src/clock.js';
import type { ReceiptInput } from '../../src/ledger/types.js';
import { isQuittanceError } from '../../src/errors.js';
import { agent, worker } from '../helpers.js';

const enabled = process.env['QUITTANCE_TEST_PG'] === '1';

/**
 * Statement texts by name, as the store prepared them: a read that rides in a simple query runs as
 * `EXECUTE "name"(...)`, which roundTrips shows with the statement's text after it.
 */
const named = new Map<string, string>();
let recording: string[] | undefined;
const original = pg.Client.prototype.query;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
(pg.Client.prototype as any).query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
  const c = config as { name?: string; text?: string };
  if (typeof config === 'object' && config && c.name && c.text) named.set(c.name, c.text);
  const text = typeof config === 'string' ? config : c?.text ?? '?';
  recording?.push(text.replace(/EXECUTE "(\w+)"/g, (x, name: string) => `${x} /* ${named.get(name) ?? '?'} */`));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (original as any).call(this, config, ...rest);
};

/** Every statement text sent while `fn` runs, one entry per round trip (bench/pg-roundtrips.ts's count). */
async function roundTrips<T>(fn: () => Promise<T>): Promise<{ value: T; sent: string[] }> {
  const sent: string[] = [];
  recording = sent;
  try {
    return { value: await fn(), sent };
  } finally {
    recording = undefined;
  }
}

/** Runs SQL in the harness's schema, outside the store. */
async function execIn(h: Harness, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const schema = (h.services.store as PostgresStore).schema!;
  const c = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    return await c.query(sql, values);
  } finally {
    await c.end();
  }
}

/**
 * The harnesses' config: API keys stay verified for the whole file, so no key lookup (a read of api_keys, a round
 * trip of its own) lands in a counted window when a slow machine takes more than the default second between requests.
 */
const config = { apiKeyCacheMs: 3_600_000 };

const artifacts = (taskId: string) => [{ kind: 'blob', uri: `blob:${taskId}` }];

describe('[postgres] PgBatch round trips', { skip: !enabled && 'PostgreSQL not reachable' }, () => {
  let h: Harness;
  before(async () => {
    h = await harness({ backend: 'postgres', config });
    const created = await h.req('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 40 }, (_, n) => ({ type: 'rt', payload: { n } })) });
    assert.equal(created.status, 200);
  });
  after(async () => {
    await h.close();
  });

  const claim = async (workerId = 'w') => {
    const c = await h.req('POST', '/v1/leases/claim', { worker_id: workerId, max_tasks: 1 });
    const g = c.json.leases[0];
    assert.ok(g, JSON.stringify(c.json));
    return g as { task_id: string; lease_id: string; lease_token: string };
  };
  const complete = async (g: { task_id: string; lease_id: string; lease_token: string }) => {
    const r = await h.req('POST', `/v1/tasks/${g.task_id}/complete`, { lease_id: g.lease_id, lease_token: g.lease_token, artifacts: artifacts(g.task_id) });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return r;
  };

  test('a claim and a completion, each alone in its batch: the head lock rides with the first read', async () => {
    await complete(await claim()); // warm-up: signing key created, statements prepared
    const claimed = await roundTrips(() => claim());
    const completed = await roundTrips(() => complete(claimed.value));
    const show = (sent: string[]) => sent.map((s) => s.replace(/\s+/g, ' ').slice(0, 140)).join('\n');
    // A write alone: its statements go on their own before COMMIT, whose answer would come too late to judge them.
    assert.equal(claimed.sent.length, 4, show(claimed.sent));
    assert.equal(completed.sent.length, 3, show(completed.sent));
    // task.completed closes task.assigned and lease.granted in one UPDATE; stamp.tombstoned closes stamp.minted.
    const closing = completed.sent.join(';\n').match(/UPDATE obligations SET [^;]*/g) ?? [];
    assert.equal(closing.length, 2, closing.join('\n'));
    assert.equal(closing[0]!.match(/ANY\(ARRAY\[([^\]]*)\]/)![1]!.split(',').length, 2, closing[0]);
    const lease = (await h.services.store.lease(h.tenantId, claimed.value.lease_id))!;
    const task = (await h.services.store.task(h.tenantId, claimed.value.task_id))!;
    for (const id of [lease.granted_receipt_id, task.assigned_receipt_id]) {
      assert.equal((await h.services.store.obligationState(h.tenantId, id))!.open, false, `${id} closed`);
    }
    // No lookup of the new receipts' hashes or idempotency keys: the parents came with the reads.
    for (const { sent } of [claimed, completed]) assert.ok(!sent.some((x) => /WHERE r?\.?hash = /.test(x)), show(sent));
    for (const { sent } of [claimed, completed]) {
      assert.match(sent[0]!, /^BEGIN;\s*SELECT seq, chain_hash FROM chain_heads WHERE tenant_id = '[^']+' FOR UPDATE;\s*EXECUTE "q_(candidates|leaseWith)" /, show(sent));
      assert.equal(sent.filter((s) => s.includes('FROM chain_heads')).length, 1, 'the head is locked once');
    }
  });

  test('creates, claims and completions arriving together: each write\'s statements ride with the next one\'s read', async (t) => {
    // A harness of its own, so that no earlier failure has the committer running batches with savepoints.
    const own = await harness({ backend: 'postgres', config });
    t.after(() => own.close());
    const n = 16;
    assert.equal((await own.req('POST', '/v1/tasks', { type: 'together', payload: { i: -1 } })).status, 201);
    // Creates arriving together: a new task's task.assigned is fresh (PrepareOptions.fresh), so nothing is looked
    // up; the whole batch is its buffered rows, sent once before COMMIT.
    const created = await roundTrips(() => Promise.all(Array.from({ length: n }, (_, i) => own.req('POST', '/v1/tasks', { type: 'together', payload: { i } }))));
    assert.ok(created.value.every((r) => r.status === 201));
    const shown = created.sent.map((x) => x.replace(/\s+/g, ' ').slice(0, 100)).join('\n');
    assert.ok(created.sent.length <= 3, `${created.sent.length} round trips for ${n} creates:\n${shown}`);
    assert.ok(!created.sent.some((x) => /q_forAppend|WHERE r?\.?hash = /.test(x)), shown);
    const one = async (w: string) => (await own.req('POST', '/v1/leases/claim', { worker_id: w, max_tasks: 1 })).json.leases[0] as { task_id: string; lease_id: string; lease_token: string };
    assert.ok(await one('warm')); // warm-up: signing key made, statements prepared
    const claimed = await roundTrips(() => Promise.all(Array.from({ length: n }, (_, i) => one(`w${i}`))));
    const completed = await roundTrips(() => Promise.all(claimed.value.map((g) => own.req('POST', `/v1/tasks/${g.task_id}/complete`, {
      lease_id: g.lease_id, lease_token: g.lease_token, artifacts: artifacts(g.task_id),
    }))));
    assert.ok(completed.value.every((r) => r.status === 201), JSON.stringify(completed.value.map((r) => r.json)));
    const show = (sent: string[]) => sent.map((x) => x.replace(/\s+/g, ' ').slice(0, 100)).join('\n');
    // With a savepoint per write this took about two round trips per write.
    assert.ok(claimed.sent.length <= n + 4, `${claimed.sent.length} round trips for ${n} claims:\n${show(claimed.sent)}`);
    assert.ok(completed.sent.length <= n + 4, `${completed.sent.length} round trips for ${n} completions:\n${show(completed.sent)}`);
    assert.ok(!claimed.sent.concat(completed.sent).some((x) => /SAVEPOINT/.test(x)), 'no savepoints');
    assert.equal((await own.req('GET', '/v1/ledger/verify')).json.ok, true);
  });

  test('the lease read brings its task, its stamp (locked) and the receipts a write under it appends under', async () => {
    const g = await claim();
    const store = h.services.store;
    const lease = (await store.lease(h.tenantId, g.lease_id))!;
    const body = async (tx: Tx) => {
      const l = (await tx.leaseById(h.tenantId, g.lease_id))!;
      assert.deepEqual(l, lease);
      const task = (await tx.taskById(h.tenantId, l.task_id))!;
      assert.equal(task.lease_id, l.lease_id);
      const stamp = (await tx.stampForClose(h.tenantId, l.stamp_id!))!;
      assert.equal(stamp.state, 'active');
      const parents = await tx.receiptsByIds(h.tenantId, [task.assigned_receipt_id, l.granted_receipt_id, stamp.minted_receipt_id]);
      assert.deepEqual(parents.map((r) => r.type), ['task.assigned', 'lease.granted', 'stamp.minted']);
      const states = await tx.obligationStates(h.tenantId, parents.map((r) => r.receipt_id));
      assert.deepEqual(states.map((s) => s.open), [true, true, true]);
      // Answers kept from the read stop at this transaction's own writes: the next read sees them.
      await tx.updateTask({ ...task, claims: 7 });
      assert.equal((await tx.taskById(h.tenantId, l.task_id))!.claims, 7);
      await tx.closeStamp(h.tenantId, stamp.stamp_id, {
        outcome: 'completed', closed_by: 'gate', closed_reason: null, tombstoned_at: '2026-03-01T12:00:00.000Z', tombstone_receipt_id: 'r-x', late: false,
      });
      assert.equal((await tx.stampForClose(h.tenantId, stamp.stamp_id))!.state, 'tombstoned');
      throw new Error('undo');
    };
    // Warm-up: the connection prepares every read (a read that rides with other statements then EXECUTEs its
    // prepared copy). It fails as the measured run does, so the committer runs the next batches with a savepoint
    // per write from the start: what is measured is that run alone.
    await store.write(body).catch((e: Error) => assert.equal(e.message, 'undo'));
    const { sent } = await roundTrips(() => store.write(body).catch((e: Error) => assert.equal(e.message, 'undo')));
    const first = sent[0]!;
    assert.match(first, /FROM leases WHERE/);
    assert.match(first, /FROM tasks WHERE/);
    assert.match(first, /FROM stamps\s+WHERE [^;]* FOR UPDATE/);
    assert.match(first, /LEFT JOIN obligations/);
    // Lease, task, stamp and parents in the first round trip; the task and stamp re-read after their writes, which
    // ride with them; the savepoint rolled back; COMMIT.
    const show = sent.map((s) => s.replace(/\s+/g, ' ').slice(0, 100)).join('\n');
    assert.equal(sent.length, 5, show);
    assert.match(sent[0]!, /^BEGIN;\s*SAVEPOINT op;/, show);
    assert.match(sent[1]!, /^UPDATE tasks [^;]*;\s*EXECUTE "q_taskById"/, show);
    assert.match(sent[2]!, /^UPDATE stamps [^;]*;\s*EXECUTE "q_stamp_forClose"/, show);
    assert.match(sent[3]!, /^ROLLBACK TO SAVEPOINT op/, show);
    assert.equal(sent[4], 'COMMIT', show);
    assert.equal((await h.services.store.task(h.tenantId, g.task_id))!.claims, 1, 'undone');
  });

  test('the lease read answers alike inlined (first in its transaction) and as a prepared statement (later)', async () => {
    const grants = [await claim(), await claim()];
    const store = h.services.store;
    const { value, sent } = await roundTrips(() => store.write(async (tx) => {
      const out = [];
      for (const g of grants) {
        const l = (await tx.leaseById(h.tenantId, g.lease_id))!;
        const task = (await tx.taskById(h.tenantId, l.task_id))!;
        const stamp = (await tx.stampForClose(h.tenantId, l.stamp_id!))!;
        const parents = await tx.receiptsByIds(h.tenantId, [task.assigned_receipt_id, l.granted_receipt_id, stamp.minted_receipt_id]);
        out.push({ l, task, stamp, parents: parents.map((r) => r.type) });
      }
      assert.equal(await tx.leaseById(h.tenantId, 'lease-none'), undefined);
      return out;
    }));
    assert.equal(sent.length, 4, 'one round trip per lease read, then COMMIT');
    assert.match(sent[1]!, /lease_id = \$2/, 'the second read is sent as a prepared statement, not inlined');
    for (const [i, g] of grants.entries()) {
      const got = value[i]!;
      assert.deepEqual(got.l, await store.lease(h.tenantId, g.lease_id));
      assert.deepEqual(got.task, await store.task(h.tenantId, g.task_id));
      const stamp = (await store.stamps.stamp(h.tenantId, got.l.stamp_id!))!;
      assert.deepEqual(got.stamp, Object.fromEntries(Object.keys(got.stamp).map((key) => [key, stamp[key as keyof typeof stamp]])));
      assert.deepEqual(got.parents, ['task.assigned', 'lease.granted', 'stamp.minted']);
    }
  });

  test('a claim page brings each eligible task.assigned along, with its obligation state', async () => {
    const { value, sent } = await roundTrips(() => h.services.store.write(async (tx) => {
      const page = await tx.claimCandidates(h.tenantId, undefined, 3, { now: Date.parse('2026-03-01T12:00:00.000Z') });
      const parents = await tx.receiptsByIds(h.tenantId, page.map((t) => t.assigned_receipt_id));
      const states = await tx.obligationStates(h.tenantId, page.map((t) => t.assigned_receipt_id));
      return { page, parents, states };
    }));
    assert.equal(value.page.length, 3);
    assert.deepEqual(value.parents.map((r) => r.receipt_id), value.page.map((t) => t.assigned_receipt_id));
    assert.deepEqual(value.states.map((s) => s.open), [true, true, true]);
    assert.deepEqual(Object.keys(value.page[0]!).sort(), Object.keys((await h.services.store.task(h.tenantId, value.page[0]!.task_id))!).sort(), 'task rows only');
    assert.equal(sent.length, 2, 'the page (with the head lock), then COMMIT');
  });

  test('a tenant without a chain-head row: the lock sent along finds none, the write runs again checked and is right', async () => {
    const t = await h.newTenant('no-head');
    // As for a tenant written to before heads existed: the checked run creates the row and locks it.
    await execIn(h, 'DELETE FROM chain_heads WHERE tenant_id = $1', [t.tenantId]);
    const created = await roundTrips(() => h.req('POST', '/v1/tasks', { type: 'rt', payload: { n: 1 } }, t.key));
    assert.equal(created.value.status, 201, JSON.stringify(created.value.json));
    assert.equal(created.value.json.receipt.seq, 1);
    assert.ok(created.sent.some((s) => /ROLLBACK TO SAVEPOINT op/.test(s)), 'the first run was undone');
    assert.ok(created.sent.some((s) => s.includes('INSERT INTO chain_heads')), 'the checked run created the head');
    const head = (await execIn(h, 'SELECT seq, chain_hash FROM chain_heads WHERE tenant_id = $1', [t.tenantId])).rows[0];
    assert.deepEqual(head, { seq: '1', chain_hash: created.value.json.receipt.chain_hash });
    const g = (await h.req('POST', '/v1/leases/claim', { worker_id: 'w', max_tasks: 1 }, t.key)).json.leases[0];
    assert.equal(g.task_id, created.value.json.task.task_id);
    const verify = await h.req('GET', '/v1/ledger/verify', undefined, t.key);
    assert.equal(verify.json.ok, true, JSON.stringify(verify.json));
  });

  describe('appends assumed new (their parents known to the transaction) answer as if they had been looked up', () => {
    const clock = new ManualClock('2026-03-01T12:00:00.000Z');
    const lenient = () => new Ledger(h.services.store, resolveConfig({ locatability: 'lenient' }), clock);
    const strict = () => new Ledger(h.services.store, resolveConfig({ locatability: 'strict' }), clock);
    const answers = (items: Awaited<ReturnType<Ledger['appendBatch']>>) =>
      items.map((i) => (i.ok ? { status: i.result.status, receipt_id: i.result.receipt.receipt_id } : { code: i.error.code }));
    /**
     * Appends one after another in one transaction, as the task engine's writes do. (appendBatch looks every
     * receipt's hash, key and parents up at once first, so nothing in it is assumed: see the test after these.)
     */
    const oneByOne = (ledger: Ledger, tenantId: string, inputs: ReceiptInput[]): ReturnType<Ledger['appendBatch']> =>
      h.services.store.write(async (tx) => {
        const out: Awaited<ReturnType<Ledger['appendBatch']>> = [];
        for (const input of inputs) {
          try {
            out.push({ ok: true, result: await ledger.appendInTx(tx, tenantId, input) });
          } catch (e) {
            if (!isQuittanceError(e)) throw e;
            out.push({ ok: false, error: e });
          }
        }
        return out;
      });
    const assigned = (n: number): ReceiptInput => ({ type: 'task.assigned', from: agent, to: worker, body: { n } });
    const progress = (parent: string, n: number, key?: string): ReceiptInput => ({
      type: 'task.progress', from: worker, to: agent, parents: [parent], body: { n }, ...(key !== undefined && { idempotency_key: key }),
    });

    test('a strict resend of a success accepted leniently without a locatable product answers the stored 202, not 422', async () => {
      const t = await h.newTenant('strict-resend');
      const a = assigned(1);
      const first = await lenient().appendBatch(t.tenantId, [a]);
      assert.ok(first[0]!.ok);
      const aId = (first[0] as { result: { receipt: { receipt_id: string } } }).result.receipt.receipt_id;
      const success: ReceiptInput = { type: 'task.completed', from: worker, to: agent, parents: [aId], body: { attempt: 1 } };
      const accepted = answers(await lenient().appendBatch(t.tenantId, [success]));
      assert.equal((accepted[0] as { status: string }).status, 'not_discharged');
      // The progress receipt before it makes its parent known (with its state): the success is then assumed new.
      const { value, sent } = await roundTrips(() => oneByOne(strict(), t.tenantId, [a, progress(aId, 1), success]));
      const resent = answers(value);
      assert.deepEqual(resent[0], { status: 'duplicate', receipt_id: aId });
      assert.equal((resent[1] as { status: string }).status, 'created');
      assert.deepEqual(resent[2], accepted[0], 'the stored answer (202), as on its first resend');
      assert.ok(sent.some((x) => /WHERE hash = /.test(x)), 'looked up after the refusal');
      // And alone (its parent looked up, nothing assumed): the same answer.
      assert.deepEqual(answers(await strict().appendBatch(t.tenantId, [success])), accepted);
    });

    /** A tenant with task.assigned 1, progress 1 and progress 2 (key-2) under it, and a count of its receipts. */
    const storedSoFar = async (name: string) => {
      const t = await h.newTenant(name);
      const first = await lenient().appendBatch(t.tenantId, [assigned(1)]);
      const aId = (first[0] as { result: { receipt: { receipt_id: string } } }).result.receipt.receipt_id;
      const stored = answers(await lenient().appendBatch(t.tenantId, [progress(aId, 1), progress(aId, 2, 'key-2')]));
      const count = async () => (await execIn(h, 'SELECT count(*)::int AS n FROM receipts WHERE tenant_id = $1', [t.tenantId])).rows[0]!.n as number;
      return { t, aId, stored, count, before: await count() };
    };

    test('a resend the unique indexes refuse runs again checked: duplicate, idempotency conflict, nothing written twice', async () => {
      const { t, aId, stored, count, before } = await storedSoFar('unique-fallback');
      // progress 3 is new and makes the parent known; progress 1 is a resend; progress 4 reuses key-2 for other content.
      const { value, sent } = await roundTrips(() => oneByOne(lenient(), t.tenantId, [progress(aId, 3), progress(aId, 1), progress(aId, 4, 'key-2')]));
      const resent = answers(value);
      assert.equal((resent[0] as { status: string }).status, 'created');
      assert.deepEqual(resent[1], { status: 'duplicate', receipt_id: (stored[0] as { receipt_id: string }).receipt_id });
      assert.deepEqual(resent[2], { code: 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT' });
      assert.ok(sent.some((x) => /ROLLBACK TO SAVEPOINT op/.test(x)), 'the assumption failed and was undone');
      assert.equal(await count(), before + 1, 'only progress 3 was written');
      const verify = await h.req('GET', '/v1/ledger/verify', undefined, t.key);
      assert.equal(verify.json.ok, true, JSON.stringify(verify.json));
    });

    test('appendBatch looks up every receipt at once: a few round trips for 60 receipts, the same answers as one by one', async () => {
      const { t, aId, stored, count, before } = await storedSoFar('batch-prefetch');
      // 55 new receipts, a resend, an idempotency conflict, a duplicate inside the batch, a key reused inside it
      // for other content, a success under an obligation this batch opens, and one under a parent that does not exist.
      const batch: ReceiptInput[] = [
        ...Array.from({ length: 55 }, (_, n) => assigned(100 + n)),
        progress(aId, 1),
        progress(aId, 4, 'key-2'),
        assigned(100),
        progress(aId, 5, 'key-5'),
        progress(aId, 6, 'key-5'),
        { type: 'task.progress', from: worker, to: agent, parents: ['no-such-receipt'], body: { n: 7 } },
      ];
      const { value, sent } = await roundTrips(() => lenient().appendBatch(t.tenantId, batch));
      const got = answers(value);
      assert.ok(sent.length <= 4, `round trips: ${sent.length}\n${sent.map((x) => x.slice(0, 80)).join('\n')}`);
      assert.ok(got.slice(0, 55).every((x) => (x as { status?: string }).status === 'created'));
      assert.deepEqual(got[55], { status: 'duplicate', receipt_id: (stored[0] as { receipt_id: string }).receipt_id });
      assert.deepEqual(got[56], { code: 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT' });
      assert.deepEqual(got[57], { status: 'duplicate', receipt_id: (got[0] as { receipt_id: string }).receipt_id });
      assert.equal((got[58] as { status: string }).status, 'created');
      assert.deepEqual(got[59], { code: 'QUITTANCE_ERR_IDEMPOTENCY_CONFLICT' });
      assert.equal((got[60] as { code: string }).code, 'QUITTANCE_ERR_PARENT_NOT_FOUND');
      assert.equal(await count(), before + 56, '55 assigned and progress 5, nothing else');
      // Sent again, one by one in a transaction of its own: every answer the same (all stored now, as duplicates).
      const again = answers(await oneByOne(lenient(), t.tenantId, batch));
      assert.deepEqual(again.slice(0, 55), got.slice(0, 55).map((x) => ({ ...x, status: 'duplicate' })));
      assert.deepEqual(again.slice(55), got.slice(55).map((x, i) => (i === 3 ? { ...x, status: 'duplicate' } : x)));
      const verify = await h.req('GET', '/v1/ledger/verify', undefined, t.key);
      assert.equal(verify.json.ok, true, JSON.stringify(verify.json));
    });
  });

  test('a write whose statements fail where they ride, with the next write\'s read, is refused alone; the next one commits', async (t) => {
    // A harness of its own: after the failures of the tests above, the shared one's committer runs batches with
    // savepoints from the start for a while.
    const own = await harness({ backend: 'postgres', config });
    t.after(() => own.close());
    assert.equal((await own.req('POST', '/v1/tasks', { type: 'rides-along', payload: {} })).status, 201);
    const g = (await own.req('POST', '/v1/leases/claim', { worker_id: 'w', max_tasks: 1 })).json.leases[0] as { task_id: string };
    const store = own.services.store;
    // Warm-up: the connection prepares the task read, which can then carry the statements buffered before it.
    await store.write(async (tx) => tx.taskById(own.tenantId, g.task_id));
    const closing = {
      outcome: 'completed', closed_by: 'gate', closed_reason: null, tombstoned_at: '2026-03-01T12:00:00.000Z', tombstone_receipt_id: 'r-x', late: false,
    } as const;
    let runs = 0;
    const { value, sent } = await roundTrips(() => Promise.allSettled([
      // Buffers an UPDATE that must change one row and changes none; nothing is sent before this write ends.
      store.write(async (tx) => {
        runs++;
        await tx.closeStamp(own.tenantId, 'stm_no_such_stamp', closing);
        return 'written';
      }),
      store.write(async (tx) => (await tx.taskById(own.tenantId, g.task_id))!.status),
    ]));
    const show = sent.map((x) => x.replace(/\s+/g, ' ').slice(0, 120)).join('\n');
    assert.equal(value[0].status, 'rejected', show);
    assert.match(String((value[0] as PromiseRejectedResult).reason), /tombstoning stamp stm_no_such_stamp changed 0 rows, expected 1/);
    assert.deepEqual(value[1], { status: 'fulfilled', value: 'leased' });
    assert.equal(runs, 2, 'run without savepoints, then again with one');
    const rode = sent.findIndex((x) => x.includes('UPDATE stamps'));
    assert.match(sent[rode]!, /UPDATE stamps[\s\S]*EXECUTE "q_taskById"/, `the UPDATE rode with the next write's read:\n${show}`);
    assert.equal(sent[rode + 1], 'ROLLBACK', show);
    assert.ok(sent.slice(rode + 2).some((x) => x.startsWith('ROLLBACK TO SAVEPOINT op')), show);
    assert.equal(sent.at(-1), 'COMMIT', show);
  });

  test('a read the connection has not prepared yet runs alone, inside the transaction; once prepared it rides as EXECUTE', async () => {
    const store = h.services.store;
    // now() is the transaction's start: equal across a write's statements only if they all ran in its transaction.
    const twice = (tx: Tx) => async () => {
      const batch = (tx as unknown as { batch: PgBatch }).batch;
      const now = async () => (await batch.read<{ t: Date }>('q_test_now', 'SELECT now() AS t', []))[0]!.t.getTime();
      const first = await now();
      await new Promise((r) => setTimeout(r, 20));
      return [first, await now()];
    };
    const { value: fresh, sent } = await roundTrips(() => store.write((tx) => twice(tx)()));
    const { value: prepared, sent: sentAgain } = await roundTrips(() => store.write((tx) => twice(tx)()));
    const show = [...sent, '--', ...sentAgain].join('\n');
    assert.equal(fresh[0], fresh[1], show);
    assert.equal(prepared[0], prepared[1], show);
    assert.match(sent[0]!, /^BEGIN(; SAVEPOINT op)?$/, show);
    assert.match(sentAgain[0]!, /^BEGIN;\s*EXECUTE "q_test_now"/, show);
  });
});
