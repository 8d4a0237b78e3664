/**
 * The Store contract, run against every backend: what the domain code relies on from `Store` and `Tx`, tested
 * directly (no HTTP, no mocks). The API-level suites in test/server run the same backends end to end.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BACKENDS, agent, worker, gate } from '../helpers.js';
import { backing, placeholders, type Backing } from './backing.js';
import { loadMigrations } from '../../src/store/migrations.js';
import type { Store, Tx } from '../../src/store/types.js';
import { GENESIS_HASH, type Principal, type Receipt, type ReceiptContent } from '../../src/ledger/types.js';
import { chainHash, contentHash } from '../../src/ledger/hashing.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { resolveConfig } from '../../src/config.js';
import { ManualClock } from '../../src/clock.js';
import { QuittanceError } from '../../src/errors.js';

let clockMs = Date.parse('2026-03-01T12:00:00.000Z');
const nextTime = () => new Date((clockMs += 1000)).toISOString();

/** Builds the next receipt of a tenant's chain from inside a write, the way the append rules do. */
async function chainNext(tx: Tx, content: Omit<ReceiptContent, 'parents' | 'body'> & { parents?: string[]; body?: Record<string, unknown> }, discharges = false): Promise<Receipt> {
  const c: ReceiptContent = { parents: [], body: {}, ...content };
  const head = await tx.chainHead(c.tenant_id);
  const hash = contentHash(c);
  const receipt_id = randomUUID();
  const seq = head.seq + 1;
  const created_at = nextTime();
  const r: Receipt = { receipt_id, ...c, seq, created_at, hash, prev_hash: head.chain_hash, chain_hash: chainHash(head.chain_hash, receipt_id, seq, created_at, hash), discharges };
  await tx.insertReceipt(r);
  await tx.setChainHead(c.tenant_id, { seq, chain_hash: r.chain_hash });
  return r;
}

function assigned(tenant_id: string, to: Principal, n: number): Parameters<typeof chainNext>[1] {
  return { tenant_id, type: 'task.assigned', from: agent, to, task_id: `task-${n}`, body: { n } };
}

/** Appends an obligation (receipt + open obligation) in its own write. */
function openOne(store: Store, tenant: string, to: Principal, n: number): Promise<Receipt> {
  return store.write(async (tx) => {
    const r = await chainNext(tx, assigned(tenant, to, n));
    await tx.openObligation(r);
    return r;
  });
}

async function newTenant(store: Store, name: string): Promise<string> {
  const tenant_id = `tnt_${name}_${randomUUID().slice(0, 8)}`;
  await store.createTenant({ tenant_id, name, created_at: nextTime() });
  return tenant_id;
}

