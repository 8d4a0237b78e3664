import autocannon from 'autocannon';
import { createServices } from '../src/server/index.js';
import { cpuMicros, cpuPer, spawnServer, tempDir, round, type Figures } from './lib.js';

const subject = { kind: 'agent', id: 'bench-agent' } as const;

async function post(url: string, key: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * autocannon from this process against `quittance serve` in another. The requests are fixed, so autocannon builds
 * each one once: on two shared cores a per-request callback in the load generator costs more than the server's
 * own work per introspection, and would measure the generator instead.
 */
async function introspectLoad(url: string, key: string, bodies: string[], connections: number, seconds: number) {
  const r = await autocannon({
    url: url + '/v1/stamps/introspect', method: 'POST', connections, duration: seconds,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    requests: bodies.map((body) => ({ body })),
  });
  return { perSec: r.requests.average, total: r.requests.total, p99: r.latency.p99, bad: r.non2xx + r.errors };
}

/** Each connection mints a standalone stamp, then tombstones it: one pair = two durable writes. */
async function mintTombstoneLoad(url: string, key: string, connections: number, seconds: number) {
  const mintBody = JSON.stringify({ subject, task_ref: 'bench-task', scope: ['fs:read'], ttl_seconds: 300 });
  const tombstoneBody = JSON.stringify({ outcome: 'completed' });
  const r = await autocannon({
    url, connections, duration: seconds,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST', path: '/v1/stamps', body: mintBody,
        onResponse: (status, body, context) => {
          if (status === 201) (context as Record<string, string>)['stamp_id'] = (JSON.parse(body) as { stamp: { stamp_id: string } }).stamp.stamp_id;
        },
      },
      {
        method: 'POST',
        setupRequest: (req, context) => ({ ...req, path: `/v1/stamps/${(context as Record<string, string>)['stamp_id']}/tombstone`, body: tombstoneBody }),
      },
    ],
  });
  return { pairsPerSec: r.requests.average / 2, pairs: r.requests.total / 2, p99: r.latency.p99, bad: r.non2xx + r.errors };
}

/**
 * The same pairs through the engine in this process, without HTTP: what the write path itself sustains, and its CPU
 * per pair (this process, every thread: the event loop plus signing and fsync on the thread pool).
 */
async function mintTombstoneInProcess(concurrency: number, seconds: number): Promise<{ pairsPerSec: number; cpuPerPair: number }> {
  const tmp = tempDir('quittance-bench-');
  const s = createServices({ dataDir: tmp.dir });
  try {
    const tenant = (await s.tenants.createTenant('bench')).tenant_id;
    const until = Date.now() + seconds * 1000;
    let pairs = 0;
    const started = Date.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const m = await s.stamps.mint(tenant, { subject, task_ref: 'bench-task', scope: ['fs:read'], ttl_seconds: 300 });
        await s.stamps.tombstone(tenant, m.stamp.stamp_id, { outcome: 'completed', closed_by: 'subject' });
        pairs++;
      }
    }));
    const cpu = process.cpuUsage(cpu0);
    return { pairsPerSec: pairs / ((Date.now() - started) / 1000), cpuPerPair: (cpu.user + cpu.system) / pairs };
  } finally {
    await s.store.close();
    tmp.cleanup();
  }
}

/**
 * Stamps over HTTP against a real `quittance serve`: introspection (cached signature checks and stamp states; a
 * tombstone still shows within stampStateCacheMs across servers, at once on the same one) and standalone
 * mint + tombstone pairs (each one a durable, fsync'd write).
 */
export async function benchStamps(seconds = 10): Promise<Figures> {
  const tmp = tempDir('quittance-bench-');
  const server = await spawnServer(tmp.dir);
  try {
    const key = server.adminKey!;
    const tokens: string[] = [];
    for (let i = 0; i < 500; i++) tokens.push((await post(server.url, key, '/v1/stamps', { subject, task_ref: `t${i}`, scope: ['fs:read', 'net:fetch'], ttl_seconds: 3600 })).token);
    // A tenth of them closed: introspection answers both kinds.
    for (let i = 0; i < tokens.length; i += 10) {
      const stampId = JSON.parse(Buffer.from(tokens[i]!.split('.')[1]!, 'base64url').toString()).stamp_id as string;
      await post(server.url, key, `/v1/stamps/${stampId}/tombstone`, { outcome: 'completed' });
    }
    const bodies = tokens.map((token) => JSON.stringify({ token }));

    await introspectLoad(server.url, key, bodies, 32, 2); // warm-up: JIT, caches
    const pid = server.child.pid;
    const c0 = cpuMicros(pid);
    const intro = await introspectLoad(server.url, key, bodies, 32, seconds);
    const c1 = cpuMicros(pid);
    // The same route with a token that fails at its first check: auth, strict JSON parsing, validation and HTTP
    // alone. What introspection costs above this is the stamps code; this much is the server's per-request floor.
    const garbage = [JSON.stringify({ token: 'x'.repeat(tokens[0]!.length) })];
    const f0 = cpuMicros(pid);
    const floor = await introspectLoad(server.url, key, garbage, 32, Math.max(2, seconds / 3));
    const f1 = cpuMicros(pid);
    await mintTombstoneLoad(server.url, key, 64, 2);
    const c2 = cpuMicros(pid);
    const pairs = await mintTombstoneLoad(server.url, key, 64, seconds);
    const c3 = cpuMicros(pid);
    await server.kill();
    const inProcess = await mintTombstoneInProcess(64, seconds / 2);
    return {
      'introspect, 32 clients (requests/s)': round(intro.perSec, 0),
      'introspect p99 (ms)': intro.p99,
      'introspect non-2xx': intro.bad,
      'introspect, server CPU per request (us)': cpuPer(c0, c1, intro.total),
      'introspect floor (malformed token: auth + parsing + HTTP), server CPU per request (us)': cpuPer(f0, f1, floor.total),
      'mint + tombstone, 64 clients (pairs/s)': round(pairs.pairsPerSec, 0),
      'mint + tombstone p99 per request (ms)': pairs.p99,
      'mint + tombstone non-2xx': pairs.bad,
      'mint + tombstone, server CPU per pair (us)': cpuPer(c2, c3, pairs.pairs),
      'mint + tombstone in process, no HTTP (pairs/s)': round(inProcess.pairsPerSec, 0),
      'mint + tombstone in process, CPU per pair (us)': round(inProcess.cpuPerPair, 1),
    };
  } finally {
    await server.kill();
    tmp.cleanup();
  }
}
