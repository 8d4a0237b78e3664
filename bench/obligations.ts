import { readFileSync } from 'node:fs';
import { createServices } from '../src/server/index.js';
import type { ReceiptInput } from '../src/ledger/types.js';
import { latency, spawnServer, tempDir, round, type Figures } from './lib.js';

const agent = { kind: 'agent', id: 'bench-agent' } as const;
const worker = (i: number) => ({ kind: 'worker', id: `w${i % 100}` }) as const;
const CHUNK = 1000;

/**
 * Grows one tenant's ledger to `target` receipts through the real append pipeline: `open` task.assigned
 * obligations left open, the rest task.assigned + task.completed pairs (closed obligations).
 */
async function grow(location: string, tenantName: string, from: number, target: number, open: number, openSoFar: number): Promise<number> {
  const s = createServices(/^postgres(ql)?:\/\//.test(location) ? { databaseUrl: location } : { dataDir: location });
  try {
    const t = (await s.store.tenantByName(tenantName))!;
    let n = from;
    let opened = openSoFar;
    const inflight: Promise<unknown>[] = [];
    while (n < target) {
      const leaveOpen = Math.min(open - opened, CHUNK);
      if (leaveOpen > 0) {
        inflight.push(s.ledger.appendBatch(t.tenant_id, Array.from({ length: leaveOpen }, (_, i) => assigned(n + i))));
        n += leaveOpen;
        opened += leaveOpen;
      } else {
        const pairs = Math.min(CHUNK / 2, Math.floor((target - n) / 2)) || 1;
        const obligations = await s.ledger.appendBatch(t.tenant_id, Array.from({ length: pairs }, (_, i) => assigned(n + i)));
        const ids = obligations.map((r) => (r.ok ? r.result.receipt.receipt_id : ''));
        inflight.push(s.ledger.appendBatch(t.tenant_id, ids.map((id, i) => ({
          type: 'task.completed', from: worker(n + i), to: agent, parents: [id], artifacts: [{ kind: 'blob', uri: `blob:result-${n + i}` }],
        }))));
        n += pairs * 2;
      }
      if (inflight.length >= 8) await Promise.all(inflight.splice(0));
    }
    await Promise.all(inflight);
    return opened;
  } finally {
    await s.store.close();
  }
}

function assigned(i: number): ReceiptInput {
  return { type: 'task.assigned', from: agent, to: worker(i), task_id: `task-${i}`, body: { goal: 'summarise the quarterly report', input: { uri: `s3://inputs/${i}.json` } } };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 0) : -1;
}

/**
 * Open-obligations latency at 100k and 1M receipts (10k open), server RSS, and restart time. `location` is where
 * the ledger lives: a fresh data folder (SQLite, the default) or an empty PostgreSQL database or schema URL.
 */
export async function benchObligations(options: { location?: string; sizes?: number[] } = {}): Promise<Figures> {
  const tmp = options.location === undefined ? tempDir('quittance-bench-') : undefined;
  const location = options.location ?? tmp!.dir;
  const figures: Figures = {};
  try {
    // First start creates the tenant and key; stop it, grow the ledger offline, then measure.
    const first = await spawnServer(location);
    const key = first.adminKey!;
    await first.kill();
    let open = 0;
    let size = 0;
    for (const target of options.sizes ?? [100_000, 1_000_000]) {
      const t0 = Date.now();
      open = await grow(location, 'default', size, target, 10_000, open);
      size = target;
      figures[`seed to ${target / 1000}k receipts (s)`] = round((Date.now() - t0) / 1000, 1);

      const started = Date.now();
      const server = await spawnServer(location);
      figures[`restart at ${target / 1000}k receipts (s)`] = round((Date.now() - started) / 1000, 2);
      try {
        // Pages across all 10k open obligations; the first pass also stamps delivered_at (a write).
        const cursors: (string | null)[] = [null];
        let cursor: string | null = null;
        const firstPass: number[] = [];
        do {
          const t = process.hrtime.bigint();
          const res = await fetch(`${server.url}/v1/obligations/open?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${key}` } });
          const body = (await res.json()) as { cursor: string | null };
          firstPass.push(Number(process.hrtime.bigint() - t) / 1e6);
          cursor = body.cursor;
          if (cursor) cursors.push(cursor);
        } while (cursor);
        firstPass.sort((a, b) => a - b);
        figures[`first fetch (stamps delivered_at) p50 at ${target / 1000}k (ms)`] = round(firstPass[Math.floor(firstPass.length / 2)]!);
        const l = await latency(server.url, key, (i) => {
          const c = cursors[i % cursors.length];
          return `/v1/obligations/open?limit=100${c ? `&cursor=${c}` : ''}`;
        }, 3000);
        const filtered = await latency(server.url, key, () => '/v1/obligations/open?limit=100&principal_kind=worker&principal_id=w7', 1000);
        figures[`open obligations (page of 100) p50 at ${target / 1000}k (ms)`] = l.p50;
        figures[`open obligations (page of 100) p99 at ${target / 1000}k (ms)`] = l.p99;
        figures[`open obligations for one worker p99 at ${target / 1000}k (ms)`] = filtered.p99;
        figures[`server RSS at ${target / 1000}k receipts (MB)`] = rssMb(server.child.pid!);
      } finally {
        await server.kill();
      }
    }
    return figures;
  } finally {
    tmp?.cleanup();
  }
}
