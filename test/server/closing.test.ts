/**
 * A request that reaches the server while it closes (pipelined behind an in-flight one, on a keep-alive connection)
 * is answered 503 with the coded error body, and nothing is done with it. Before, Fastify's own return503OnClosing
 * answered {error, message, statusCode} without a code, the one error body of the API that broke its shape.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { harness } from '../helpers.js';

describe('a server that is closing', () => {
  test('answers a late request 503 QUITTANCE_ERR_SERVER_CLOSING and writes nothing', async () => {
    const h = await harness();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inSlow = new Promise<void>((r) => (entered = r));
    h.app.get('/test/slow', async () => {
      entered();
      await gate;
      return { ok: true };
    });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const sock = net.connect((h.app.server.address() as AddressInfo).port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => (data += String(c)));
    const ended = new Promise((r) => sock.on('close', r));
    try {
      sock.write('GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await inSlow;
      const closing = h.app.close();
      // The listener is closed once the close has begun: from then on, what arrives is late.
      while (h.app.server.listening) await nextTurn();
      const body = JSON.stringify({ task_id: 'late', type: 'build' });
      sock.write(`POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      release();
      await ended;
      await closing;
      const answers = data.split(/(?=HTTP\/1\.1 )/);
      assert.equal(answers.length, 2, data);
      assert.match(answers[0]!, /^HTTP\/1\.1 200 /);
      assert.match(answers[1]!, /^HTTP\/1\.1 503 /);
      assert.match(answers[1]!, /\r\nconnection: close\r\n/i);
      const json = JSON.parse(answers[1]!.slice(answers[1]!.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json), ['statusCode', 'code', 'error', 'message']);
      assert.equal(json['code'], 'QUITTANCE_ERR_SERVER_CLOSING');
      assert.equal(json['statusCode'], 503);
      assert.equal(await h.services.store.task(h.tenantId, 'late'), undefined, 'nothing was written');
    } finally {
      sock.destroy();
      await h.close().catch(() => {});
    }
  });
});
