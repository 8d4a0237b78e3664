import { cpuMicros, cpuPer, load, spawnServer, tempDir, round, UNIQUE_ID, type Figures } from './lib.js';

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
    const warm = await load({ url: server.url, key, path: '/v1/receipts', connections: 32, seconds: 2, body: { template: receiptTemplate('warm') } });
    const pid = server.child.pid;
    const c0 = cpuMicros(pid);
    const single = await load({ url: server.url, key, path: '/v1/receipts', connections: 32, seconds, body: { template: receiptTemplate('single') } });
    const c1 = cpuMicros(pid);
    const batch = await load({
      url: server.url, key, path: '/v1/receipts/batch', connections: 8, seconds,
      body: { template: `{"receipts":[${Array.from({ length: 100 }, (_, j) => receiptTemplate(`batch-${j}`)).join(',')}]}` },
    });
    const c2 = cpuMicros(pid);
    // Every acknowledged append must have been a new receipt (no idempotent repeats inflating the figure).
    const verify = await fetch(`${server.url}/v1/ledger/verify`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json()) as { ok: boolean; receipts: number };
    const acknowledged = warm.total - warm.non2xx + single.total - single.non2xx + (batch.total - batch.non2xx) * 100;
    // The ledger may hold a few more: requests still on their way when each run stopped were appended, not counted.
    const unanswered = 32 + 32 + 8 * 100;
    const accounted = verify.receipts >= acknowledged && verify.receipts <= acknowledged + unanswered;
    return {
      'append single, 32 clients (receipts/s)': round(single.requestsPerSec, 0),
      'append single p99 (ms)': single.p99,
      'append single non-2xx': single.non2xx + single.errors,
      'append single, server CPU per receipt (us)': cpuPer(c0, c1, single.total),
      'append batch of 100, 8 clients (receipts/s)': round(batch.requestsPerSec * 100, 0),
      'append batch p99 (ms)': batch.p99,
      'append batch non-2xx': batch.non2xx + batch.errors,
      'append batch, server CPU per receipt (us)': cpuPer(c1, c2, batch.total * 100),
      'receipts in the ledger': `${verify.receipts}: ${acknowledged} acknowledged + ${verify.receipts - acknowledged} sent as the runs stopped (at most ${unanswered})${accounted ? '' : ', DOES NOT ADD UP'}${verify.ok ? ', chain verifies' : ', CHAIN BROKEN'}`,
    };
  } finally {
    await server.kill();
    tmp?.cleanup();
  }
}

/** A receipt as JSON text; autocannon puts a fresh unique id wherever UNIQUE_ID stands, once per request. */
function receiptTemplate(run: string): string {
  return JSON.stringify({
    type: 'task.assigned',
    from: { kind: 'agent', id: 'bench-agent' },
    to: { kind: 'worker', id: `w-${UNIQUE_ID}` },
    task_id: `${run}-${UNIQUE_ID}`,
    body: { goal: 'summarise the quarterly report', priority: 2, input: { uri: `s3://inputs/${UNIQUE_ID}.json` } },
  });
}
