/**
 * The bench's latency client (bench/lib.ts) reads raw HTTP into one reused buffer: it must wait for each whole
 * body, however it is split across reads, and refuse what it cannot time correctly.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { latency } from '../../bench/lib.js';

let server: Server;
let url: string;
const paths: string[] = [];
const BIG = 700 * 1024; // more than the client's 256 KiB read buffer

before(async () => {
  server = createServer((req, res) => {
    paths.push(`${req.url} ${req.headers.authorization}`);
    if (req.url === '/missing') return void res.writeHead(404, { 'content-length': 2 }).end('no');
    if (req.url === '/chunked') return void res.writeHead(200).end('streamed'); // no content-length: chunked
    // Half the body now, the rest 40 ms later: the request is done only when the last byte is in.
    res.writeHead(200, { 'content-length': BIG });
    res.write(Buffer.alloc(BIG / 2, 'a'));
    setTimeout(() => res.end(Buffer.alloc(BIG / 2, 'b')), 40);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => server.close());

test('times whole responses over one keep-alive connection, sending the path and key it is given', async () => {
  paths.length = 0;
  const l = await latency(url, 'k1', (i) => `/page/${i}`, 4);
  assert.ok(l.p50 >= 40 && l.max >= 40, `waited for each body's second half: ${JSON.stringify(l)}`);
  assert.deepEqual(paths, ['/page/0 Bearer k1', '/page/1 Bearer k1', '/page/2 Bearer k1', '/page/3 Bearer k1']);
});

test('a status other than 200, or a body without content-length, is an error, not a figure', async () => {
  await assert.rejects(latency(url, 'k', () => '/missing', 2), /status 404/);
  await assert.rejects(latency(url, 'k', () => '/chunked', 2), /content-length/);
});