for (const backend of BACKENDS) {
  describe(`[${backend}] Store contract`, () => {
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

    test('schema version: the newest migration this code knows, applied once even by a second store', async () => {
      const newest = loadMigrations(backend).at(-1)!.version;
      assert.deepEqual(await store.schemaVersion(), { current: newest, known: newest });
      const second = await b.open();
      try {
        assert.deepEqual(await second.schemaVersion(), { current: newest, known: newest });
        const rows = await b.exec('SELECT version FROM schema_migrations ORDER BY version');
        assert.deepEqual(rows.map((r) => Number(r['version'])), loadMigrations(backend).map((m) => m.version));
      } finally {
        await second.close();
      }
    });

    test('tenants and API keys: round trip, byte-order listing, duplicate name is TENANT_EXISTS with the driver error as cause', async () => {
      const t = { tenant_id: 'tnt_contract_1', name: 'Zeta', created_at: '2026-03-01T00:00:00.000Z' };
      await store.createTenant(t);
      await store.createTenant({ tenant_id: 'tnt_contract_2', name: 'alpha', created_at: t.created_at });
      await store.createTenant({ tenant_id: 'tnt_contract_3', name: 'Alpha', created_at: t.created_at });
      assert.deepEqual(await store.tenantByName('Zeta'), t);
      assert.deepEqual(await store.tenantById('tnt_contract_1'), t);
      assert.equal(await store.tenantByName('zeta'), undefined);
      assert.equal(await store.tenantById('tnt_nobody'), undefined);
      const listed = (await store.listTenants()).filter((x) => x.tenant_id.startsWith('tnt_contract_')).map((x) => x.name);
      assert.deepEqual(listed, ['Alpha', 'Zeta', 'alpha'], 'created_at, then name in byte order');

      await assert.rejects(store.createTenant({ ...t, tenant_id: 'tnt_contract_4' }), (e: unknown) => {
        assert.ok(e instanceof QuittanceError);
        assert.equal(e.code, 'QUITTANCE_ERR_TENANT_EXISTS');
        assert.ok((e as Error).cause, 'the driver error is kept as cause');
        return true;
      });
      assert.equal(await store.tenantById('tnt_contract_4'), undefined);

      const key = { key_id: 'k'.repeat(16), tenant_id: t.tenant_id, secret_hash: 'f'.repeat(64), scopes: ['read', 'write'], label: null, created_at: t.created_at, revoked_at: null };
      await store.createApiKey(key);
      assert.deepEqual(await store.apiKeyById(key.key_id), key);
      const labelled = { ...key, key_id: 'l'.repeat(16), scopes: ['admin'], label: 'ci', revoked_at: '2026-03-02T00:00:00.000Z' };
      await store.createApiKey(labelled);
      assert.deepEqual(await store.apiKeyById(labelled.key_id), labelled);
      assert.equal(await store.apiKeyById('m'.repeat(16)), undefined);
    });

    test('a tenant and its first key are written together: both, or (the key refused) neither', async () => {
      const at = '2026-03-01T00:00:00.000Z';
      const tenant = { tenant_id: 'tnt_contract_first_1', name: 'first-key', created_at: at };
      const key = { key_id: 'f'.repeat(16), tenant_id: tenant.tenant_id, secret_hash: 'e'.repeat(64), scopes: ['admin'], label: 'first', created_at: at, revoked_at: null };
      await store.createTenant(tenant, key);
      assert.deepEqual(await store.tenantById(tenant.tenant_id), tenant);
      assert.deepEqual(await store.apiKeyById(key.key_id), key);
      // A first key the store refuses (its id taken): the tenant is not created either, so no server can see it
      // without a key and make one of its own (two keys each "shown once").
      const other = { tenant_id: 'tnt_contract_first_2', name: 'first-key-2', created_at: at };
      await assert.rejects(store.createTenant(other, { ...key, tenant_id: other.tenant_id }));
      assert.equal(await store.tenantById(other.tenant_id), undefined);
      assert.equal(await store.tenantByName('first-key-2'), undefined);
      // Its name is free: created again with a key that fits, it is there with that key.
      await store.createTenant(other, { ...key, key_id: 'g'.repeat(16), tenant_id: other.tenant_id });
      assert.deepEqual((await store.listApiKeys(other.tenant_id)).map((k) => k.key_id), ['g'.repeat(16)]);
    });

    test('API keys: listed per tenant without secret hashes, in created_at then byte order; revoked once, scoped by tenant', async () => {
      const mine = await newTenant(store, 'keys-mine');
      const theirs = await newTenant(store, 'keys-theirs');
      const at = '2026-03-01T00:00:00.000Z';
      const row = (key_id: string, tenant_id: string, created_at: string, label: string | null = null) =>
        ({ key_id, tenant_id, secret_hash: 'a'.repeat(64), scopes: ['read'], label, created_at, revoked_at: null });
      // Same created_at: the tie-break is key_id in byte order ('Z' < 'a' < 'b').
      for (const k of [row('b'.repeat(16), mine, at), row('Z'.repeat(16), mine, at, 'upper'), row('a'.repeat(16), mine, at), row('0'.repeat(16), mine, '2026-02-28T00:00:00.000Z')]) {
        await store.createApiKey(k);
      }
      await store.createApiKey(row('t'.repeat(16), theirs, at));
      const listed = await store.listApiKeys(mine);
      assert.deepEqual(listed.map((k) => k.key_id), ['0', 'Z', 'a', 'b'].map((c) => c.repeat(16)));
      assert.deepEqual(Object.keys(listed[0]!).sort(), ['created_at', 'key_id', 'label', 'revoked_at', 'scopes', 'tenant_id']);
      assert.deepEqual(listed[1], { key_id: 'Z'.repeat(16), tenant_id: mine, scopes: ['read'], label: 'upper', created_at: at, revoked_at: null });
      assert.deepEqual(await store.listApiKeys('tnt_nobody'), []);

      const first = '2026-03-02T00:00:00.000Z';
      const r = await store.revokeApiKey('a'.repeat(16), first);
      assert.deepEqual(r, { key: { ...listed[2]!, revoked_at: first }, revokedNow: true });
      assert.equal((await store.apiKeyById('a'.repeat(16)))!.revoked_at, first);
      const again = await store.revokeApiKey('a'.repeat(16), '2026-03-03T00:00:00.000Z', mine);
      assert.deepEqual(again, { key: { ...listed[2]!, revoked_at: first }, revokedNow: false }, 'the first revoked_at is kept');

      // Scoped to a tenant, another tenant's key is not found and stays as it was; so is an unknown id.
      assert.equal(await store.revokeApiKey('t'.repeat(16), first, mine), undefined);
      assert.equal(await store.revokeApiKey('u'.repeat(16), first), undefined);
      assert.equal(await store.revokeApiKey('x\u0000y', first), undefined);
      assert.equal((await store.apiKeyById('t'.repeat(16)))!.revoked_at, null);
      assert.deepEqual((await store.listApiKeys(mine)).map((k) => k.revoked_at), [null, null, first, null]);
    });

    test('a tenant or key created while another write is open is not part of it: that write failing takes neither along', async () => {
      const tenant = await newTenant(store, 'during-write');
      let inside = false;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const failing = store.write(async () => {
        inside = true;
        await gate;
        throw new Error('refused');
      });
      while (!inside) await new Promise((r) => setImmediate(r));
      const at = '2026-03-01T00:00:00.000Z';
      const created = Promise.all([
        store.createTenant({ tenant_id: 'tnt_during_write', name: 'made-during-write', created_at: at }),
        store.createApiKey({ key_id: 'd'.repeat(16), tenant_id: tenant, secret_hash: 'e'.repeat(64), scopes: ['read'], label: null, created_at: at, revoked_at: null }),
      ]);
      release();
      await assert.rejects(failing, /refused/);
      await created;
      assert.equal((await store.tenantById('tnt_during_write'))?.name, 'made-during-write');
      assert.equal((await store.apiKeyById('d'.repeat(16)))?.tenant_id, tenant);
    });

    test('chain head: genesis before the first receipt; advanced inside a write and visible once it commits', async () => {
      const tenant = await newTenant(store, 'heads');
      assert.deepEqual(await store.chainHeadOf(tenant), { seq: 0, chain_hash: GENESIS_HASH });
      assert.deepEqual(await store.chainHeadOf('tnt_never_created'), { seq: 0, chain_hash: GENESIS_HASH });
      const [r1, r2] = await store.write(async (tx) => {
        const a = await chainNext(tx, assigned(tenant, worker, 1));
        assert.deepEqual(await tx.chainHead(tenant), { seq: 1, chain_hash: a.chain_hash }, 'a write sees its own head');
        return [a, await chainNext(tx, assigned(tenant, worker, 2))];
      });
      assert.equal(r2!.prev_hash, r1!.chain_hash);
      assert.deepEqual(await store.chainHeadOf(tenant), { seq: 2, chain_hash: r2!.chain_hash });
      assert.equal(await store.countReceipts(tenant), 2);
      // A tenant whose head row was never created (written to without createTenant) starts at genesis too.
      const loose = `tnt_loose_${randomUUID().slice(0, 8)}`;
      const first = await store.write((tx) => chainNext(tx, assigned(loose, worker, 1)));
      assert.equal(first.seq, 1);
      assert.equal(first.prev_hash, GENESIS_HASH);
    });

    test('a write that throws leaves nothing behind, and writes committed with it are unaffected', async () => {
      const tenant = await newTenant(store, 'rollback');
      const kept = await store.write((tx) => chainNext(tx, assigned(tenant, worker, 1)));
      // Submitted together, so both ride in one group commit: the failing one is undone alone.
      const failing = store.write(async (tx) => {
        const r = await chainNext(tx, assigned(tenant, worker, 2));
        await tx.openObligation(r);
        throw new Error(`refused after writing ${r.receipt_id}`);
      });
      const next = store.write(async (tx) => {
        const head = await tx.chainHead(tenant);
        const r = await chainNext(tx, assigned(tenant, worker, 3));
        return { head, r };
      });
      await assert.rejects(failing, /refused after writing/);
      const { head, r } = await next;
      assert.deepEqual(head, { seq: 1, chain_hash: kept.chain_hash }, 'the undone write did not move the head');
      assert.equal(r.seq, 2);
      assert.equal(r.prev_hash, kept.chain_hash);
      assert.equal(await store.countReceipts(tenant), 2);
      assert.equal((await store.openObligations(tenant, { after_seq: 0, limit: 10 })).length, 0);
      assert.deepEqual(await store.chainHeadOf(tenant), { seq: 2, chain_hash: r.chain_hash });
    });

    test('a write the database refuses (a receipt_id already stored) fails alone, and takes its head change with it', async () => {
      const tenant = await newTenant(store, 'refused');
      const first = await store.write((tx) => chainNext(tx, assigned(tenant, worker, 1)));
      const clash = store.write(async (tx) => {
        const r = await chainNext(tx, assigned(tenant, worker, 2));
        await tx.openObligation(r);
        // A second receipt reusing an id breaks the receipts table's uniqueness: the database says no.
        const head = await tx.chainHead(tenant);
        await tx.insertReceipt({ ...r, seq: head.seq + 1, hash: 'f'.repeat(64), body: { n: 'again' } });
        await tx.setChainHead(tenant, { seq: head.seq + 1, chain_hash: 'e'.repeat(64) });
      });
      const after = store.write((tx) => chainNext(tx, assigned(tenant, worker, 3)));
      await assert.rejects(clash);
      const r3 = await after;
      assert.equal(r3.seq, 2);
      assert.equal(r3.prev_hash, first.chain_hash);
      assert.equal(await store.countReceipts(tenant), 2);
      assert.deepEqual(await store.openObligations(tenant, { after_seq: 0, limit: 10 }), []);
      assert.equal((await new Ledger(store, resolveConfig(), new ManualClock()).verify(tenant)).ok, true);
    });

    test('within one write, what it wrote is read back: by hash, key, id, obligation state (opened and closed in the same write)', async () => {
      const tenant = await newTenant(store, 'own-writes');
      await store.write(async (tx) => {
        const ob = await chainNext(tx, { ...assigned(tenant, worker, 1), idempotency_key: 'own-1' });
        await tx.openObligation(ob);
        assert.deepEqual(await tx.receiptByHash(tenant, ob.hash), ob);
        assert.deepEqual(await tx.receiptByIdempotencyKey(tenant, 'own-1'), ob);
        assert.deepEqual(await tx.receiptsByIds(tenant, [ob.receipt_id]), [ob]);
        assert.deepEqual(await tx.obligationStates(tenant, [ob.receipt_id]), [{ receipt_id: ob.receipt_id, type: 'task.assigned', open: true }]);
        const done = await chainNext(tx, { tenant_id: tenant, type: 'task.canceled', from: gate, to: agent, parents: [ob.receipt_id] }, true);
        await tx.closeObligation(tenant, ob.receipt_id, done.receipt_id, done.created_at);
        assert.deepEqual(await tx.obligationStates(tenant, [ob.receipt_id]), [
          { receipt_id: ob.receipt_id, type: 'task.assigned', open: false, closed_by: done.receipt_id, closed_at: done.created_at },
        ]);
        await assert.rejects(tx.closeObligation(tenant, ob.receipt_id, done.receipt_id, done.created_at), /was not open/);
      });
      const [ob] = await store.listReceipts(tenant, { type: 'task.assigned', after_seq: 0, limit: 10 });
      assert.equal((await store.obligationState(tenant, ob!.receipt_id))?.open, false);
      assert.equal(await store.countReceipts(tenant), 2);
    });

    test('ids no backend can hold (U+0000) are simply not found by reads', async () => {
      const tenant = await newTenant(store, 'nul');
      const ob = await openOne(store, tenant, worker, 1);
      const nul = 'x\u0000y';
      assert.equal(await store.receipt(tenant, nul), undefined);
      assert.equal(await store.receipt(nul, ob.receipt_id), undefined);
      assert.equal(await store.obligationState(tenant, nul), undefined);
      assert.deepEqual(await store.listReceipts(tenant, { task_id: nul, after_seq: 0, limit: 10 }), []);
      assert.equal(await store.tenantByName(nul), undefined);
      assert.equal(await store.apiKeyById(nul), undefined);
      await store.write(async (tx) => {
        assert.equal(await tx.receiptByHash(tenant, nul), undefined);
        assert.equal(await tx.receiptByIdempotencyKey(tenant, nul), undefined);
        assert.deepEqual((await tx.receiptsByIds(tenant, [nul, ob.receipt_id])).map((r) => r.receipt_id), [ob.receipt_id]);
        assert.deepEqual((await tx.obligationStates(tenant, [nul, ob.receipt_id])).map((s) => s.receipt_id), [ob.receipt_id]);
      });
      if (backend === 'postgres') {
        // PostgreSQL text cannot store U+0000: writing it is a coded 400 there (SQLite stores it).
        await assert.rejects(store.write((tx) => chainNext(tx, { ...assigned(tenant, worker, 2), task_id: nul })), (e: unknown) => {
          assert.ok(e instanceof QuittanceError);
          assert.equal(e.code, 'QUITTANCE_ERR_VALIDATION');
          return true;
        });
        assert.equal(await store.countReceipts(tenant), 1);
      }
    });

    test('atomically undoes only its own writes, and the enclosing write goes on', async () => {
      const tenant = await newTenant(store, 'nested');
      const out = await store.write(async (tx) => {
        const a = await chainNext(tx, assigned(tenant, worker, 1));
        await assert.rejects(tx.atomically(async () => {
          await chainNext(tx, assigned(tenant, worker, 2));
          throw new Error('inner refusal');
        }), /inner refusal/);
        const afterUndo = await tx.chainHead(tenant);
        const c = await tx.atomically(() => chainNext(tx, assigned(tenant, worker, 3)));
        return { a, afterUndo, c };
      });
      assert.deepEqual(out.afterUndo, { seq: 1, chain_hash: out.a.chain_hash });
      assert.equal(out.c.seq, 2);
      assert.deepEqual((await store.listReceipts(tenant, { after_seq: 0, limit: 10 })).map((r) => r.body['n']), [1, 3]);
    });

    test('receipts read back exactly: by id, by hash, by idempotency key, by ids in the order asked; never across tenants', async () => {
      const tenant = await newTenant(store, 'reads');
      const other = await newTenant(store, 'reads-other');
      const full = await store.write((tx) => chainNext(tx, {
        tenant_id: tenant, type: 'task.completed', from: { kind: 'worker', id: 'w1', instance_id: 'pod-7' }, to: agent,
        task_id: 't', lease_id: 'l', stamp_id: 's', session_id: 'sess', parents: [randomUUID(), randomUUID()].sort(),
        body: { z: 1, a: [1.5, 'two', null, { nested: true }], 'é': '☃' },
        artifacts: [{ kind: 's3', uri: 's3://b/k', digest: 'sha256:' + 'a'.repeat(64), size_bytes: 12, extra: { x: 1 } }],
        delivery_proof: { mode: 'push', target: { url: 'https://x' }, status: 'succeeded', at: '2026-03-01T00:00:00Z', proof: { http_status: 200 } },
        idempotency_key: 'idem-1',
      }, true));
      const plain = await store.write((tx) => chainNext(tx, assigned(tenant, worker, 9)));
      const foreign = await store.write((tx) => chainNext(tx, assigned(other, worker, 9)));

      assert.deepEqual(await store.receipt(tenant, full.receipt_id), full);
      assert.deepEqual(await store.receipt(tenant, plain.receipt_id), plain);
      assert.equal(await store.receipt(tenant, foreign.receipt_id), undefined, "another tenant's id reads as missing");
      assert.equal(await store.receipt(tenant, randomUUID()), undefined);
      await store.write(async (tx) => {
        assert.deepEqual(await tx.receiptByHash(tenant, full.hash), full);
        assert.equal(await tx.receiptByHash(other, full.hash), undefined);
        assert.deepEqual(await tx.receiptByIdempotencyKey(tenant, 'idem-1'), full);
        assert.equal(await tx.receiptByIdempotencyKey(other, 'idem-1'), undefined);
        const ids = [plain.receipt_id, randomUUID(), foreign.receipt_id, full.receipt_id];
        assert.deepEqual((await tx.receiptsByIds(tenant, ids)).map((r) => r.receipt_id), [plain.receipt_id, full.receipt_id]);
        assert.deepEqual(await tx.receiptsByIds(tenant, []), []);
      });
    });

    test('obligations: open until closed exactly once; states, list by principal, cursor and limit', async () => {
      const tenant = await newTenant(store, 'obligations');
      const w2: Principal = { kind: 'worker', id: 'w2' };
      const obs: Receipt[] = [];
      for (let i = 0; i < 5; i++) obs.push(await openOne(store, tenant, i % 2 ? w2 : worker, i));
      const [o0, o1, o2, o3, o4] = obs as [Receipt, Receipt, Receipt, Receipt, Receipt];

      const closer = await store.write(async (tx) => {
        const before = await tx.obligationStates(tenant, [o2.receipt_id, o1.receipt_id, randomUUID()]);
        assert.deepEqual(before, [
          { receipt_id: o2.receipt_id, type: 'task.assigned', open: true },
          { receipt_id: o1.receipt_id, type: 'task.assigned', open: true },
        ], 'states in the order asked, unknown ids left out');
        const c = await chainNext(tx, { tenant_id: tenant, type: 'task.canceled', from: gate, to: agent, parents: [o1.receipt_id] }, true);
        await tx.closeObligation(tenant, o1.receipt_id, c.receipt_id, c.created_at);
        return c;
      });
      assert.deepEqual(await store.obligationState(tenant, o1.receipt_id), {
        receipt_id: o1.receipt_id, type: 'task.assigned', open: false, closed_by: closer.receipt_id, closed_at: closer.created_at,
      });
      assert.deepEqual(await store.obligationState(tenant, o0.receipt_id), { receipt_id: o0.receipt_id, type: 'task.assigned', open: true });
      assert.equal(await store.obligationState(tenant, closer.receipt_id), undefined, 'a terminator is no obligation');
      await assert.rejects(store.write((tx) => tx.closeObligation(tenant, o1.receipt_id, randomUUID(), nextTime())), /was not open/);
      assert.equal((await store.obligationState(tenant, o1.receipt_id))!.closed_by, closer.receipt_id, 'closed exactly once');

      const ids = (rs: Receipt[]) => rs.map((r) => r.receipt_id);
      assert.deepEqual(ids(await store.openObligations(tenant, { after_seq: 0, limit: 10 })), ids([o0, o2, o3, o4]));
      assert.deepEqual(ids(await store.openObligations(tenant, { after_seq: 0, limit: 2 })), ids([o0, o2]));
      assert.deepEqual(ids(await store.openObligations(tenant, { after_seq: o2.seq, limit: 10 })), ids([o3, o4]));
      assert.deepEqual(ids(await store.openObligations(tenant, { principal: w2, after_seq: 0, limit: 10 })), ids([o3]));
      assert.deepEqual(ids(await store.openObligations(tenant, { principal: { kind: 'agent', id: 'w2' }, after_seq: 0, limit: 10 })), []);
      const full = await store.openObligations(tenant, { principal: worker, after_seq: 0, limit: 10 });
      assert.deepEqual(full, [o0, o2, o4], 'whole receipts come back');
    });

    test('listReceipts: filters by type, task, principal (either side) and since; seq order; cursor and limit', async () => {
      const tenant = await newTenant(store, 'list');
      const rs: Receipt[] = [];
      for (let i = 0; i < 4; i++) rs.push(await openOne(store, tenant, i < 2 ? worker : { kind: 'worker', id: 'w9' }, i));
      rs.push(await store.write((tx) => chainNext(tx, { tenant_id: tenant, type: 'task.progress', from: worker, to: agent, task_id: 'task-1', body: { pct: 5 } })));
      const ids = (xs: Receipt[]) => xs.map((r) => r.seq);
      const list = (f: Partial<Parameters<Store['listReceipts']>[1]>) => store.listReceipts(tenant, { after_seq: 0, limit: 100, ...f });
      assert.deepEqual(ids(await list({})), [1, 2, 3, 4, 5]);
      assert.deepEqual(ids(await list({ type: 'task.progress' })), [5]);
      assert.deepEqual(ids(await list({ task_id: 'task-1' })), [2, 5]);
      assert.deepEqual(ids(await list({ principal: { kind: 'worker', id: 'w1' } })), [1, 2, 5], 'addressed to or sent by');
      assert.deepEqual(ids(await list({ principal: { kind: 'agent', id: 'planner' }, type: 'task.assigned' })), [1, 2, 3, 4]);
      assert.deepEqual(ids(await list({ since: rs[2]!.created_at })), [3, 4, 5], 'since is inclusive');
      assert.deepEqual(ids(await list({ since: rs[2]!.created_at, task_id: 'task-3', type: 'task.assigned' })), [4]);
      assert.deepEqual(ids(await list({ after_seq: 2, limit: 2 })), [3, 4]);
      assert.deepEqual(await list({ type: 'nothing.here' }), []);
    });

    test('markDelivered: stamped once, the first value is what every later call answers', async () => {
      const tenant = await newTenant(store, 'delivered');
      const a = await openOne(store, tenant, worker, 1);
      const b2 = await openOne(store, tenant, worker, 2);
      const first = await store.write((tx) => tx.markDelivered(tenant, [a.receipt_id], '2026-03-01T00:00:01.000Z'));
      assert.deepEqual([...first], [[a.receipt_id, '2026-03-01T00:00:01.000Z']]);
      const missing = randomUUID();
      const second = await store.write((tx) => tx.markDelivered(tenant, [a.receipt_id, b2.receipt_id, missing], '2026-03-01T00:00:09.000Z'));
      assert.deepEqual(Object.fromEntries(second), { [a.receipt_id]: '2026-03-01T00:00:01.000Z', [b2.receipt_id]: '2026-03-01T00:00:09.000Z' });
      assert.equal((await store.receipt(tenant, a.receipt_id))!.delivered_at, '2026-03-01T00:00:01.000Z');
      const other = await newTenant(store, 'delivered-other');
      assert.equal((await store.write((tx) => tx.markDelivered(other, [b2.receipt_id], nextTime()))).size, 0, 'never across tenants');
      // Telemetry only: the obligation stays open.
      assert.equal((await store.openObligations(tenant, { after_seq: 0, limit: 10 })).length, 2);
    });

    test('chainSegment: receipts in seq order from a seq; a stored row not in the form written comes back as a defect', async () => {
      const tenant = await newTenant(store, 'segment');
      for (let i = 0; i < 5; i++) await openOne(store, tenant, worker, i);
      const seg = await store.chainSegment(tenant, 2, 3);
      assert.deepEqual(seg.map((r) => [r.seq, r.defect]), [[2, undefined], [3, undefined], [4, undefined]]);
      assert.deepEqual(seg[0]!.receipt, await store.receipt(tenant, seg[0]!.receipt!.receipt_id));

      const tamper = (sql: string, seq: number) => b.exec(placeholders(backend, `${sql} WHERE tenant_id = $1 AND seq = $2`), [tenant, seq]);
      await tamper(`UPDATE receipts SET body = replace(body, ':', ': ')`, 2);
      await tamper(`UPDATE receipts SET body = '{"n":'`, 3);
      await tamper(`UPDATE receipts SET parents = '[ ]'`, 4);
      const bad = await store.chainSegment(tenant, 1, 100);
      assert.equal(bad.length, 5);
      assert.ok(bad[0]!.receipt && !bad[0]!.defect);
      assert.match(bad[1]!.defect!, /not the canonical JSON/);
      assert.match(bad[2]!.defect!, /cannot be read/);
      assert.match(bad[3]!.defect!, /parents/);
      assert.ok(bad[4]!.receipt);
    });

    test('countReceipts: per tenant and in all', async () => {
      const tenant = await newTenant(store, 'count');
      const before = await store.countReceipts();
      for (let i = 0; i < 3; i++) await openOne(store, tenant, worker, i);
      assert.equal(await store.countReceipts(tenant), 3);
      assert.equal(await store.countReceipts(), before + 3);
    });

    test('ledgerTenantIds: every tenant with receipts or a chain head, in id order, its tenants row deleted or not', async () => {
      const kept = await newTenant(store, 'ids-kept');
      const dropped = await newTenant(store, 'ids-dropped');
      for (const t of [kept, dropped]) await openOne(store, t, worker, 1);
      await b.exec(placeholders(backend, 'DELETE FROM tenants WHERE tenant_id = $1'), [dropped]);
      const ids = await store.ledgerTenantIds();
      assert.ok(ids.includes(kept) && ids.includes(dropped), ids.join());
      assert.deepEqual(ids, [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      assert.equal(new Set(ids).size, ids.length);
      // A chain head without receipts (a tenant created, nothing appended yet) counts as well.
      const empty = await newTenant(store, 'ids-empty');
      await store.write((tx) => tx.setChainHead(empty, { seq: 0, chain_hash: '0'.repeat(64) }));
      assert.ok((await store.ledgerTenantIds()).includes(empty));
    });
  });

  describe(`[${backend}] Store contract: several stores on one database`, () => {
    test('refuses to open a schema newer than it knows (QUITTANCE_ERR_SCHEMA_TOO_NEW), and nothing is changed', async () => {
      const b = backing(backend);
      try {
        await (await b.open()).close();
        const newest = loadMigrations(backend).at(-1)!.version;
        await b.exec(placeholders(backend, 'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)'), [newest + 1, 'from_the_future', nextTime()]);
        await assert.rejects(b.open(), (e: unknown) => {
          assert.ok(e instanceof QuittanceError);
          assert.equal(e.code, 'QUITTANCE_ERR_SCHEMA_TOO_NEW');
          assert.match(e.message, new RegExp(`version ${newest + 1} but this Quittance knows only up to ${newest}`));
          return true;
        });
        const rows = await b.exec('SELECT max(version) AS v FROM schema_migrations');
        assert.equal(Number(rows[0]!['v']), newest + 1);
      } finally {
        await b.cleanup();
      }
    });

    test('stores opened together migrate once and agree', async () => {
      const b = backing(backend);
      try {
        const stores = await Promise.all([b.open(), b.open(), b.open()]);
        for (const s of stores) assert.equal((await s.schemaVersion()).current, loadMigrations(backend).at(-1)!.version);
        const t = await newTenant(stores[0]!, 'shared');
        assert.equal((await stores[2]!.tenantById(t))?.name, 'shared');
        await Promise.all(stores.map((s) => s.close()));
      } finally {
        await b.cleanup();
      }
    });

    test('two stores appending concurrently to the same tenants, in opposite orders: every append lands, chains gapless and verified', async () => {
      const b = backing(backend);
      const s1 = await b.open();
      const s2 = await b.open();
      try {
        const clock = new ManualClock('2026-03-01T12:00:00.000Z');
        const config = resolveConfig();
        const l1 = new Ledger(s1, config, clock);
        const l2 = new Ledger(s2, config, clock);
        const tA = await newTenant(s1, 'race-a');
        const tB = await newTenant(s2, 'race-b');
        const rounds = 60;
        const appends: Promise<unknown>[] = [];
        for (let i = 0; i < rounds; i++) {
          // Each store's group commit gets both tenants in every batch, in the opposite order to the other store's.
          for (const [ledger, first, second, who] of [[l1, tA, tB, 's1'], [l2, tB, tA, 's2']] as const) {
            appends.push(ledger.append(first, { type: 'task.assigned', from: agent, to: worker, body: { who, i, n: 1 } }));
            appends.push(ledger.append(second, { type: 'task.assigned', from: agent, to: worker, body: { who, i, n: 2 } }));
          }
          if (i % 10 === 9) await new Promise((r) => setImmediate(r));
        }
        const results = await Promise.allSettled(appends);
        const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
        assert.deepEqual(failed.map((f) => String(f.reason)), [], 'no append failed (no deadlock, no duplicate seq)');
        for (const t of [tA, tB]) {
          assert.equal(await s1.countReceipts(t), rounds * 2);
          const check = await l2.verify(t);
          assert.equal(check.ok, true, JSON.stringify(check));
          assert.equal(check.head_seq, rounds * 2);
          const seqs = (await s2.listReceipts(t, { after_seq: 0, limit: 1000 })).map((r) => r.seq);
          assert.deepEqual(seqs, Array.from({ length: rounds * 2 }, (_, i) => i + 1));
        }
      } finally {
        await s1.close();
        await s2.close();
        await b.cleanup();
      }
    });
  });
}
