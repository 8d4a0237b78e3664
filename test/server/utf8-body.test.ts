/**
 * A JSON body is UTF-8 (RFC 8259 §8.1). Bytes that are not (a Latin-1 "é", a cut multi-byte sequence) were decoded
 * with U+FFFD in their place and stored: the receipt said "caf\uFFFD" where the client sent "café", its hash was of
 * text the client never sent, and the answer was a 201. They are now a coded 400 and nothing is written.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent, worker } from '../helpers.js';

/** The JSON of `value` as UTF-8, with the bytes of the placeholder "@@" replaced by `bytes`. */
function withBytes(value: unknown, bytes: number[]): Buffer {
  const text = Buffer.from(JSON.stringify(value));
  const at = text.indexOf('@@');
  return Buffer.concat([text.subarray(0, at), Buffer.from(bytes), text.subarray(at + 2)]);
}

for (const backend of BACKENDS) {
  describe(`[${backend}] request bodies that are not UTF-8`, () => {
    test('a coded 400 naming where, on every JSON route; nothing is written', async () => {
      const h = await harness({ backend });
      try {
        const send = (url: string, payload: Buffer, ct = 'application/json') =>
          h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${h.key}`, 'content-type': ct }, payload });
        const cases: [string, Buffer][] = [
          ['/v1/receipts', withBytes({ type: 'task.assigned', from: agent, to: worker, body: { name: 'caf@@' } }, [0xe9])],
          ['/v1/receipts', withBytes({ type: 'task.assigned', from: agent, to: worker, task_id: 'x@@' }, [0xe2, 0x82])],
          ['/v1/receipts', withBytes({ type: 'task.assigned', from: agent, to: worker, body: { s: '@@' } }, [0xed, 0xa0, 0x80])],
          ['/v1/tasks', withBytes({ type: 'render', payload: { page: '@@' } }, [0xff])],
        ];
        for (const [url, payload] of cases) {
          for (const ct of ['application/json', 'application/json; charset=latin1']) {
            const r = await send(url, payload, ct);
            assert.equal(r.statusCode, 400, `${url} ${ct}: ${r.body}`);
            const json = JSON.parse(r.body) as { code: string; message: string };
            assert.equal(json.code, 'QUITTANCE_ERR_INVALID_JSON');
            assert.match(json.message, /is not valid UTF-8 \(byte 0x[0-9A-F]{2} at offset \d+\)/);
          }
        }
        assert.deepEqual((await h.req('GET', '/v1/receipts')).json.receipts, [], 'nothing was stored');
        assert.deepEqual((await h.req('GET', '/v1/tasks')).json.tasks, []);
        // The same text as UTF-8 is stored as sent.
        const ok = await send('/v1/receipts', withBytes({ type: 'task.assigned', from: agent, to: worker, body: { name: 'caf@@' } }, [0xc3, 0xa9]));
        assert.equal(ok.statusCode, 201, ok.body);
        assert.equal((JSON.parse(ok.body) as { receipt: { body: { name: string } } }).receipt.body.name, 'café');
      } finally {
        await h.close();
      }
    });
  });
}
