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
