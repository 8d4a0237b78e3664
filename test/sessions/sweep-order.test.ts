/**
 * The orphan sweep takes tenants in the one global order every cross-tenant sweep uses (ascending tenant id), not
 * in expiry order: otherwise two servers' sweeps, or a sweep and a lease sweep, can each hold a tenant the other
 * waits for. PostgreSQL only: SQLite has one writer, so there is nothing to take in an order.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ManualClock } from '../../src/clock.js';
import { createServices } from '../../src/server/index.js';
import { testSchema } from '../pg.js';

const skip = process.env['QUITTANCE_TEST_PG'] === '1' ? false : 'PostgreSQL is not reachable (see the note npm test printed first)';

describe('[postgres] orphan sweep lock order', { skip }, () => {
  test('tenants are locked in ascending order even when the higher tenant\'s orphan expired first', async () => {
    const s = testSchema();
    const store = await s.open();
    const clock = new ManualClock('2026-03-01T12:00:00.000Z');
    const services = createServices({ store, clock, config: { sessions: { orphanTtlSeconds: 60 } } });
    // Another server's write in the global order: it holds the lower tenant and will want the higher one next.
    const other = new pg.Client({ connectionString: s.url, options: `-c search_path=${s.schema}` });
    await other.connect();
    try {
      const ids = [(await services.tenants.createTenant('one')).tenant_id, (await services.tenants.createTenant('two')).tenant_id].sort();
      const [lower, higher] = ids as [string, string];
      const by = { kind: 'agent', id: 'emitter' } as const;
      // The higher tenant's orphan expires first, so expiry order is the reverse of tenant order.
      const first = await services.sessions.ingest(higher, [{ event_id: 'e-higher', event_class: 'unknown', session_id: 'nobody' }], by);
      clock.advance(1000);
      const second = await services.sessions.ingest(lower, [{ event_id: 'e-lower', event_class: 'unknown', session_id: 'nobody' }], by);
      assert.deepEqual([first[0]!.ok, second[0]!.ok], [true, true]);
      clock.advance(60_000);
      const due = await store.sessions.dueOrphans(clock.now(), 10);
      assert.deepEqual(due.map((d) => d.tenant_id), [higher, lower], 'precondition: expiry order is the reverse of tenant order');

      await other.query('BEGIN');
      await other.query('SELECT 1 FROM chain_heads WHERE tenant_id = $1 FOR UPDATE', [lower]);
      const sweep = services.sessions.sweepOrphans();
      // Wait until the sweep is blocked behind `other`...
      const otherPid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await s.exec('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [otherPid]);
        if (rows[0].n > 0) break;
        assert.ok(Date.now() < deadline, 'the sweep never waited for the lower tenant');
        await new Promise((r) => setTimeout(r, 20));
      }
      // ...holding nothing: the higher tenant is free for `other`. In expiry order the sweep would hold it while it
      // waits for the lower one, and `other` taking it next would close a cycle (here: NOWAIT fails).
      await other.query('SELECT 1 FROM chain_heads WHERE tenant_id = $1 FOR UPDATE NOWAIT', [higher]);
      await other.query('COMMIT');

      assert.equal(await sweep, 2);
      for (const t of ids) {
        const rows = await store.sessions.orphans(t, { state: 'quarantined', after_seq: 0, limit: 10 });
        assert.equal(rows.length, 1);
      }
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end();
      await store.close();
      await s.drop();
    }
  });
});
