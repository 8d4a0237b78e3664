import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpuMicros, cpuPer, load, round, UNIQUE_ID, type Figures } from './lib.js';

/**
 * What this machine and load generator allow at all: a bare node:http server that parses each JSON body and
 * answers a small JSON document, loaded exactly like the single-append bench (32 connections, same body). No
 * Quittance server on the same machine can answer more single requests per second than this, so read every
 * per-call figure beside it; the bench machines differ from day to day by several times.
 */
const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const out = JSON.stringify({ ok: true, type: body.type });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

export async function benchCalibrate(seconds = 5): Promise<Figures> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [port] = (await once(child.stdout!, 'data')) as [Buffer];
    const url = `http://127.0.0.1:${String(port).trim()}`;
    const body = { template: JSON.stringify({ type: 'task.assigned', from: { kind: 'agent', id: 'a' }, to: { kind: 'worker', id: `w-${UNIQUE_ID}` }, body: { n: UNIQUE_ID } }) };
    await load({ url, key: 'none', path: '/', connections: 32, seconds: 1, body });
    const c0 = cpuMicros(child.pid);
    const r = await load({ url, key: 'none', path: '/', connections: 32, seconds, body });
    const c1 = cpuMicros(child.pid);
    return {
      'bare node:http + JSON.parse, 32 clients (requests/s)': round(r.requestsPerSec, 0),
      'bare node:http, server CPU per request (us)': cpuPer(c0, c1, r.total),
    };
  } finally {
    child.kill();
  }
}
