import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, rmSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { BACKENDS, harness, agent, worker, type Harness } from '../helpers.js';
import { TEST_PG_URL } from '../pg.js';
import { FileBlobStore } from '../../src/store/sqlite/blobs.js';
import type { PostgresStore } from '../../src/store/postgres/index.js';

const sha = (b: Uint8Array | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

interface Raw {
  status: number;
  headers: Record<string, unknown>;
  body: Buffer;
  json: any;
}

/** Sends raw bytes (or a stream, which travels without a content-length) and reads raw bytes back. */
async function send(h: Harness, method: 'GET' | 'POST', url: string, payload?: Buffer | Readable, headers: Record<string, string> = {}, key: string = h.key): Promise<Raw> {
  const res = await h.app.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...headers }, ...(payload !== undefined && { payload }) });
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, body: res.rawPayload, json };
}

/** Every file under the evidence folder, temp files included. */
function evidenceFiles(h: Harness): string[] {
  const root = join(h.dir, 'evidence');
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : out.push(join(d, e.name));
  };
  walk(root);
  return out.sort();
}

/**
 * Replaces the stored bytes of a blob behind the store's back, as a failing disk or a stray UPDATE would: the file
 * on SQLite, the bytea row on PostgreSQL.
 */
async function damageBlob(h: Harness, backend: string, digest: string, bytes: Buffer): Promise<void> {
  if (backend === 'sqlite') {
    writeFileSync((h.services.store.blobs as FileBlobStore).fileOf(digest), bytes);
    return;
  }
  const c = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${(h.services.store as PostgresStore).schema}` });
  await c.connect();
  try {
    const r = await c.query('UPDATE evidence_blobs SET bytes = $2 WHERE digest = $1', [digest, bytes]);
    assert.equal(r.rowCount, 1, 'the blob row was there to damage');
  } finally {
    await c.end();
  }
}

for (const backend of BACKENDS) {
  describe(`[${backend}] the evidence store`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend, config: { evidence: { blobMaxBytes: 1024 * 1024 } } });
    });
    after(async () => h.close());

    test('bytes round-trip byte for byte, addressed by their sha256', async () => {
      const bytes = randomBytes(300 * 1024);
      const put = await send(h, 'POST', '/v1/evidence', bytes, { 'content-type': 'application/octet-stream' });
      assert.equal(put.status, 201, put.body.toString());
      assert.deepEqual(put.json, { digest: sha(bytes), size_bytes: bytes.length });
      const got = await send(h, 'GET', `/v1/evidence/${sha(bytes)}`);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(bytes), 'the same bytes come back');
      assert.equal(got.headers['content-type'], 'application/octet-stream');
      assert.equal(got.headers['etag'], `"${sha(bytes)}"`);
      assert.equal(got.headers['x-content-type-options'], 'nosniff');
    });

    test('a client holding the bytes (If-None-Match with their ETag) gets 304 and no body; any other tag, the bytes', async () => {
      const bytes = Buffer.from('evidence a client caches');
      const digest = (await send(h, 'POST', '/v1/evidence', bytes, { 'content-type': 'text/plain' })).json.digest as string;
      const url = `/v1/evidence/${digest}`;
      for (const tag of [`"${digest}"`, `W/"${digest}"`, `"sha256:${'0'.repeat(64)}", "${digest}"`, '*']) {
        const r = await send(h, 'GET', url, undefined, { 'if-none-match': tag });
        assert.equal(r.status, 304, tag);
        assert.equal(r.body.length, 0, tag);
        assert.equal(r.headers['etag'], `"${digest}"`, tag);
        assert.equal(r.headers['cache-control'], 'private, max-age=31536000, immutable', tag);
      }
      for (const tag of [`"sha256:${'0'.repeat(64)}"`, digest, `"${digest.toUpperCase()}"`]) {
        const r = await send(h, 'GET', url, undefined, { 'if-none-match': tag });
        assert.equal(r.status, 200, tag);
        assert.ok(r.body.equals(bytes), tag);
      }
      // Another tenant's ETag knowledge reveals nothing: 404, as without the header; so is a digest nobody put.
      const b = await h.newTenant('etag-b');
      assert.equal((await send(h, 'GET', url, undefined, { 'if-none-match': '*' }, b.key)).status, 404);
      assert.equal((await send(h, 'GET', `/v1/evidence/${sha('never put')}`, undefined, { 'if-none-match': '*' })).status, 404);
    });

    test('JSON is stored as sent, not parsed: spacing and even duplicate keys survive', async () => {
      const text = Buffer.from('{ "outcome": "crashed",\n  "outcome": "completed" }\n');
      const put = await send(h, 'POST', '/v1/evidence', text, { 'content-type': 'application/json' });
      assert.equal(put.status, 201);
      assert.equal(put.json.digest, sha(text));
      const got = await send(h, 'GET', `/v1/evidence/${put.json.digest}`);
      assert.ok(got.body.equals(text));
      assert.match(String(got.headers['content-type']), /^application\/json/);
    });

    test('the same bytes again: 200, the same digest, one copy', async () => {
      const bytes = Buffer.from('deduplicated evidence');
      const a = await send(h, 'POST', '/v1/evidence', bytes, { 'content-type': 'text/plain' });
      const b = await send(h, 'POST', '/v1/evidence', bytes, { 'content-type': 'text/x-other' });
      assert.equal(a.status, 201);
      assert.equal(b.status, 200);
      assert.deepEqual(b.json, a.json);
      // The first put's content type is the one kept.
      assert.match(String((await send(h, 'GET', `/v1/evidence/${a.json.digest}`)).headers['content-type']), /^text\/plain/);
      if (backend === 'sqlite') assert.equal(evidenceFiles(h).filter((f) => f.endsWith(a.json.digest.slice(7))).length, 1);
    });

    test('no content type and no body are fine: an empty blob is evidence too', async () => {
      const r = await send(h, 'POST', '/v1/evidence');
      assert.equal(r.status, 201);
      assert.deepEqual(r.json, { digest: sha(''), size_bytes: 0 });
      const got = await send(h, 'GET', `/v1/evidence/${sha('')}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.length, 0);
      assert.equal(got.headers['content-type'], 'application/octet-stream');
    });

    test('over the limit → coded 413, declared or streamed, and nothing is kept', async () => {
      const before = backend === 'sqlite' ? evidenceFiles(h) : [];
      const big = randomBytes(1024 * 1024 + 1);
      const declared = await send(h, 'POST', '/v1/evidence', big, { 'content-type': 'application/octet-stream' });
      assert.equal(declared.status, 413);
      assert.equal(declared.json.code, 'QUITTANCE_ERR_EVIDENCE_TOO_LARGE');
      // A stream has no content-length: the limit holds as the bytes pass.
      const streamed = await send(h, 'POST', '/v1/evidence', Readable.from([big.subarray(0, 600_000), big.subarray(600_000)]), { 'content-type': 'application/octet-stream' });
      assert.equal(streamed.status, 413);
      assert.equal(streamed.json.code, 'QUITTANCE_ERR_EVIDENCE_TOO_LARGE');
      assert.equal((await send(h, 'GET', `/v1/evidence/${sha(big)}`)).status, 404);
      if (backend === 'sqlite') assert.deepEqual(evidenceFiles(h), before, 'no temp file or blob left behind');
      const exact = randomBytes(1024 * 1024);
      const ok = await send(h, 'POST', '/v1/evidence', Readable.from([exact]), { 'content-type': 'application/octet-stream' });
      assert.equal(ok.status, 201);
      assert.equal(ok.json.size_bytes, exact.length);
    });

    test('evidence is tenant-scoped: another tenant\'s digest is missing exactly like an unknown one', async () => {
      const bytes = Buffer.from(`tenant a only ${randomBytes(8).toString('hex')}`);
      const put = await send(h, 'POST', '/v1/evidence', bytes);
      const b = await h.newTenant('evidence-b');
      const theirs = await send(h, 'GET', `/v1/evidence/${put.json.digest}`, undefined, {}, b.key);
      const unknown = await send(h, 'GET', `/v1/evidence/${sha('never put')}`, undefined, {}, b.key);
      assert.equal(theirs.status, 404);
      assert.equal(theirs.json.code, 'QUITTANCE_ERR_EVIDENCE_NOT_FOUND');
      assert.deepEqual(Object.keys(theirs.json).sort(), Object.keys(unknown.json).sort());
      assert.equal(theirs.json.message.replace(put.json.digest, 'D'), unknown.json.message.replace(sha('never put'), 'D'));
      // Putting the same bytes makes them b's too (new for b: 201).
      assert.equal((await send(h, 'POST', '/v1/evidence', bytes, {}, b.key)).status, 201);
      assert.ok((await send(h, 'GET', `/v1/evidence/${put.json.digest}`, undefined, {}, b.key)).body.equals(bytes));
    });

    test('digests are checked: malformed → 400, upper-case hex is the same blob', async () => {
      assert.equal((await send(h, 'GET', '/v1/evidence/sha256:abc')).status, 400);
      assert.equal((await send(h, 'GET', '/v1/evidence/..%2F..%2Fquittance.db')).status, 400);
      const bytes = Buffer.from('case');
      await send(h, 'POST', '/v1/evidence', bytes);
      assert.equal((await send(h, 'GET', `/v1/evidence/${sha(bytes).toUpperCase().replace('SHA256', 'sha256')}`)).status, 200);
    });

    test('scopes: reading needs read, putting needs write', async () => {
      const ro = await h.newTenant('evidence-reader', ['read']);
      const r = await send(h, 'POST', '/v1/evidence', Buffer.from('x'), {}, ro.key);
      assert.equal(r.status, 403);
      assert.equal((await send(h, 'GET', `/v1/evidence/${sha('x')}`, undefined, {}, ro.key)).status, 404);
    });

    test('a task result can point at evidence as a blob artifact, and that discharges the task', async () => {
      const out = await send(h, 'POST', '/v1/evidence', Buffer.from('{"summary":"done"}'), { 'content-type': 'application/json' });
      const ob = await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, task_id: 'blob-1' });
      const done = await h.req('POST', '/v1/receipts', {
        type: 'task.completed', from: worker, to: agent, task_id: 'blob-1', parents: [ob.json.receipt.receipt_id],
        artifacts: [{ kind: 'blob', uri: out.json.digest, digest: out.json.digest, size_bytes: out.json.size_bytes }],
      });
      assert.equal(done.status, 201);
      assert.equal(done.json.receipt.discharges, true);
      const check = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: ob.json.receipt.receipt_id });
      assert.equal(check.json.open, false);
    });

    test('a damaged blob leaves one evidence_corrupt anomaly in the reading tenant\'s ledger, however often it is read', async () => {
      const bytes = randomBytes(2048);
      const digest = sha(bytes);
      assert.equal((await send(h, 'POST', '/v1/evidence', bytes)).status, 201);
      const b = await h.newTenant(`evidence-corrupt-b-${backend}`);
      assert.equal((await send(h, 'POST', '/v1/evidence', bytes, {}, b.key)).status, 201);
      const damaged = Buffer.from(bytes);
      damaged[7] = damaged[7]! ^ 0x80;
      await damageBlob(h, backend, digest, damaged);

      const heads: number[] = [(await h.services.store.chainHeadOf(h.tenantId)).seq];
      for (let read = 0; read < 2; read++) {
        const r = await send(h, 'GET', `/v1/evidence/${digest}`);
        assert.equal(r.status, 500);
        assert.equal(r.json.code, 'QUITTANCE_ERR_EVIDENCE_CORRUPT');
        assert.match(r.json.message, /digest mismatch/);
        assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error', 'message', 'statusCode']);
        assert.ok(!r.body.includes(damaged.subarray(0, 32)), 'none of the stored bytes are sent');
        heads.push((await h.services.store.chainHeadOf(h.tenantId)).seq);
      }
      assert.deepEqual(heads, [heads[0], heads[0]! + 1, heads[0]! + 1], 'the first read appends one receipt, the second none');
      const ours = (key: string) => h.req('GET', '/v1/anomalies?kind=evidence_corrupt', undefined, key)
        .then((r) => (r.json.anomalies as any[]).filter((a) => a.body.evidence_digest === digest));
      const listed = await ours(h.key);
      assert.equal(listed.length, 1, 'two reads, one anomaly');
      const [anomaly] = listed;
      assert.equal(anomaly.type, 'system.anomaly');
      assert.equal(anomaly.tenant_id, h.tenantId);
      assert.equal(anomaly.discharges, false);
      assert.deepEqual(anomaly.body, {
        kind: 'evidence_corrupt', evidence_digest: digest, expected_digest: digest, actual_digest: sha(damaged),
        expected_size_bytes: 2048, actual_size_bytes: 2048, reason: 'digest mismatch', message: anomaly.body.message,
      });
      assert.match(anomaly.body.message, /put the original bytes again/i);

      // The tenants are told apart: b has seen nothing wrong until b reads, then b's own ledger has its own anomaly.
      assert.equal((await ours(b.key)).length, 0);
      assert.equal((await send(h, 'GET', `/v1/evidence/${digest}`, undefined, {}, b.key)).status, 500);
      const theirs = await ours(b.key);
      assert.equal(theirs.length, 1);
      assert.equal(theirs[0].tenant_id, b.tenantId);
      assert.notEqual(theirs[0].receipt_id, anomaly.receipt_id);
      assert.equal((await ours(h.key)).length, 1);

      // A different damage is a different observation; repairing the copy keeps the history.
      await damageBlob(h, backend, digest, bytes.subarray(0, 100));
      assert.equal((await send(h, 'GET', `/v1/evidence/${digest}`)).status, 500);
      assert.equal((await send(h, 'GET', `/v1/evidence/${digest}`)).status, 500);
      const after = await ours(h.key);
      assert.equal(after.length, 2);
      assert.equal(after[1].body.reason, '100 bytes stored, 2048 put');
      assert.equal(after[1].body.actual_size_bytes, 100);
      assert.equal(after[1].body.actual_digest, sha(bytes.subarray(0, 100)));
      assert.equal((await send(h, 'POST', '/v1/evidence', bytes)).status, 200);
      assert.ok((await send(h, 'GET', `/v1/evidence/${digest}`)).body.equals(bytes));
      assert.equal((await ours(h.key)).length, 2);
      assert.equal((await h.services.ledger.verify(h.tenantId)).ok, true, 'the chain still verifies');
    });

    if (backend === 'sqlite') {
      test('digests are verified on read: damaged, truncated or missing bytes are refused, never served', async () => {
        const bytes = randomBytes(4096);
        const { json } = await send(h, 'POST', '/v1/evidence', bytes);
        const file = (h.services.store.blobs as FileBlobStore).fileOf(json.digest);
        assert.ok(readFileSync(file).equals(bytes), 'the blob is stored under its digest');

        const flipped = Buffer.from(bytes);
        flipped[100] = flipped[100]! ^ 0x01;
        writeFileSync(file, flipped);
        const corrupt = await send(h, 'GET', `/v1/evidence/${json.digest}`);
        assert.equal(corrupt.status, 500);
        assert.equal(corrupt.json.code, 'QUITTANCE_ERR_EVIDENCE_CORRUPT');
        assert.match(corrupt.json.message, /digest mismatch/);
        assert.ok(!corrupt.body.includes(flipped.subarray(0, 64)), 'none of the stored bytes are sent');

        truncateSync(file, 100);
        const short = await send(h, 'GET', `/v1/evidence/${json.digest}`);
        assert.equal(short.status, 500);
        assert.equal(short.json.code, 'QUITTANCE_ERR_EVIDENCE_CORRUPT');

        rmSync(file);
        const gone = await send(h, 'GET', `/v1/evidence/${json.digest}`);
        assert.equal(gone.status, 500);
        assert.equal(gone.json.code, 'QUITTANCE_ERR_EVIDENCE_CORRUPT');

        // Putting the bytes again repairs the copy.
        assert.equal((await send(h, 'POST', '/v1/evidence', bytes)).status, 200);
        assert.ok((await send(h, 'GET', `/v1/evidence/${json.digest}`)).body.equals(bytes));
      });
    }
  });
}

