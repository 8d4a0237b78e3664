import autocannon from 'autocannon';
import { connect } from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { tempDir } from '../test/helpers.js';
import { spawnServer, type ServerProcess } from '../test/e2e.js';

export { tempDir, spawnServer, type ServerProcess };

export type Figures = Record<string, number | string>;

/** Where a template takes the request's unique number (see `load`). */
export const UNIQUE_ID = '%ID%';

/**
 * Runs autocannon from this process against a server in another process. Each request gets a fresh body: either
 * built by a function, or a JSON template whose UNIQUE_ID placeholders get the request's number spliced in, which
 * costs the load generator far less CPU than building and serialising an object (it shares the 2 cores).
 */
export async function load(opts: {
  url: string;
  key: string;
  path: string;
  connections: number;
  seconds: number;
  body: ((i: number) => unknown) | { template: string };
  method?: 'POST' | 'GET';
}): Promise<{ requestsPerSec: number; p50: number; p99: number; non2xx: number; errors: number; total: number }> {
  let i = 0;
  const body = opts.body;
  const parts = typeof body === 'function' ? [] : body.template.split(UNIQUE_ID);
  const render = typeof body === 'function' ? () => JSON.stringify(body(i++)) : () => parts.join(String(i++));
  const result = await autocannon({
    url: opts.url + opts.path,
    method: opts.method ?? 'POST',
    connections: opts.connections,
    duration: opts.seconds,
    headers: { authorization: `Bearer ${opts.key}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: render() }) }],
  });
  return {
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

/**
 * Sequential GETs over one keep-alive connection, timed with hrtime: per-request latency percentiles of the server.
 * The socket reads into one buffer reused for every response (net's `onread`), so the client allocates next to
 * nothing per request. Node's http client allocates every chunk it reads; with 65 KB pages of open obligations its
 * own mark-compact pauses (2–8 ms every ~100 ms, seen with --trace-gc in the bench process) were most of the p99 it
 * reported, while the server's own time per request stayed under 1 ms. Responses must carry content-length.
 */
export async function latency(url: string, key: string, paths: (i: number) => string, n: number): Promise<{ p50: number; p99: number; max: number }> {
  const u = new URL(url);
  let pending: { resolve: () => void; reject: (e: Error) => void } | undefined;
  let head = '';
  let bodyLeft = -1; // bytes of body still to come; -1 while the head is being read
  const fail = (e: Error) => {
    const p = pending;
    pending = undefined;
    p?.reject(e);
  };
  const buf = Buffer.allocUnsafe(256 * 1024);
  const onData = (nread: number): boolean => {
    read(nread);
    return true; // keep reading
  };
  const read = (nread: number): void => {
    let at = 0;
    if (bodyLeft < 0) {
      head += buf.toString('latin1', 0, nread);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length: *(\d+)/i.exec(head.slice(0, end));
      if (!length) return fail(new Error('response without content-length'));
      at = nread - (head.length - end - 4);
      head = '';
      if (status !== 200) return fail(new Error(`status ${status}`));
      bodyLeft = Number(length[1]);
    }
    bodyLeft -= nread - at;
    if (bodyLeft < 0) return fail(new Error('more bytes than content-length'));
    if (bodyLeft === 0) {
      bodyLeft = -1;
      const p = pending;
      pending = undefined;
      p?.resolve();
    }
  };
  const socket = connect({ host: u.hostname, port: Number(u.port), onread: { buffer: buf, callback: onData } });
  socket.setNoDelay(true);
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('connection closed')));
  await once(socket, 'connect');
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(`GET ${paths(i)} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${key}\r\n\r\n`);
      });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    socket.destroy();
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
  return { p50: round(pct(50)), p99: round(pct(99)), max: round(times[times.length - 1]!) };
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * CPU time (user + system, in microseconds) a process has used so far, from /proc (Linux). Dividing its growth
 * over a run by the work done gives the server's CPU cost per operation, a figure that stays meaningful when the
 * load generator or anything else competes for the same cores. Undefined where /proc is missing.
 */
export function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based), in clock ticks.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
// USER_HZ: 100 on every Linux architecture Node runs on.
const CLOCK_TICKS = 100;

/** Server CPU microseconds per operation between two cpuMicros readings, or 'n/a'. */
export function cpuPer(before: number | undefined, after: number | undefined, ops: number): number | string {
  return before === undefined || after === undefined || ops === 0 ? 'n/a' : round((after - before) / ops, 1);
}
