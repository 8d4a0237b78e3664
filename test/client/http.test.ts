import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QuittanceClient, QuittanceClientError } from '../../src/client/index.js';

test('client: an HTTP error is a QuittanceClientError with its status, whatever its body (a proxy\'s HTML 502 too)', async () => {
  const answers: Record<string, [number, string, string]> = {
    '/v1/receipts/html': [502, 'text/html', '<html><body>Bad Gateway</body></html>'],
    '/v1/receipts/coded': [404, 'application/json', JSON.stringify({ statusCode: 404, code: 'QUITTANCE_ERR_RECEIPT_NOT_FOUND', error: 'Not Found', message: 'No receipt x' })],
    '/v1/receipts/array': [500, 'application/json', '[1,2]'],
    '/v1/receipts/empty': [503, 'text/plain', ''],
  };
  const server = createServer((req, res) => {
    const [status, type, body] = answers[req.url!]!;
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new QuittanceClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, key: 'k' });
  try {
    const expect: Record<string, [number, string, RegExp]> = {
      html: [502, 'HTTP_ERROR', /GET \/v1\/receipts\/html answered 502/],
      coded: [404, 'QUITTANCE_ERR_RECEIPT_NOT_FOUND', /^No receipt x$/],
      array: [500, 'HTTP_ERROR', /answered 500/],
      empty: [503, 'HTTP_ERROR', /answered 503/],
    };
    for (const [id, [status, code, message]] of Object.entries(expect)) {
      await assert.rejects(client.receipt(id), (e: unknown) => {
        assert.ok(e instanceof QuittanceClientError, `${id}: ${String(e)}`);
        assert.equal(e.statusCode, status);
        assert.equal(e.code, code);
        assert.match(e.message, message);
        return true;
      });
    }
  } finally {
    server.close();
  }
});

test('client: waitForTask polls on through no answer, a 5xx, 408 and 429, and throws a refusal at once', async () => {
  const task = (status: string) => JSON.stringify({ task: { task_id: 't', status }, receipts: [], cursor: null });
  // One answer per poll, in order: a dropped connection, 503, 429, 408, still running, then done.
  const script: (number | 'drop')[] = ['drop', 503, 429, 408, 200, 200];
  let polls = 0;
  const server = createServer((req, res) => {
    if (req.url === '/v1/tasks/missing') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ statusCode: 404, code: 'QUITTANCE_ERR_TASK_NOT_FOUND', error: 'Not Found', message: 'Task missing does not exist' }));
    }
    const step = script[Math.min(polls++, script.length - 1)]!;
    if (step === 'drop') return void req.socket.destroy();
    res.writeHead(step, { 'content-type': 'application/json' });
    res.end(step === 200 ? task(polls === script.length ? 'succeeded' : 'running') : '{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new QuittanceClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, key: 'k' });
  try {
    const done = await client.waitForTask('t', { timeoutMs: 5_000, pollMs: 10 });
    assert.equal(done.status, 'succeeded');
    assert.equal(polls, script.length);
    const started = Date.now();
    await assert.rejects(client.waitForTask('missing', { timeoutMs: 5_000, pollMs: 10 }), (e: unknown) => e instanceof QuittanceClientError && e.code === 'QUITTANCE_ERR_TASK_NOT_FOUND');
    assert.ok(Date.now() - started < 1_000, 'a refusal is not polled on');
  } finally {
    server.close();
  }
});
