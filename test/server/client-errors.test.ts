/**
 * What Node's HTTP parser refuses before there is a request (a header line that is no header, headers over the size
 * limit) is answered with the coded error body too. Before, Fastify's own handler answered
 * {"error":"Bad Request","message":"Client Error","statusCode":400} and a 431 of the same kind, without a code.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { harness, type Harness } from '../helpers.js';

describe('requests the HTTP parser refuses', () => {
  let h: Harness;
  let port: number;
  before(async () => {
    h = await harness();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    port = (h.app.server.address() as AddressInfo).port;
  });
  after(async () => h.close());

  /** Sends `text` on a fresh connection and reads until the server closes it. */
  const raw = (text: string) => new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (c) => (data += String(c)));
    s.on('close', () => resolve(data));
    // The server may close while the rest is still being sent (EPIPE, ECONNRESET): what it answered is in `data`.
    s.on('error', () => undefined);
    s.write(text);
  });

  const coded = (answer: string, status: number, code: string) => {
    assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), answer);
    assert.match(answer, /\r\ncontent-type: application\/json/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['statusCode', 'code', 'error', 'message']);
    assert.equal(body['statusCode'], status);
    assert.equal(body['code'], code);
  };

  test('a malformed header line: 400 QUITTANCE_ERR_MALFORMED_REQUEST', async () => {
    coded(await raw('GET /v1/health HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n'), 400, 'QUITTANCE_ERR_MALFORMED_REQUEST');
  });

  test('a body that is not as long as its Content-Length: 400 QUITTANCE_ERR_MALFORMED_REQUEST, not a schema complaint', async () => {
    const r = await h.app.inject({
      method: 'POST', url: '/v1/tasks', payload: '{"type":"build"}',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json', 'content-length': '5' },
    });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().code, 'QUITTANCE_ERR_MALFORMED_REQUEST');
    assert.equal(r.json().message, 'Request is malformed: Request body size did not match Content-Length');
    assert.deepEqual((await h.req('GET', '/v1/tasks')).json.tasks, []);
  });

  test('headers over the size limit: 431 QUITTANCE_ERR_HEADERS_TOO_LARGE', async () => {
    coded(await raw(`GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`), 431, 'QUITTANCE_ERR_HEADERS_TOO_LARGE');
  });
});
