import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { createServices } from '../src/server/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Principal } from '../src/ledger/types.js';
import { round, tempDir, type Figures } from './lib.js';

const WORKERS = 16;
const PAGE = 4096;
const FRAME = PAGE + 24;
const WAL_HEADER = 32;

/**
 * The task lifecycle in process, no HTTP: rounds of 16 creates, then 16 claims, then 16 completes, each set
 * submitted at once (so one group commit). Besides CPU per task it counts what the disk sees: WAL pages written
 * per task and per commit, and which tables and indexes those pages belong to. Page counts do not depend on how
 * busy the machine is, so they compare two versions of the schema or the engine even on a noisy machine.
 */
export async function benchStore(rounds = 300): Promise<Figures> {
  const tmp = tempDir('quittance-bench-');
  // Automatic checkpoints off: the WAL only grows, so its size tells how many pages were written.
  const store = openSqliteStore({ dataDir: tmp.dir, walAutocheckpointPages: 0 });
  const s = createServices({ store });
  try {
    const tenant = (await s.tenants.createTenant('bench')).tenant_id;
    const agent: Principal = { kind: 'agent', id: 'bench-agent' };
    const round1 = async (r: number) => {
      await Promise.all(Array.from({ length: WORKERS }, (_, w) => s.tasks.create(tenant, { type: `t${w}`, payload: { r, w } }, agent)));
      const grants = await Promise.all(Array.from({ length: WORKERS }, (_, w) => s.tasks.claim(tenant, { worker_id: `w${w}`, accept_types: [`t${w}`], max_tasks: 1 })));
      await Promise.all(grants.map(([g]) => s.tasks.complete(tenant, g!.task_id, { lease_id: g!.lease_id, lease_token: g!.lease_token, artifacts: [{ kind: 'blob', uri: `blob:${g!.task_id}` }] })));
    };
    for (let r = 0; r < 100; r++) await round1(r); // warm-up: JIT, caches, a few thousand rows
    const wal = join(tmp.dir, 'quittance.db-wal');
    const walBefore = statSync(wal).size;
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < rounds; r++) await round1(r);
    const cpu = process.cpuUsage(cpu0);
    const tasks = rounds * WORKERS;
    const perTree = pagesPerCommit(readFileSync(wal).subarray(walBefore > 0 ? walBefore : WAL_HEADER), join(tmp.dir, 'quittance.db'));
    return {
      'task lifecycle in process, 16 at once, CPU per task (us)': round((cpu.user + cpu.system) / tasks, 0),
      'WAL pages written per task': round((statSync(wal).size - walBefore) / FRAME / tasks, 1),
      'WAL pages per commit': round(perTree.frames / perTree.commits, 1),
      'pages per commit, largest shares': perTree.top.map(([name, n]) => `${name} ${round(n / perTree.commits, 1)}`).join(', '),
    };
  } finally {
    await store.close();
    tmp.cleanup();
  }
}

/** Distinct pages each commit wrote, by the table or index that owns them (SQLite's dbstat). */
function pagesPerCommit(frames: Buffer, dbFile: string): { commits: number; frames: number; top: [string, number][] } {
  const db = new BetterSqlite3(dbFile, { readonly: true });
  const owner = new Map((db.prepare('SELECT name, pageno FROM dbstat').all() as { name: string; pageno: number }[]).map((r) => [r.pageno, r.name]));
  db.close();
  const byName = new Map<string, number>();
  let commits = 0;
  let count = 0;
  let pages = new Set<number>();
  for (let off = 0; off + FRAME <= frames.length; off += FRAME) {
    pages.add(frames.readUInt32BE(off));
    count++;
    // A commit frame carries the database size after the commit; other frames carry 0.
    if (frames.readUInt32BE(off + 4) !== 0) {
      for (const p of pages) byName.set(owner.get(p) ?? 'other', (byName.get(owner.get(p) ?? 'other') ?? 0) + 1);
      pages = new Set();
      commits++;
    }
  }
  return { commits, frames: count, top: [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6) };
}
