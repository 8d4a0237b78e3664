import { spawn } from 'node:child_process';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { ROOT } from '../test/e2e.js';
import { cpuMicros, cpuPer, spawnServer, tempDir, round, type Figures } from './lib.js';

/** A keep-alive JSON poster for load loops (lighter than fetch, so the load generator steals less CPU). */
export function poster(url: string, key: string, sockets: number) {
  const u = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const call = (method: string, path: string, body?: unknown) => new Promise<{ status: number; json: any }>((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      host: u.hostname, port: u.port, path, method, agent,
      headers: { authorization: `Bearer ${key}`, ...(data && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
  return { call, close: () => agent.destroy() };
}

export async function lifecycle(url: string, key: string, workers: number, seconds: number, batch: number): Promise<{ tasksPerSec: number; errors: number; done: number }> {
  const p = poster(url, key, workers);
  let done = 0;
  let errors = 0;
  const stopAt = Date.now() + seconds * 1000;
  const loop = async (w: number) => {
    const type = `bench-${batch}-${w}`;
    while (Date.now() < stopAt) {
      if (batch === 1) {
        const c = await p.call('POST', '/v1/tasks', { type, payload: { n: done } });
        const g = await p.call('POST', '/v1/leases/claim', { worker_id: `w${w}`, accept_types: [type], max_tasks: 1 });
        const lease = g.json.leases[0];
        if (c.status !== 201 || !lease) {
          errors++;
          continue;
        }
        const r = await p.call('POST', `/v1/tasks/${lease.task_id}/complete`, { lease_id: lease.lease_id, lease_token: lease.lease_token, artifacts: [{ kind: 'blob', uri: `blob:${lease.task_id}` }] });
        if (r.status === 201) done++;
        else errors++;
      } else {
        const c = await p.call('POST', '/v1/tasks/batch', { tasks: Array.from({ length: batch }, (_, i) => ({ type, payload: { i } })) });
        const g = await p.call('POST', '/v1/leases/claim', { worker_id: `w${w}`, accept_types: [type], max_tasks: batch });
        const leases = g.json.leases as { task_id: string; lease_id: string; lease_token: string }[];
        if (c.status !== 200) errors++;
        const r = await p.call('POST', '/v1/tasks/complete-batch', {
          completions: leases.map((l) => ({ task_id: l.task_id, lease_id: l.lease_id, lease_token: l.lease_token, artifacts: [{ kind: 'blob', uri: `blob:${l.task_id}` }] })),
        });
        for (const x of r.json.results as { statusCode: number }[]) x.statusCode === 201 ? done++ : errors++;
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  p.close();
  return { tasksPerSec: round(done / ((Date.now() - started) / 1000), 0), errors, done };
}

/**
 * One killed worker's task: from the kill until lease.expired requeued it, the TTL its lease had at the kill (the SDK
 * worker doubles it per renewal while its renewals would not last the lease's lifetime: see nextLeaseTtl), and how
 * long after the lease's own expiry the sweeper requeued it.
 */
interface Kill {
  delayMs: number;
  ttlInForceMs: number;
  afterExpiryMs: number;
}

/** Kills `n` worker processes mid-task at once; for each, what the expiry of its lease says (Kill). */
async function crashDetection(url: string, key: string, n: number, ttl: number): Promise<Kill[]> {
  const p = poster(url, key, 8);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await p.call('POST', '/v1/tasks', { type: 'victim', payload: { i } })).json.task.task_id);
  const children = ids.map((_, i) => spawn(process.execPath, [join(ROOT, 'dist', 'test', 'fixtures', 'hang-worker.js')], {
    env: { ...process.env, QUITTANCE_URL: url, QUITTANCE_KEY: key, LEASE_TTL: String(ttl), WORKER_ID: `victim-${i}`, ACCEPT_TYPE: 'victim' },
    stdio: ['ignore', 'pipe', 'ignore'],
  }));
  // Wait until every task is being worked on, then let the workers renew a few times before the kill.
  await Promise.all(children.map((c) => new Promise<void>((r) => c.stdout!.once('data', () => r()))));
  await new Promise((r) => setTimeout(r, ttl * 1000 * 0.5 + Math.random() * 1000));
  const killedAt = Date.now();
  for (const c of children) c.kill('SIGKILL');
  const kills: Kill[] = [];
  for (const id of ids) {
    for (;;) {
      const t = await p.call('GET', `/v1/tasks/${id}`);
      const expired = (t.json.receipts as { type: string; body: Record<string, string> }[]).find((r) => r.type === 'lease.expired');
      if (expired) {
        if (t.json.task.attempt !== 1) throw new Error(`attempt burned on ${id}`);
        const at = (k: string) => Date.parse(expired.body[k]!);
        kills.push({ delayMs: at('detected_at') - killedAt, ttlInForceMs: at('expired_at') - at('last_heartbeat_at'), afterExpiryMs: at('detected_at') - at('expired_at') });
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  p.close();
  return kills.sort((a, b) => a.delayMs - b.delayMs);
}

export async function benchTasks(seconds = 10): Promise<Figures> {
  const tmp = tempDir('quittance-bench-');
  const server = await spawnServer(tmp.dir);
  try {
    const key = server.adminKey!;
    await lifecycle(server.url, key, 16, 2, 1); // warm-up
    const pid = server.child.pid;
    const c0 = cpuMicros(pid);
    const single = await lifecycle(server.url, key, 16, seconds, 1);
    const c1 = cpuMicros(pid);
    const batch = await lifecycle(server.url, key, 16, seconds, 100);
    const c2 = cpuMicros(pid);
    const ttl = 5;
    const kills = await crashDetection(server.url, key, 20, ttl);
    const delays = kills.map((k) => k.delayMs);
    const pct = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!;
    const inForce = [...new Set(kills.map((k) => k.ttlInForceMs / 1000))].sort((a, b) => a - b).join(', ');
    const withinOwnTtl = kills.filter((k) => k.delayMs <= k.ttlInForceMs + 1000).length;
    return {
      'task lifecycle, 1 per call, 16 workers (tasks/s)': single.tasksPerSec,
      'task lifecycle errors (1 per call)': single.errors,
      'task lifecycle, 1 per call, server CPU per task (us)': cpuPer(c0, c1, single.done),
      'task lifecycle, batches of 100, 16 workers (tasks/s)': batch.tasksPerSec,
      'task lifecycle errors (batches)': batch.errors,
      'task lifecycle, batches, server CPU per task (us)': cpuPer(c1, c2, batch.done),
      [`crash → requeue over 20 kills, lease TTL ${ttl} s: min / p50 / max (ms)`]: `${pct(0)} / ${pct(0.5)} / ${pct(1)}`,
      [`crash → requeue within the claim's TTL (${ttl} s) + 1 s`]: `${delays.filter((d) => d <= (ttl + 1) * 1000).length} of 20`,
      'lease TTL in force at the kill, after the worker\'s renewals (s)': inForce,
      'crash → requeue within the TTL in force + 1 s': `${withinOwnTtl} of 20`,
      'lease expiry → requeue (sweeper lag), max (ms)': Math.max(...kills.map((k) => k.afterExpiryMs)),
    };
  } finally {
    await server.kill();
    tmp.cleanup();
  }
}
