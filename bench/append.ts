import { load, spawnServer, tempDir, round, type Figures } from './lib.js';

const principal = (kind: string, id: string) => ({ kind, id });

/**
 * Durable appends over HTTP against `quittance serve` in its own process, load generated from this one. `location`:
 * where the ledger lives, a fresh data folder (SQLite, the default) or an empty PostgreSQL database or schema URL.
 */
export async function benchAppend(seconds = 10, location?: string): Promise<Figures> {
  const tmp = location === undefined ? tempDir('quittance-bench-') : undefined;
  const server = await spawnServer(location ?? tmp!.dir);
  try {
    const key = server.adminKey!;
    // Warm up (JIT, page cache) before measuring.
    await load({ url: server.url, key, path: '/v1/receipts', connections: 32, seconds: 2, body: (i) => receipt(-1, i) });
    const single = await load({ url: server.url, key, path: '/v1/receipts', connections: 32, seconds, body: (i) => receipt(0, i) });
    const batch = await load({
      url: server.url, key, path: '/v1/receipts/batch', connections: 8, seconds,
      body: (i) => ({ receipts: Array.from({ length: 100 }, (_, j) => receipt(1, i * 100 + j)) }),
    });
    return {
      'append single, 32 clients (receipts/s)': round(single.requestsPerSec, 0),
      'append single p99 (ms)': single.p99,
      'append single non-2xx': single.non2xx + single.errors,
      'append batch of 100, 8 clients (receipts/s)': round(batch.requestsPerSec * 100, 0),
      'append batch p99 (ms)': batch.p99,
      'append batch non-2xx': batch.non2xx + batch.errors,
    };
  } finally {
    await server.kill();
    tmp?.cleanup();
  }
}

function receipt(run: number, i: number) {
  return {
    type: 'task.assigned',
    from: principal('agent', 'bench-agent'),
    to: principal('worker', `w${i % 64}`),
    task_id: `r${run}-t${i}`,
    body: { goal: 'summarise the quarterly report', priority: i % 5, input: { uri: `s3://inputs/${i}.json` } },
  };
}