describe('evidence over a real socket', () => {
  test('a chunked upload over the limit is answered 413 (not a reset), and a good one round-trips', async (t) => {
    const { startServer } = await import('../../src/server/index.js');
    const { freePort, tempDir } = await import('../helpers.js');
    const tmp = tempDir();
    const server = await startServer({ dataDir: tmp.dir, port: await freePort(), config: { evidence: { blobMaxBytes: 64 * 1024 } } });
    t.after(async () => {
      await server.close();
      tmp.cleanup();
    });
    const tenant = await server.services.tenants.createTenant('e2e');
    const { api_key } = await server.services.tenants.createKey(tenant.tenant_id, ['write', 'read']);
    const headers = { authorization: `Bearer ${api_key}`, 'content-type': 'application/octet-stream' };
    const chunked = (parts: Buffer[]) => new ReadableStream({
      start(c) {
        for (const p of parts) c.enqueue(p);
        c.close();
      },
    });
    const big = await fetch(`${server.url}/v1/evidence`, {
      method: 'POST', headers, body: chunked([randomBytes(40 * 1024), randomBytes(40 * 1024)]), duplex: 'half',
    } as RequestInit);
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { code: string }).code, 'QUITTANCE_ERR_EVIDENCE_TOO_LARGE');

    const bytes = randomBytes(50 * 1024);
    const put = await fetch(`${server.url}/v1/evidence`, { method: 'POST', headers, body: chunked([bytes.subarray(0, 1000), bytes.subarray(1000)]), duplex: 'half' } as RequestInit);
    assert.equal(put.status, 201);
    const { digest } = (await put.json()) as { digest: string };
    assert.equal(digest, sha(bytes));
    const got = await fetch(`${server.url}/v1/evidence/${digest}`, { headers: { authorization: `Bearer ${api_key}` } });
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(bytes));
  });
});
