import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/store/migrations.js';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { rawSql } from '../raw-sql.js';
import { readJson, EXAMPLES } from './helpers.js';

type Doc = Record<string, unknown>;
const browser = (id: string, sessionRef: string, ownerRef: string): Doc => ({
  ...(readJson(join(EXAMPLES, 'BrowserAutomationReceipt', 'valid-minimal.json')) as Doc), id: `urn:srcos:receipt:browser-automation:${id}`, sessionRef, ownerRef,
});
const capability = (id: string, sessionRef: string, ownerRefs: string[]): Doc => ({
  ...(readJson(join(EXAMPLES, 'CapabilityLedger', 'valid-all-optional.json')) as Doc), id: `urn:srcos:capability-ledger:${id}`, sessionRef, ownerRefs,
});
const A = 'urn:srcos:agent:owner-a';
const B = 'urn:srcos:agent:owner-b';

/** The statement of this backend's migration that fills the table from the contracts already stored (its last). */
function backfillSql(backend: string): string {
  const file = backend === 'sqlite' ? 'sqlite/0012_contract_session_owners.sql' : 'postgres/0011_contract_session_owners.sql';
  return readFileSync(join(packageRoot(), 'migrations', file), 'utf8').split(';').filter((s) => s.trim() !== '').at(-1)!;
}

for (const backend of BACKENDS) {
  describe(`[${backend}] session ownership across stored contracts`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());
    const count = () => h.services.store.countReceipts(h.tenantId);
    const refused = async (doc: Doc, path: string) => {
      const before = await count();
      const r = await h.req('POST', '/v1/contracts', doc);
      assert.equal(r.status, 422, JSON.stringify(r.json));
      assert.equal(r.json.code, 'QUITTANCE_ERR_CONTRACT_INVALID');
      assert.deepEqual(r.json.errors.map((e: { path: string; keyword: string }) => [e.path, e.keyword]), [[path, 'sessionOwnership']]);
      assert.match(r.json.errors[0].message, /ambiguous session ownership: .* in stored contract urn:srcos:/);
      assert.equal(await count(), before);
      assert.equal((await h.req('GET', `/v1/contracts/${String(doc['id'])}`)).status, 404);
    };

    test('a stored document claiming a session another stored document gave to a different owner is a 422, nothing stored', async () => {
      const s = 'urn:srcos:session:owned-1';
      assert.equal((await h.req('POST', '/v1/contracts', browser('own-1', s, A))).status, 201);
      await refused(browser('own-2', s, B), '/ownerRef');
      await refused(capability('own-3', s, [B]), '/ownerRefs/0');
      // The same owner again, in either type, is no ambiguity.
      assert.equal((await h.req('POST', '/v1/contracts', browser('own-4', s, A))).status, 201);
      assert.equal((await h.req('POST', '/v1/contracts', capability('own-5', s, [A]))).status, 201);
      // A record with no owner claims nothing; another session is another owner's to claim.
      assert.equal((await h.req('POST', '/v1/contracts', capability('own-6', s, []))).status, 201);
      assert.equal((await h.req('POST', '/v1/contracts', browser('own-7', 'urn:srcos:session:owned-2', B))).status, 201);
      // A sessionRef longer than a PostgreSQL index entry holds (2704 bytes) is held too: by its hash there.
      const long = `urn:srcos:session:${'長'.repeat(4000)}`;
      assert.equal((await h.req('POST', '/v1/contracts', browser('own-8', long, A))).status, 201);
      await refused(browser('own-9', long, B), '/ownerRef');
    });

    test('ownership is per tenant', async () => {
      const other = await h.newTenant('session-owners-other');
      const r = await h.req('POST', '/v1/contracts', browser('own-1', 'urn:srcos:session:owned-1', B), other.key);
      assert.equal(r.status, 201, JSON.stringify(r.json));
    });

    test("the migration fills the claims of contracts stored before it, the oldest claim first", async () => {
      const s = 'urn:srcos:session:before-migration';
      assert.equal((await h.req('POST', '/v1/contracts', capability('old-1', s, [A]))).status, 201);
      assert.equal((await h.req('POST', '/v1/contracts', browser('old-2', 'urn:srcos:session:before-migration-2', B))).status, 201);
      // As a ledger stored before the migration: no claims recorded (two tenants, six sessions), so a document
      // giving the session to another owner was stored then as well.
      await rawSql(h, backend, 'DELETE FROM contract_session_owners', [], 6);
      assert.equal((await h.req('POST', '/v1/contracts', browser('old-later', s, B))).status, 201);
      await rawSql(h, backend, 'DELETE FROM contract_session_owners', [], 1);
      await rawSql(h, backend, backfillSql(backend), [], 6);
      // The oldest claim holds: its owner may claim the session again, the later one's may not.
      assert.equal((await h.req('POST', '/v1/contracts', browser('old-again', s, A))).status, 201);
      await refused(browser('old-3', s, B), '/ownerRef');
      await refused(browser('old-4', 'urn:srcos:session:owned-1', B), '/ownerRef');
      await refused(capability('old-5', 'urn:srcos:session:before-migration-2', [A]), '/ownerRefs/0');
    });
  });
}
