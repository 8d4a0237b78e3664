import autocannon from 'autocannon';
import { request, Agent } from 'node:http';
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

/** Sequential GETs over one keep-alive connection, timed with hrtime: precise per-request latency percentiles. */
export async function latency(url: string, key: string, paths: (i: number) => string, n: number): Promise<{ p50: number; p99: number; max: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: paths(i), agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  agent.destroy();
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
