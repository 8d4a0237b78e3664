/**
 * The server does not decode compressed request bodies, so a body sent with a Content-Encoding (gzip, br, …) is
 * refused with a 415, not taken as it is: POST /v1/evidence stored the gzip bytes as the blob (the digest of bytes
 * the client never meant, served back without their encoding), and a JSON route refused the body as "not valid
 * UTF-8". "identity" is no encoding and is accepted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { BACKENDS, harness, agent, worker } from '../helpers.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] compressed request bodies`, () => {
    test('a 415 naming the encoding, on JSON and evidence routes alike; nothing is stored', async () => {
      const h = await harness({ backend });
      try {
        const send = (url: string, ct: string, encoding: string, payload: Buffer) =>
          h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${h.key}`, 'content-type': ct, 'content-encoding': encoding }, payload });
        const receipt = JSON.stringify({ type: 'task.assigned', from: agent, to: worker });
        for (const [url, ct, text] of [['/v1/receipts', 'application/json', receipt], ['/v1/evidence', 'text/plain', 'hello']] as const) {
          for (const encoding of ['gzip', 'GZIP', 'br', 'gzip, identity']) {
            const r = await send(url, ct, encoding, gzipSync(text));
            assert.equal(r.statusCode, 415, `${url} ${encoding}: ${r.body}`);
            const json = JSON.parse(r.body) as { code: string; message: string };
            assert.equal(json.code, 'QUITTANCE_ERR_UNSUPPORTED_CONTENT_ENCODING');
            assert.ok(json.message.includes(JSON.stringify(encoding)), json.message);
          }
        }
        assert.deepEqual((await h.req('GET', '/v1/receipts')).json.receipts, []);
        // The compressed bytes were not stored as a blob.
        const digest = createHash('sha256').update(gzipSync('hello')).digest('hex');
        const zipped = await h.app.inject({ method: 'GET', url: `/v1/evidence/sha256:${digest}`, headers: { authorization: `Bearer ${h.key}` } });
        assert.equal(zipped.statusCode, 404);
        // Only a body is refused: a GET that carries the header has none.
        const get = await h.app.inject({ method: 'GET', url: '/v1/receipts', headers: { authorization: `Bearer ${h.key}`, 'content-encoding': 'gzip' } });
        assert.equal(get.statusCode, 200, get.body);
        // identity is no encoding at all.
        assert.equal((await send('/v1/receipts', 'application/json', 'identity', Buffer.from(receipt))).statusCode, 201);
        assert.equal((await send('/v1/evidence', 'text/plain', 'Identity', Buffer.from('hello'))).statusCode, 201);
      } finally {
        await h.close();
      }
    });
  });
}
