import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runValidate } from '../../src/cli/validate.js';
import { loadSchemas } from '../../src/contracts/schemas.js';
import { inlineContractSchema, receiptInputSchema } from '../../src/server/schemas.js';
import { BACKENDS, harness, agent, worker, type Harness } from '../helpers.js';
import { allExamples, readJson, EXAMPLES, type Example } from './helpers.js';
import { join } from 'node:path';

interface CliResult {
  index?: number;
  status: string;
  type: string | null;
  errors: { path: string; keyword: string; message: string }[];
}

/** What `quittance validate FILE --json` says about an example: the reference the API must agree with. */
async function cliResults(ex: Example): Promise<CliResult[]> {
  let out = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined }, isTTY: false };
  const ledgerType = !loadSchemas().sourceOsTypes.includes(ex.type);
  await runValidate([fileOf(ex), '--json', ...(ledgerType ? ['--schema', ex.type] : [])], io);
  return (JSON.parse(out) as { results: CliResult[] }).results;
}

const fileOf = (ex: Example) => join(EXAMPLES, ex.type, ex.file);
const sourceOs = (ex: Example) => loadSchemas().sourceOsTypes.includes(ex.type);
const single = (ex: Example) => !Array.isArray(ex.content);

/**
 * Cross-document errors name the other document: by file in the CLI, by position in the API. Everything else,
 * messages included, is the same text.
 */
function comparable(errors: CliResult['errors']): unknown[] {
  return errors.map((e) => (e.keyword === 'sessionOwnership' && /in document \d|\.json/.test(e.message) ? { path: e.path, keyword: e.keyword } : e));
}

const runtimeDoc = () => readJson(join(EXAMPLES, 'RuntimeInstallReceipt', 'valid-all-optional.json')) as Record<string, unknown>;

