/**
 * The Store contract for evidence, runtime install heads and stored contracts, on every backend: what
 * src/evidence, src/runtime and src/contracts/stored.ts rely on from Store and Tx, tested without HTTP.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { BACKENDS } from '../helpers.js';
import { backing, type Backing } from '../store/backing.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { resolveConfig } from '../../src/config.js';
import { ManualClock } from '../../src/clock.js';
import { LEDGER_PRINCIPAL } from '../../src/ledger/types.js';
import { QuittanceError } from '../../src/errors.js';
import type { Store } from '../../src/store/types.js';
import type { RuntimeInstallRow } from '../../src/runtime/types.js';

const sha = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex');
async function* chunks(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield p;
}

for (const backend of BACKENDS) {
  describe(`[${backend}] store contract: evidence, runtime installs, contracts`, () => {
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

    test('blobs: the digest is computed as the bytes pass; the same bytes again are one blob', async () => {
      const bytes = randomBytes(200_000);
      const a = await store.blobs.put(chunks(bytes.subarray(0, 70_000), bytes.subarray(70_000)), 1 << 20);
      assert.deepEqual(a, { digest: sha(bytes), size_bytes: bytes.length });
      const again = await store.blobs.put(chunks(bytes), 1 << 20);
      assert.deepEqual(again, a);
      assert.ok((await store.blobs.read(a.digest))!.equals(bytes));
      assert.equal(await store.blobs.read(sha(Buffer.from('never put'))), undefined);
      assert.equal(await store.blobs.read('sha256:../../etc/passwd'), undefined);
    });

    test('blobs: past maxBytes the put stops with the coded error and keeps nothing', async () => {
      const bytes = randomBytes(2048);
      await assert.rejects(store.blobs.put(chunks(bytes.subarray(0, 1000), bytes.subarray(1000)), 1500), (e: unknown) => {
        assert.ok(e instanceof QuittanceError);
        assert.equal(e.code, 'QUITTANCE_ERR_EVIDENCE_TOO_LARGE');
        return true;
      });
      assert.equal(await store.blobs.read(sha(bytes)), undefined);
    });

    test('evidence rows: recorded once per tenant (the first row is kept), visible only to that tenant', async () => {
      const digest = sha(Buffer.from('row'));
      const row = { tenant_id: 't1', digest, size_bytes: 3, content_type: 'text/plain', created_at: '2026-03-01T12:00:00.000Z' };
      assert.equal(await store.write((tx) => tx.recordEvidence(row)), true);
      assert.equal(await store.write((tx) => tx.recordEvidence({ ...row, content_type: 'text/html' })), false);
      assert.deepEqual(await store.evidence.evidenceRow('t1', digest), row);
      assert.equal(await store.evidence.evidenceRow('t2', digest), undefined);
    });

    test('runtime install heads: inserted, moved, found by id and by runtime + target, per tenant', async () => {
      const head: RuntimeInstallRow = {
        tenant_id: 't1', install_id: 'inst-1', runtime_ref: 'urn:srcos:runtime:r@1', target_ref: 'urn:srcos:target:x',
        head_receipt_id: 'r-1', head_document_id: 'urn:srcos:receipt:runtime-install:inst-1.1', install_state: 'installing',
        manifest_digest: sha(Buffer.from('m')), started_at: '2026-03-01T12:00:00.000Z', links: 1, updated_at: '2026-03-01T12:00:00.000Z',
      };
      await store.write((tx) => tx.putRuntimeInstall(head));
      const moved = { ...head, head_receipt_id: 'r-2', head_document_id: 'urn:srcos:receipt:runtime-install:inst-1.2', install_state: 'installed' as const, links: 2 };
      const inTx = await store.write(async (tx) => {
        const cur = await tx.runtimeInstallByTarget('t1', head.runtime_ref, head.target_ref);
        await tx.putRuntimeInstall(moved);
        return cur;
      });
      assert.deepEqual(inTx, head);
      assert.deepEqual(await store.runtimeInstalls.runtimeInstall('t1', 'inst-1'), moved);
      assert.deepEqual(await store.runtimeInstalls.runtimeInstallByTarget('t1', head.runtime_ref, head.target_ref), moved);
      assert.equal(await store.runtimeInstalls.runtimeInstall('t2', 'inst-1'), undefined);
      assert.equal(await store.runtimeInstalls.runtimeInstallByTarget('t2', head.runtime_ref, head.target_ref), undefined);
    });

    test('contracts: the index row comes back with its receipt; lists by seq, by type, per tenant', async () => {
      const ledger = new Ledger(store, resolveConfig(), new ManualClock('2026-03-01T12:00:00.000Z'));
      const put = (tenant: string, id: string, type: string) => store.write(async (tx) => {
        const { receipt } = await ledger.appendInTx(tx, tenant, { type: 'contract.object', from: LEDGER_PRINCIPAL, to: LEDGER_PRINCIPAL, body: { contract_id: id } }, { writer: 'contracts' });
        await tx.insertContract({ tenant_id: tenant, contract_id: id, type, content_hash: 'h-' + id, receipt_id: receipt.receipt_id, seq: receipt.seq });
        return receipt;
      });
      const r1 = await put('c1', 'urn:srcos:x:1', 'GitWorkspaceState');
      const r2 = await put('c1', 'urn:srcos:x:2', 'RuntimeInstallReceipt');
      await put('c2', 'urn:srcos:x:1', 'GitWorkspaceState');
      const one = await store.contracts.contract('c1', 'urn:srcos:x:1');
      assert.deepEqual(one, { row: { tenant_id: 'c1', contract_id: 'urn:srcos:x:1', type: 'GitWorkspaceState', content_hash: 'h-urn:srcos:x:1', receipt_id: r1.receipt_id, seq: r1.seq }, receipt: r1 });
      assert.equal((await store.write((tx) => tx.contractById('c1', 'urn:srcos:x:2')))!.receipt_id, r2.receipt_id);
      assert.equal(await store.write((tx) => tx.contractById('c3', 'urn:srcos:x:2')), undefined);
      const all = await store.contracts.listContracts('c1', { after_seq: 0, limit: 10 });
      assert.deepEqual(all.map((c) => c.receipt.receipt_id), [r1.receipt_id, r2.receipt_id]);
      assert.deepEqual((await store.contracts.listContracts('c1', { after_seq: r1.seq, limit: 10 })).map((c) => c.row.contract_id), ['urn:srcos:x:2']);
      assert.deepEqual((await store.contracts.listContracts('c1', { type: 'RuntimeInstallReceipt', after_seq: 0, limit: 10 })).map((c) => c.row.contract_id), ['urn:srcos:x:2']);
      assert.equal((await store.contracts.listContracts('c2', { after_seq: 0, limit: 10 })).length, 1);
    });
  });
}
