import { benchAppend } from './append.js';
import { benchObligations } from './obligations.js';
import type { Figures } from './lib.js';
import { TEST_PG_URL, testSchema } from '../test/pg.js';

/**
 * The append and open-obligations benchmarks against `quittance serve --db`: the same workloads as the SQLite
 * `append` and `obligations` suites, so the figures compare line by line. Each runs on a fresh schema of the
 * PostgreSQL at QUITTANCE_BENCH_PG_URL (default: the test database, QUITTANCE_TEST_PG_URL), dropped afterwards.
 */
export async function benchPostgres(options: { seconds?: number; sizes?: number[] } = {}): Promise<Figures> {
  const url = process.env['QUITTANCE_BENCH_PG_URL'] ?? TEST_PG_URL;
  const runs: ((where: string) => Promise<Figures>)[] = [
    (where) => benchAppend(options.seconds ?? 10, where),
    (where) => benchObligations({ location: where, ...(options.sizes && { sizes: options.sizes }) }),
  ];
  const figures: Figures = {};
  for (const run of runs) {
    const schema = testSchema(url);
    await schema.create();
    try {
      Object.assign(figures, await run(schema.schemaUrl));
    } finally {
      await schema.drop();
    }
  }
  return figures;
}
