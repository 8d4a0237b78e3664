/**
 * A database for store-level contract tests, on either backend: open any number of Store instances on it (two
 * "servers"), run raw SQL against it (to tamper or to inspect), and remove it.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { SqliteStore, SQLITE_FILE_NAME } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/types.js';
import { tempDir, type Backend } from '../helpers.js';
import { testSchema } from '../pg.js';

export interface Backing {
  backend: Backend;
  open(options?: { groupCommitMaxOps?: number }): Promise<Store>;
  /** Runs one SQL statement (placeholders: `?` on SQLite, `$1` on PostgreSQL) and returns the rows it read, if any. */
  exec(sql: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export function backing(backend: Backend): Backing {
  if (backend === 'postgres') {
    const s = testSchema();
    return {
      backend,
      open: (options = {}) => s.open(options),
      exec: async (sql, values) => (await s.exec(sql, values)).rows as Record<string, unknown>[],
      cleanup: () => s.drop(),
    };
  }
  const tmp = tempDir('quittance-store-');
  return {
    backend,
    open: async (options = {}) => new SqliteStore({ dataDir: tmp.dir, ...options }),
    exec: async (sql, values = []) => {
      const db = new Database(join(tmp.dir, SQLITE_FILE_NAME));
      try {
        const stmt = db.prepare(sql);
        if (stmt.reader) return stmt.all(...values) as Record<string, unknown>[];
        stmt.run(...values);
        return [];
      } finally {
        db.close();
      }
    },
    cleanup: async () => tmp.cleanup(),
  };
}

/** `$1, $2` placeholders as the backend wants them. */
export function placeholders(backend: Backend, sql: string): string {
  return backend === 'postgres' ? sql : sql.replace(/\$\d+/g, '?');
}
