/**
 * SQL on a harness's database behind the store's back, on either backend: to damage a row the way a bug, a crash
 * or a person with database access could, and see what the ledger makes of it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Backend, Harness } from './helpers.js';
import { SQLITE_FILE_NAME } from '../src/store/sqlite/index.js';
import { TEST_PG_URL } from './pg.js';

/** Runs one statement (`$1` placeholders on both backends) and checks it changed exactly `changes` rows. */
export async function rawSql(h: Harness, backend: Backend, sql: string, values: unknown[], changes = 1): Promise<void> {
  if (backend === 'sqlite') {
    const db = new Database(join(h.dir, SQLITE_FILE_NAME));
    try {
      assert.equal(db.prepare(sql.replace(/\$\d+/g, '?')).run(...values).changes, changes, sql);
    } finally {
      db.close();
    }
    return;
  }
  const schema = (h.services.store as { schema?: string }).schema!;
  const c = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    assert.equal((await c.query(sql, values)).rowCount, changes, sql);
  } finally {
    await c.end();
  }
}
