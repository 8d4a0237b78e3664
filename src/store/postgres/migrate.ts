import type { Pool, PoolClient } from 'pg';
import { QuittanceError } from '../../errors.js';
import { loadMigrations } from '../migrations.js';
import { quoteIdentifier } from './rows.js';

/**
 * Applies pending migrations, each in its own transaction that records its version first. Several servers
 * starting together on one database take turns on a session advisory lock (keyed by schema), so exactly one of
 * them applies each migration and the others find it done. Refuses to run against a schema newer than this code
 * knows. Returns the newest version this code knows.
 */
export async function migratePostgres(pool: Pool, schema: string | undefined): Promise<number> {
  const migrations = loadMigrations('postgres');
  const known = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  const client = await pool.connect();
  let broken: unknown;
  // As for a write batch (PostgresStore.transaction): the pool hears 'error' only on idle clients, and a connection
  // lost while migrations hold it would otherwise end the process instead of failing the start.
  const onError = (e: Error) => (broken ??= e);
  client.on('error', onError);
  try {
    const lockKey = `quittance.migrate:${schema ?? (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s}`;
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    try {
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)');
      const have = await currentVersion(client);
      if (have > known) throw new QuittanceError('QUITTANCE_ERR_SCHEMA_TOO_NEW', [have, known]);
      for (const m of migrations) {
        if (m.version <= have) continue;
        await client.query('BEGIN');
        try {
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
          // A parameterless query may hold several statements: the whole file runs in this transaction.
          await client.query(m.sql);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw e;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch((e: unknown) => (broken = e));
    }
  } finally {
    // A connection whose unlock failed may still hold the lock (or that broke): destroy it rather than pool it.
    client.removeListener('error', onError);
    client.release(broken instanceof Error ? broken : undefined);
  }
  return known;
}

export async function currentVersion(client: Pool | PoolClient): Promise<number> {
  const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return r.rows[0]?.v ?? 0;
}
