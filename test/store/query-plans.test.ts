/**
 * Reads that must not scan a whole table find an index in the schema as migrated. Each test asks the database
 * for the plan of the store's own query shape; a dropped or reordered index fails it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { BACKENDS } from '../helpers.js';
import { testSchema } from '../pg.js';
import { backing } from './backing.js';

/** The plan of `sql` as text, one line per step. On PostgreSQL sequential and bitmap scans are priced out, as on a big table. */
async function plan(backend: (typeof BACKENDS)[number], sql: string, values: unknown[]): Promise<{ text: string; cleanup(): Promise<void> }> {
  if (backend === 'postgres') {
    const s = testSchema();
    const store = await s.open();
    await store.close();
    const c = new pg.Client({ connectionString: s.schemaUrl });
    await c.connect();
    try {
      await c.query('SET enable_seqscan = off; SET enable_bitmapscan = off');
      const r = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, values);
      return { text: r.rows.map((x) => x['QUERY PLAN']).join('\n'), cleanup: () => s.drop() };
    } finally {
      await c.end();
    }
  }
  const b = backing(backend);
  const store = await b.open();
  await store.close();
  const rows = await b.exec(`EXPLAIN QUERY PLAN ${sql.replace(/\$\d+/g, '?').replace(/ COLLATE "C"/g, '')}`, values);
  return { text: rows.map((r) => String(r['detail'])).join('\n'), cleanup: () => b.cleanup() };
}

for (const backend of BACKENDS) {
  test(`${backend}: a tenant's API keys are listed through api_keys_tenant, in index order (no scan of every key, no sort)`, async () => {
    const p = await plan(backend, 'SELECT key_id, scopes FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, key_id COLLATE "C"', ['tnt_x']);
    try {
      assert.match(p.text, /api_keys_tenant/, p.text);
      assert.doesNotMatch(p.text, /TEMP B-TREE|Sort/, p.text);
    } finally {
      await p.cleanup();
    }
  });
}