for (const backend of BACKENDS) {
  describe(`[${backend}] contracts over HTTP`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    const count = () => h.services.store.countReceipts(h.tenantId);

    test('POST /v1/contracts/validate answers every example exactly as `quittance validate --json` does', async () => {
      for (const ex of allExamples()) {
        const cli = await cliResults(ex);
        const url = sourceOs(ex) ? '/v1/contracts/validate' : `/v1/contracts/validate?schema=${ex.type}`;
        const r = await h.raw('POST', url, readFileSync(fileOf(ex), 'utf8'));
        assert.equal(r.status, 200, `${ex.type}/${ex.file}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.valid, ex.kind === 'valid', `${ex.type}/${ex.file}`);
        assert.equal(r.json.results.length, cli.length, `${ex.type}/${ex.file}`);
        r.json.results.forEach((api: CliResult, i: number) => {
          const ref = cli[i]!;
          assert.equal(api.status, ref.status, `${ex.type}/${ex.file}[${i}]`);
          assert.equal(api.type, ref.type, `${ex.type}/${ex.file}[${i}]`);
          assert.deepEqual(comparable(api.errors), comparable(ref.errors), `${ex.type}/${ex.file}[${i}]`);
        });
      }
    });

    test('an invalid contract is refused with the CLI error paths, and nothing is stored', async () => {
      const before = await count();
      let checked = 0;
      for (const ex of allExamples().filter((e) => e.kind === 'invalid' && sourceOs(e) && single(e))) {
        const [ref] = await cliResults(ex);
        const r = await h.raw('POST', '/v1/contracts', readFileSync(fileOf(ex), 'utf8'));
        assert.equal(r.status, 422, `${ex.type}/${ex.file}`);
        assert.equal(r.json.code, 'QUITTANCE_ERR_CONTRACT_INVALID');
        assert.deepEqual(r.json.errors, ref!.errors, `${ex.type}/${ex.file}`);
        assert.equal(r.json.type, ref!.type);
        checked++;
      }
      assert.ok(checked >= 20, `only ${checked} invalid SourceOS examples`);
      assert.equal(await count(), before);
      assert.deepEqual((await h.req('GET', '/v1/contracts')).json, { contracts: [], cursor: null });
    });

    test('the cross-document rule applies to documents validated together', async () => {
      const doc = readJson(join(EXAMPLES, 'BrowserAutomationReceipt', 'valid-minimal.json')) as Record<string, unknown>;
      const other = { ...doc, id: `${String(doc['id'])}-b`, ownerRef: 'urn:srcos:principal:someone-else' };
      const one = await h.req('POST', '/v1/contracts/validate', other);
      assert.equal(one.json.valid, true, JSON.stringify(one.json));
      const both = await h.req('POST', '/v1/contracts/validate', [doc, other]);
      assert.equal(both.json.valid, false);
      assert.deepEqual(both.json.summary, { documents: 2, valid: 0, invalid: 2 });
      for (const r of both.json.results) assert.deepEqual(r.errors.map((e: { path: string; keyword: string }) => [e.path, e.keyword]), [['/ownerRef', 'sessionOwnership']]);
      assert.match(both.json.results[0].errors[0].message, /in document 1/);
    });

    test('store: 201 then an idempotent 200 for the same content (any key order), 409 for other content under the id', async () => {
      const doc = runtimeDoc();
      const before = await count();
      const a = await h.req('POST', '/v1/contracts', doc);
      assert.equal(a.status, 201, JSON.stringify(a.json));
      assert.equal(a.json.status, 'created');
      assert.equal(a.json.receipt.type, 'contract.object');
      assert.deepEqual(a.json.receipt.body, { contract_id: doc['id'], contract_type: 'RuntimeInstallReceipt', document: doc });
      assert.equal(await count(), before + 1);

      const reordered = Object.fromEntries(Object.entries(doc).reverse());
      const b = await h.req('POST', '/v1/contracts', reordered);
      assert.equal(b.status, 200);
      assert.equal(b.json.status, 'duplicate');
      assert.equal(b.json.receipt.receipt_id, a.json.receipt.receipt_id);
      assert.equal(await count(), before + 1);

      const changed = await h.req('POST', '/v1/contracts', { ...doc, failureReason: 'something else' });
      assert.equal(changed.status, 409);
      assert.equal(changed.json.code, 'QUITTANCE_ERR_CONTRACT_CONFLICT');
      assert.equal(changed.json.receipt_id, a.json.receipt.receipt_id);
      assert.equal(await count(), before + 1);

      const got = await h.req('GET', `/v1/contracts/${encodeURIComponent(String(doc['id']))}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.json.contract, doc);
      assert.equal(got.json.receipt.receipt_id, a.json.receipt.receipt_id);
      // The URN's colons need no escaping in a path.
      assert.equal((await h.req('GET', `/v1/contracts/${String(doc['id'])}`)).json.receipt.receipt_id, a.json.receipt.receipt_id);

      const missing = await h.req('GET', '/v1/contracts/urn:srcos:receipt:runtime-install:nope');
      assert.equal(missing.status, 404);
      assert.equal(missing.json.code, 'QUITTANCE_ERR_CONTRACT_NOT_FOUND');
    });

    test('a contract id is at most 512 characters: the longest is stored and read back, a longer one is a 400 and writes nothing', async () => {
      const doc = runtimeDoc();
      const prefix = 'urn:srcos:receipt:runtime-install:';
      // Four UTF-8 bytes a character, none repeating: what a PostgreSQL index of the id must hold (no compression helps).
      const id = (n: number) => prefix + Array.from({ length: n - prefix.length }, (_, i) => String.fromCodePoint(0x10000 + i)).join('');
      const longest = { ...doc, id: id(512) };
      const stored = await h.req('POST', '/v1/contracts', longest);
      assert.equal(stored.status, 201, JSON.stringify(stored.json));
      const got = await h.req('GET', `/v1/contracts/${encodeURIComponent(longest.id)}`);
      assert.equal(got.status, 200, JSON.stringify(got.json));
      assert.deepEqual(got.json.contract, longest);

      // 513: one over; 800: was a 500 on PostgreSQL (index row too large); 1100: stored on SQLite, unreachable by GET.
      const before = await count();
      for (const n of [513, 800, 1100]) {
        const over = await h.req('POST', '/v1/contracts', { ...doc, id: id(n) });
        assert.equal(over.status, 400, `${n} characters: ${over.json.code ?? over.json.status}`);
        assert.equal(over.json.code, 'QUITTANCE_ERR_VALIDATION');
        assert.match(over.json.message, /body\/id must NOT have more than 512 characters/);
      }
      assert.equal(await count(), before);
    });

    test('contract.object receipts are written by the contracts engine only', async () => {
      const r = await h.req('POST', '/v1/receipts', { type: 'contract.object', from: agent, to: worker, body: { document: runtimeDoc() } });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'QUITTANCE_ERR_RECEIPT_TYPE_RESERVED');
    });

    test('GET /v1/contracts lists in storage order, filters by type, pages with a cursor', async () => {
      const t = await h.newTenant('lister');
      const valid = allExamples().filter((e) => e.kind === 'valid' && sourceOs(e) && single(e));
      for (const ex of valid) assert.equal((await h.req('POST', '/v1/contracts', ex.content, t.key)).status, 201, ex.file);
      const all = await h.req('GET', '/v1/contracts?limit=1000', undefined, t.key);
      assert.deepEqual(all.json.contracts.map((c: { contract: { id: string } }) => c.contract.id), valid.map((e) => (e.content as { id: string }).id));
      const git = await h.req('GET', '/v1/contracts?type=GitWorkspaceState', undefined, t.key);
      assert.ok(git.json.contracts.length >= 2);
      for (const c of git.json.contracts) assert.equal(c.contract.type, 'GitWorkspaceState');
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { json: { contracts: { receipt: { receipt_id: string } }[]; cursor: string | null } } =
          await h.req('GET', `/v1/contracts?limit=3${cursor ? `&cursor=${cursor}` : ''}`, undefined, t.key);
        seen.push(...page.json.contracts.map((c) => c.receipt.receipt_id));
        cursor = page.json.cursor;
      } while (cursor !== null);
      assert.deepEqual(seen, all.json.contracts.map((c: { receipt: { receipt_id: string } }) => c.receipt.receipt_id));
      assert.equal((await h.req('GET', '/v1/contracts?type=Receipt', undefined, t.key)).status, 400);
    });

    test('contracts are tenant-scoped: another tenant neither sees an id nor is blocked by it', async () => {
      const doc = { ...runtimeDoc(), id: 'urn:srcos:receipt:runtime-install:tenant-scoped' };
      assert.equal((await h.req('POST', '/v1/contracts', doc)).status, 201);
      const b = await h.newTenant('other');
      const seen = await h.req('GET', `/v1/contracts/${doc.id}`, undefined, b.key);
      assert.equal(seen.status, 404);
      assert.equal(seen.json.code, 'QUITTANCE_ERR_CONTRACT_NOT_FOUND');
      assert.deepEqual((await h.req('GET', '/v1/contracts', undefined, b.key)).json.contracts, []);
      const own = await h.req('POST', '/v1/contracts', { ...doc, failureReason: "b's own" }, b.key);
      assert.equal(own.status, 201);
      assert.equal(own.json.receipt.tenant_id, b.tenantId);
    });

    test('scopes: validating needs read, storing needs write', async () => {
      const ro = await h.newTenant('reader', ['read']);
      assert.equal((await h.req('POST', '/v1/contracts/validate', runtimeDoc(), ro.key)).status, 200);
      assert.equal((await h.req('POST', '/v1/contracts', runtimeDoc(), ro.key)).status, 403);
      assert.equal((await h.req('POST', '/v1/contracts/validate', runtimeDoc(), null)).status, 401);
    });

    test('the schemas are served, publicly, exactly as the files hold them', async () => {
      const list = await h.req('GET', '/v1/schemas', undefined, null);
      assert.equal(list.status, 200);
      assert.deepEqual(list.json.schemas.map((x: { type: string }) => x.type), [...loadSchemas().names]);
      const ri = list.json.schemas.find((x: { type: string }) => x.type === 'RuntimeInstallReceipt');
      assert.equal(ri.sourceos, true);
      assert.equal(ri.$id, 'https://quittance.dev/schemas/RuntimeInstallReceipt.schema.json');
      for (const name of ['RuntimeInstallReceipt', 'Principal.schema.json']) {
        const one = await h.req('GET', `/v1/schemas/${name}`, undefined, null);
        assert.equal(one.status, 200);
        assert.match(String(one.headers['content-type']), /^application\/schema\+json/);
        assert.deepEqual(one.json, readJson(join(EXAMPLES, '..', 'schemas', name.endsWith('.json') ? name : `${name}.schema.json`)));
      }
      const nope = await h.req('GET', '/v1/schemas/Nope', undefined, null);
      assert.equal(nope.status, 404);
      assert.equal(nope.json.code, 'QUITTANCE_ERR_SCHEMA_NOT_FOUND');
      const badSchema = await h.req('POST', '/v1/contracts/validate?schema=Nope', {});
      assert.equal(badSchema.status, 404);
    });
  });

  describe(`[${backend}] receipt routes validate with schemas/ReceiptInput.schema.json`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('what the file forbids and the old hand-written copy let through is refused', async () => {
      const base = { type: 'task.progress', from: worker, to: agent };
      const proof = { mode: 'push', target: { url: 'https://x.example' }, status: 'succeeded', at: '2026-03-01T12:00:00Z', proof: {} };
      const extra = await h.req('POST', '/v1/receipts', { ...base, delivery_proof: { ...proof, note: 'not in the schema' } });
      assert.equal(extra.status, 400);
      assert.equal(extra.json.code, 'QUITTANCE_ERR_VALIDATION');
      const emptyDigest = await h.req('POST', '/v1/receipts', { ...base, artifacts: [{ kind: 'file', uri: '/x', digest: '' }] });
      assert.equal(emptyDigest.status, 400);
      assert.equal((await h.req('POST', '/v1/receipts', { ...base, delivery_proof: proof })).status, 201);
    });

    test('the route schema is the file, inlined, less only the limits the ledger enforces with coded errors', () => {
      const file = loadSchemas().byName.get('ReceiptInput')!;
      assert.ok(!JSON.stringify(receiptInputSchema).includes('$ref'));
      const props = receiptInputSchema.properties!;
      assert.deepEqual(Object.keys(props), Object.keys(file.properties!));
      assert.deepEqual(receiptInputSchema.required, file.required);
      assert.equal(receiptInputSchema.additionalProperties, false);
      const relaxed: Record<string, string[]> = { type: ['pattern'], parents: ['maxItems', 'uniqueItems'], artifacts: ['maxItems'] };
      for (const [name, fromFile] of Object.entries(file.properties!)) {
        const expected: Record<string, unknown> = { ...fromFile };
        for (const k of relaxed[name] ?? []) delete expected[k];
        if (typeof fromFile.$ref === 'string') {
          delete expected['$ref'];
          Object.assign(expected, { ...inlineContractSchema(fromFile.$ref.replace('.schema.json', '')), description: fromFile.description });
        }
        if (name === 'artifacts') expected['items'] = inlineContractSchema('Artifact');
        assert.deepEqual(props[name], expected, name);
      }
    });
  });
}
