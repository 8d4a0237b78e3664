/**
 * `npm run bench -- --compare`: the task-lifecycle workload (claim + complete, one job per call, 16 at once) on a
 * pre-filled queue, against Quittance (SQLite and PostgreSQL, full receipts and stamps) and, on the same
 * PostgreSQL in the same run, graphile-worker and pg-boss. Each system gets a fresh schema; the queue is filled
 * untimed, then the time to drain it is measured.
 */
import { TEST_PG_URL, testSchema } from '../test/pg.js';
import { QuittanceClient } from '../src/client/index.js';
import { spawnServer, tempDir, round, type Figures } from './lib.js';
import { poster } from './tasks.js';

const JOBS = Number(process.env['QUITTANCE_COMPARE_JOBS'] ?? 4000);
const CONCURRENCY = 16;
/** Comma-separated names of the systems to run (e.g. `quittance postgres,graphile-worker`); all by default. */
const ONLY = process.env['QUITTANCE_COMPARE_ONLY']?.split(',').map((s) => s.trim());
const wanted = (name: string) => !ONLY || ONLY.includes(name);

async function quittance(location: string): Promise<number> {
  const server = await spawnServer(location);
  try {
    const key = server.adminKey!;
    const client = new QuittanceClient({ url: server.url, key });
    for (let i = 0; i < JOBS; i += 500) {
      await client.createTasks(Array.from({ length: Math.min(500, JOBS - i) }, (_, j) => ({ type: 'cmp', payload: { n: i + j } })));
    }
    // The same keep-alive poster as the tasks bench: the load generator shares the two cores with the server.
    const p = poster(server.url, key, CONCURRENCY);
    let done = 0;
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (;;) {
        const g = (await p.call('POST', '/v1/leases/claim', { worker_id: `w${w}`, max_tasks: 1 })).json.leases[0];
        if (!g) return;
        const r = await p.call('POST', `/v1/tasks/${g.task_id}/complete`, { lease_id: g.lease_id, lease_token: g.lease_token, artifacts: [{ kind: 'blob', uri: `blob:${g.task_id}` }] });
        if (r.status === 201) done++;
      }
    }));
    p.close();
    if (done !== JOBS) throw new Error(`quittance drained ${done} of ${JOBS}`);
    return JOBS / ((Date.now() - started) / 1000);
  } finally {
    await server.kill();
  }
}

async function graphileWorker(url: string, schema: string): Promise<number> {
  const { makeWorkerUtils, run } = await import('graphile-worker');
  const utils = await makeWorkerUtils({ connectionString: url, schema });
  await utils.migrate();
  for (let i = 0; i < JOBS; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, JOBS - i) }, (_, j) => utils.addJob('cmp', { n: i + j })));
  }
  await utils.release();
  let done = 0;
  let finish!: () => void;
  const drained = new Promise<void>((r) => (finish = r));
  const started = Date.now();
  const runner = await run({
    connectionString: url, schema, concurrency: CONCURRENCY, noHandleSignals: true, pollInterval: 50,
    taskList: { cmp: async () => undefined },
    logger: new (await import('graphile-worker')).Logger(() => () => undefined),
  });
  runner.events.on('job:success', () => {
    if (++done === JOBS) finish();
  });
  await drained;
  const rate = JOBS / ((Date.now() - started) / 1000);
  await runner.stop();
  return rate;
}

async function pgBoss(url: string, schema: string): Promise<number> {
  const { default: PgBoss } = await import('pg-boss');
  const boss = new PgBoss({ connectionString: url, schema, supervise: false, schedule: false, migrate: true });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('cmp');
  for (let i = 0; i < JOBS; i += 500) {
    await boss.insert(Array.from({ length: Math.min(500, JOBS - i) }, (_, j) => ({ name: 'cmp', data: { n: i + j } })));
  }
  let done = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (;;) {
      const jobs = await boss.fetch('cmp', { batchSize: 1 });
      const job = jobs?.[0];
      if (!job) return;
      await boss.complete('cmp', job.id);
      done++;
    }
  }));
  const rate = done / ((Date.now() - started) / 1000);
  await boss.stop({ graceful: false, wait: true });
  return rate;
}

export async function benchCompare(): Promise<Figures> {
  const url = process.env['QUITTANCE_BENCH_PG_URL'] ?? TEST_PG_URL;
  const rates: Record<string, number> = {};
  if (wanted('quittance sqlite')) {
    const tmp = tempDir('quittance-compare-');
    try {
      rates['quittance sqlite'] = await quittance(tmp.dir);
    } finally {
      tmp.cleanup();
    }
  }
  const onSchema = async (name: string, fn: (schemaUrl: string, schema: string) => Promise<number>) => {
    if (!wanted(name)) return;
    const s = testSchema(url);
    await s.create();
    try {
      rates[name] = await fn(s.schemaUrl, s.schema);
    } finally {
      await s.drop();
    }
  };
  await onSchema('quittance postgres', (schemaUrl) => quittance(schemaUrl));
  await onSchema('graphile-worker', (_u, schema) => graphileWorker(url, schema));
  await onSchema('pg-boss', (_u, schema) => pgBoss(url, schema));
  const gw = rates['graphile-worker'];
  const figures: Figures = {};
  for (const [name, rate] of Object.entries(rates)) {
    figures[`${name}: claim + complete, ${CONCURRENCY} concurrent (jobs/s)`] = round(rate, 0);
  }
  for (const [name, rate] of Object.entries(rates)) {
    if (name !== 'graphile-worker' && gw !== undefined) figures[`${name} ÷ graphile-worker`] = `${round(rate / gw, 2)}×`;
  }
  return figures;
}
