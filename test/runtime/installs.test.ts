import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import type { ConfigInput } from '../../src/config.js';
import { canonicalize } from '../../src/ledger/canonical.js';
import { validateDocument } from '../../src/contracts/validate.js';
import { buildApp, createServices, type Services } from '../../src/server/index.js';
import { BACKENDS, tempDir, type Backend } from '../helpers.js';
import { openTestPostgresStore } from '../pg.js';

const sha = (s: string) => 'sha256:' + createHash('sha256').update(s).digest('hex');

/** An app whose Fastify logger writes, at debug level, into `lines`: to see what an install logs. */
interface LoggedApp {
  app: FastifyInstance;
  services: Services;
  clock: ManualClock;
  key: string;
  lines: { level: number; msg: string; [k: string]: unknown }[];
  raw: string[];
  post(body: unknown, key?: string): Promise<{ status: number; json: any }>;
  get(url: string, key?: string): Promise<{ status: number; json: any; body: string }>;
  newKey(name: string): Promise<string>;
  close(): Promise<void>;
}

async function loggedApp(backend: Backend, config?: ConfigInput): Promise<LoggedApp> {
  const tmp = tempDir();
  const clock = new ManualClock('2026-03-14T14:00:00.000Z');
  const store = backend === 'postgres' ? await openTestPostgresStore() : undefined;
  const services = createServices({ dataDir: tmp.dir, clock, ...(store && { store }), ...(config && { config }) });
  const raw: string[] = [];
  const lines: LoggedApp['lines'] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      const text = String(chunk);
      raw.push(text);
      for (const l of text.split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const app = await buildApp(services, { logger: { level: 'debug', stream } });
  const newKey = async (name: string) => {
    const t = await services.tenants.createTenant(name);
    return (await services.tenants.createKey(t.tenant_id, ['admin'])).api_key;
  };
  const key = await newKey('installer');
  const call = async (method: 'GET' | 'POST', url: string, body: unknown, k: string) => {
    const res = await app.inject({
      method, url, headers: { authorization: `Bearer ${k}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, json: res.json(), body: res.body };
  };
  return {
    app, services, clock, key, lines, raw, newKey,
    post: (body, k = key) => call('POST', '/v1/runtime-installs', body, k),
    get: (url, k = key) => call('GET', url, undefined, k),
    async close() {
      await app.close();
      await services.store.close();
      tmp.cleanup();
    },
  };
}

const artifacts = [{ artifactRef: 'urn:srcos:artifact:agent-runtime-0.4.0.tar.zst', digest: 'sha256:' + '6'.repeat(64), sizeBytes: 48211337, verificationState: 'verified' }];

function install(manifest: unknown, extra: Record<string, unknown> = {}) {
  return {
    runtimeRef: 'urn:srcos:runtime:agent-runtime@0.4.0',
    targetRef: 'urn:srcos:target:laptop-ada',
    platform: 'darwin-arm64',
    installState: 'installing',
    manifest,
    artifacts,
    sessionRef: 'urn:srcos:session:setup-0301',
    capabilityLedgerRef: 'urn:srcos:capability-ledger:runtime-install-0301',
    policyDecisionRef: 'urn:srcos:decision:allow-installs-7',
    ...extra,
  };
}

/** A manifest of about `bytes` bytes whose every file entry carries `marker`, so a leak of any part of it shows. */
function manifestOf(bytes: number, marker: string): Record<string, unknown> {
  const files: { path: string; sha256: string }[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const f = { path: `lib/${marker}/module-${i}.js`, sha256: createHash('sha256').update(String(i)).digest('hex') };
    files.push(f);
    size += f.path.length + f.sha256.length + 24;
  }
  return { name: 'agent-runtime', version: '0.4.0', files };
}

for (const backend of BACKENDS) {
  describe(`[${backend}] runtime installs`, () => {
    let a: LoggedApp;
    before(async () => {
      a = await loggedApp(backend);
    });
    after(async () => a.close());

    const count = async (key = a.key) => {
      const t = (await a.services.tenants.authenticate(key))!.tenant_id;
      return a.services.store.countReceipts(t);
    };
    const installLines = () => a.lines.filter((l) => l.msg === 'runtime install recorded');

    test('a 1 MB manifest goes to evidence, one compact log line names the receipt, and the manifest is never logged', async () => {
      const marker = `m4nifest${randomBytes(6).toString('hex')}`;
      const manifest = manifestOf(1024 * 1024, marker);
      const text = canonicalize(manifest);
      assert.ok(text.length >= 1024 * 1024);
      const linesBefore = a.lines.length;

      const r = await a.post(install(manifest));
      assert.equal(r.status, 201, JSON.stringify(r.json).slice(0, 500));
      assert.equal(r.json.unchanged, false);
      assert.deepEqual(r.json.manifest, { digest: sha(text), size_bytes: Buffer.byteLength(text) });

      const logged = a.lines.slice(linesBefore);
      const info = logged.filter((l) => l.level >= 30);
      assert.equal(info.length, 1, JSON.stringify(info));
      assert.equal(info[0]!.msg, 'runtime install recorded');
      assert.equal(info[0]!['receipt_id'], r.json.receipt.receipt_id);
      assert.equal(info[0]!['manifest_digest'], sha(text));
      assert.ok(a.raw.join('').length < 4096, 'the log stays compact');
      assert.ok(!a.raw.join('').includes(marker), 'no part of the manifest is in the log');

      // The receipt points at the manifest; it does not contain it.
      assert.ok(!JSON.stringify(r.json.receipt).includes(marker));
      assert.deepEqual(r.json.receipt.artifacts, [{ kind: 'blob', uri: sha(text), digest: sha(text), size_bytes: Buffer.byteLength(text), role: 'manifest' }]);
      const stored = await a.get(`/v1/evidence/${sha(text)}`);
      assert.equal(stored.status, 200);
      assert.equal(stored.body, text);
    });

    test('repeated identical installs leave the receipt count unchanged and log nothing at info', async () => {
      const manifest = { name: 'agent-runtime', version: '0.4.1', files: ['bin/agent'] };
      const body = install(manifest, { runtimeRef: 'urn:srcos:runtime:agent-runtime@0.4.1' });
      const first = await a.post(body);
      assert.equal(first.status, 201);
      const receipts = await count();
      const infoLines = installLines().length;
      for (let i = 0; i < 3; i++) {
        a.clock.advance(1000);
        // Key order and spacing are not content: the canonical manifest has the same digest.
        const again = await a.post({ ...body, manifest: { files: ['bin/agent'], version: '0.4.1', name: 'agent-runtime' } });
        assert.equal(again.status, 200);
        assert.equal(again.json.unchanged, true);
        assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
        assert.equal(again.json.install_id, first.json.install_id);
      }
      assert.equal(await count(), receipts);
      assert.equal(installLines().length, infoLines);
      assert.equal(a.lines.filter((l) => l.msg === 'runtime install unchanged' && l['receipt_id'] === first.json.receipt.receipt_id).length, 3);
      assert.ok(a.lines.filter((l) => l.msg === 'runtime install unchanged').every((l) => l.level < 30));
    });

    test('a repeat of the head that breaks the contract is refused (422), not answered as unchanged', async () => {
      const manifest = { name: 'agent-runtime', version: '0.4.2' };
      const body = install(manifest, { runtimeRef: 'urn:srcos:runtime:agent-runtime@0.4.2' });
      const first = await a.post(body);
      assert.equal(first.status, 201);
      const receipts = await count();
      // Same runtime, target, manifest and state as the head, but no artifacts (the schema wants at least one).
      const noArtifacts = await a.post({ ...body, artifacts: [] });
      assert.equal(noArtifacts.status, 422);
      assert.equal(noArtifacts.json.code, 'QUITTANCE_ERR_CONTRACT_INVALID');
      assert.deepEqual(noArtifacts.json.errors.map((e: { path: string }) => e.path), ['/artifacts']);
      const badPlatform = await a.post({ ...body, platform: 'amiga-68k' });
      assert.equal(badPlatform.status, 422);
      assert.deepEqual(badPlatform.json.errors.map((e: { path: string }) => e.path), ['/platform']);
      assert.equal(await count(), receipts);
      // The valid repeat is still the idempotent one.
      const again = await a.post(body);
      assert.equal(again.status, 200);
      assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
      // Also for a finished step that said when it finished, repeated later: it started when the head did.
      a.clock.advance(1000);
      const finished = { ...body, installState: 'installed', finishedAt: new Date(a.clock.now()).toISOString() };
      const done = await a.post(finished);
      assert.equal(done.status, 201, JSON.stringify(done.json));
      a.clock.advance(60_000);
      const doneAgain = await a.post(finished);
      assert.equal(doneAgain.status, 200, JSON.stringify(doneAgain.json));
      assert.equal(doneAgain.json.receipt.receipt_id, done.json.receipt.receipt_id);
    });

    test('state changes link as a chain: parents and causalRefs name the previous step', async () => {
      const manifest = { name: 'agent-runtime', version: '0.5.0' };
      const base = { runtimeRef: 'urn:srcos:runtime:agent-runtime@0.5.0' };
      const s1 = await a.post(install(manifest, { ...base, installState: 'installing' }));
      a.clock.advance(60_000);
      const s2 = await a.post(install(manifest, { ...base, installState: 'failed', failureReason: 'checksum mismatch' }));
      a.clock.advance(30_000);
      const s3 = await a.post(install(manifest, { ...base, installState: 'rolled_back', rollbackRef: 'urn:srcos:receipt:runtime-install:previous' }));
      for (const s of [s1, s2, s3]) assert.equal(s.status, 201, JSON.stringify(s.json));
      assert.equal(s2.json.install_id, s1.json.install_id);
      assert.equal(s3.json.install_id, s1.json.install_id);
      assert.deepEqual(s1.json.receipt.parents, []);
      assert.deepEqual(s2.json.receipt.parents, [s1.json.receipt.receipt_id]);
      assert.deepEqual(s3.json.receipt.parents, [s2.json.receipt.receipt_id]);
      const d1 = s1.json.receipt.body.document;
      const d2 = s2.json.receipt.body.document;
      const d3 = s3.json.receipt.body.document;
      assert.deepEqual(d2.causalRefs, [d1.id]);
      assert.deepEqual(d3.causalRefs, [d2.id]);
      // One attempt: it started when the first step was recorded; the failure finished it.
      assert.equal(d2.startedAt, d1.startedAt);
      assert.equal(d1.finishedAt, null);
      assert.equal(d2.finishedAt, new Date(Date.parse(d1.capturedAt) + 60_000).toISOString());
      assert.equal(d3.rollbackRef, 'urn:srcos:receipt:runtime-install:previous');

      const chain = await a.get(`/v1/runtime-installs/${s1.json.install_id}`);
      assert.equal(chain.status, 200);
      assert.equal(chain.json.install_state, 'rolled_back');
      assert.equal(chain.json.links, 3);
      assert.deepEqual(chain.json.receipts.map((r: { receipt_id: string }) => r.receipt_id), [s1, s2, s3].map((s) => s.json.receipt.receipt_id));
      assert.equal((await a.get('/v1/ledger/verify')).json.ok, true);
    });

    test('every emitted RuntimeInstallReceipt validates, with the manifest digest and evidence refs', async () => {
      const page = await a.get('/v1/receipts?type=runtime.install&limit=1000');
      assert.ok(page.json.receipts.length >= 5);
      for (const r of page.json.receipts) {
        const doc = r.body.document;
        const v = validateDocument(doc);
        assert.equal(v.valid, true, JSON.stringify(v.errors));
        assert.equal(v.type, 'RuntimeInstallReceipt');
        assert.equal(doc.manifest.manifestDigest, r.artifacts[0].digest);
        assert.ok(doc.evidenceRefs.includes(doc.manifest.manifestDigest));
        assert.equal(doc.logMode, 'compact_receipt_ref');
        assert.equal(r.body.install_id.length, 36);
      }
    });

    test('the references a producer leaves out are filled from its credential, and still validate', async () => {
      const { sessionRef: _s, capabilityLedgerRef: _c, policyDecisionRef: _p, ...bare } = install({ v: 1 }, { targetRef: 'urn:srcos:target:bare' });
      const r = await a.post(bare);
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const doc = r.json.receipt.body.document;
      assert.match(doc.sessionRef, /^urn:srcos:session:quittance-key-/);
      assert.match(doc.policyDecisionRef, /^urn:srcos:decision:quittance-key-.*-write-scope$/);
      assert.equal(validateDocument(doc).valid, true);
      assert.deepEqual(r.json.receipt.from, { kind: 'service', id: `key:${a.key.slice(3, 19)}` });
    });

    test('an invalid step is refused with the contract error paths and stores nothing, not even the manifest', async () => {
      const receipts = await count();
      const manifest = { unique: randomBytes(8).toString('hex') };
      const r = await a.post(install(manifest, { platform: 'amiga-68k', targetRef: 'not-a-urn', startedAt: '2026-03-14T15:00:00Z' }));
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'QUITTANCE_ERR_CONTRACT_INVALID');
      assert.equal(r.json.type, 'RuntimeInstallReceipt');
      assert.deepEqual(r.json.errors.map((e: { path: string }) => e.path).sort(), ['/platform', '/targetRef']);
      assert.equal(await count(), receipts);
      assert.equal((await a.get(`/v1/evidence/${sha(canonicalize(manifest))}`)).status, 404);
      // Schema-valid, but captured (now) before it started (an hour from now): a semantic rule.
      const early = await a.post(install(manifest, { startedAt: '2026-03-14T15:00:00Z', targetRef: 'urn:srcos:target:early' }));
      assert.equal(early.status, 422);
      assert.deepEqual(early.json.errors.map((e: { path: string; keyword: string }) => [e.path, e.keyword]), [['/capturedAt', 'notBefore']]);
      assert.equal(await count(), receipts);
    });

    test('a manifest over the evidence limit → coded 413, nothing stored', async () => {
      const tiny = await loggedApp(backend, { evidence: { blobMaxBytes: 1024 } });
      try {
        const fits = await tiny.post(install({ blob: 'x'.repeat(1000) }));
        assert.equal(fits.status, 201);
        const r = await tiny.post(install({ blob: 'x'.repeat(1024) }, { installState: 'installed' }));
        assert.equal(r.status, 413);
        assert.equal(r.json.code, 'QUITTANCE_ERR_EVIDENCE_TOO_LARGE');
        assert.equal((await tiny.get(`/v1/runtime-installs/${fits.json.install_id}`)).json.links, 1);
      } finally {
        await tiny.close();
      }
    });

    test('a step whose receipt body is over the limit (413) leaves no manifest behind in the evidence store', async () => {
      const receipts = await count();
      const manifest = { unique: randomBytes(8).toString('hex') };
      const many = Array.from({ length: 600 }, (_, i) => ({ ...artifacts[0], artifactRef: `urn:srcos:artifact:part-${i}.tar.zst` }));
      const r = await a.post(install(manifest, { artifacts: many, targetRef: 'urn:srcos:target:too-many-artifacts' }));
      assert.equal(r.status, 413, JSON.stringify(r.json).slice(0, 300));
      assert.equal(r.json.code, 'QUITTANCE_ERR_BODY_TOO_LARGE');
      assert.equal(await count(), receipts);
      // Not the tenant's evidence, and not even bytes in the blob store: nothing was written.
      assert.equal((await a.get(`/v1/evidence/${sha(canonicalize(manifest))}`)).status, 404);
      assert.equal(await a.services.store.blobs.read(sha(canonicalize(manifest))), undefined);
    });

    test('runtimeRef and targetRef take at most 1024 bytes as UTF-8 each: at the limit recorded on both backends, over it a coded 400', async () => {
      // Incompressible: a different CJK Extension B character (4 bytes) each time, so no backend can shrink the key it indexes.
      let seed = 7;
      const wide = (n: number) => Array.from({ length: n }, () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return String.fromCodePoint(0x20000 + (seed % 0xa6d0));
      }).join('');
      const ref = (prefix: string, bytes: number) => {
        const chars = Math.floor((bytes - prefix.length) / 4);
        return (prefix + wide(chars)).padEnd(bytes - 2 * chars, 'x'); // padEnd counts UTF-16 units: 2 per character here
      };
      const runtimeRef = ref('urn:srcos:runtime:', 1024);
      const targetRef = ref('urn:srcos:target:', 1024);
      assert.equal(Buffer.byteLength(runtimeRef), 1024);
      assert.equal(Buffer.byteLength(targetRef), 1024);
      const r = await a.post(install({ n: 1 }, { runtimeRef, targetRef }));
      assert.equal(r.status, 201, JSON.stringify(r.json).slice(0, 300));
      const again = await a.post(install({ n: 1 }, { runtimeRef, targetRef }));
      assert.equal(again.status, 200);
      assert.equal(again.json.receipt.receipt_id, r.json.receipt.receipt_id);

      // 1024 characters, as the route's maxLength allows, but of 4 bytes each: PostgreSQL answered 500 (its index
      // on runtime and target holds at most 2704 bytes), SQLite recorded it.
      const before = await count();
      for (const extra of [
        { runtimeRef: `urn:srcos:runtime:${wide(1024 - 18)}` },
        { targetRef: `urn:srcos:target:${wide(1024 - 17)}` },
        { runtimeRef: runtimeRef + 'x' },
      ]) {
        const over = await a.post(install({ n: 2 }, extra));
        assert.equal(over.status, 400, JSON.stringify(over.json).slice(0, 300));
        assert.equal(over.json.code, 'QUITTANCE_ERR_VALIDATION');
        assert.match(over.json.message, /bytes as UTF-8, over the 1024/);
      }
      assert.equal(await count(), before);
    });

    test('installs are tenant-scoped', async () => {
      const first = await a.post(install({ scoped: true }, { targetRef: 'urn:srcos:target:scoped' }));
      const other = await a.newKey('someone-else');
      const seen = await a.get(`/v1/runtime-installs/${first.json.install_id}`, other);
      assert.equal(seen.status, 404);
      assert.equal(seen.json.code, 'QUITTANCE_ERR_RUNTIME_INSTALL_NOT_FOUND');
      // The same runtime on the same target is a chain of its own in another tenant.
      const theirs = await a.post(install({ scoped: true }, { targetRef: 'urn:srcos:target:scoped' }), other);
      assert.equal(theirs.status, 201);
      assert.notEqual(theirs.json.install_id, first.json.install_id);
      assert.deepEqual(theirs.json.receipt.parents, []);
    });
  });
}
