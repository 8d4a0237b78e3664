/**
 * PostgreSQL test support: every store gets a schema of its own in the database at QUITTANCE_TEST_PG_URL, so test
 * files running in parallel cannot see each other's rows, and the schema is dropped when the store closes.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { PostgresStore, openPostgresStore } from '../src/store/postgres/index.js';
import type { Store } from '../src/store/types.js';

export const TEST_PG_URL = process.env['QUITTANCE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty schema: open any number of stores (servers) on it; `drop` removes it and everything in it. */
export interface TestSchema {
  url: string;
  schema: string;
  /** A connection string that selects this schema by itself (libpq `options`): for `--db` and spawned servers. */
  schemaUrl: string;
  /** Creates the (empty) schema; stores create it themselves, a server given only schemaUrl needs it first. */
  create(): Promise<void>;
  open(options?: { groupCommitMaxOps?: number; poolMax?: number }): Promise<PostgresStore>;
  /** Runs SQL with this schema first on the search_path (to tamper with rows, or to inspect them). */
  exec(sql: string, values?: unknown[]): Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

let swept = false;

/** Schemas left behind by test processes that died before dropping them (the pid is in the name). */
async function dropStaleSchemas(c: pg.Client): Promise<void> {
  if (swept) return;
  swept = true;
  const { rows } = await c.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname ~ '^qt_[0-9]+_[0-9a-f]+$'");
  for (const { nspname } of rows) {
    const pid = Number(nspname.split('_')[1]);
    if (pid === process.pid || alive(pid)) continue;
    await c.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

export function testSchema(url = TEST_PG_URL): TestSchema {
  const schema = `qt_${process.pid}_${randomBytes(5).toString('hex')}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    url,
    schema,
    schemaUrl: `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    create: () => admin(async (c) => {
      await dropStaleSchemas(c);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    }),
    open: async (options = {}) => {
      if (!swept) await admin(dropStaleSchemas);
      return openPostgresStore({ connectionString: url, schema, ...options });
    },
    exec: (sql, values) => admin((c) => c.query(sql, values)),
    drop: () => admin((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).then(() => undefined),
  };
}

/** One store on a fresh schema, which is dropped when the store closes. */
export async function openTestPostgresStore(): Promise<Store> {
  const s = testSchema();
  const store = await s.open();
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await s.drop();
  };
  return store;
}
