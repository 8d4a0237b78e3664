import type { Database } from 'better-sqlite3';
import { QuittanceError } from '../../errors.js';
import { loadMigrations } from '../migrations.js';

/**
 * Applies pending migrations, each in its own transaction that records its version first (so two processes
 * starting together cannot both apply it: the second one's insert fails and it re-reads). Refuses to run
 * against a schema newer than this code knows. Returns the newest version this code knows.
 */
export function migrateSqlite(db: Database): number {
  const migrations = loadMigrations('sqlite');
  const known = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const current = () => (db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const have = current();
  if (have > known) throw new QuittanceError('QUITTANCE_ERR_SCHEMA_TOO_NEW', [have, known]);
  for (const m of migrations) {
    if (m.version <= have) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      if (current() >= m.version) {
        db.exec('ROLLBACK');
        continue;
      }
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      db.exec(m.sql);
      db.exec('COMMIT');
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw e;
    }
  }
  return known;
}
