import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { WalCheckpointer } from '../../src/store/sqlite/checkpointer.js';
import { createServices } from '../../src/server/index.js';
import { tempDir } from '../helpers.js';
import { api, spawnServer } from '../e2e.js';

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('SQLite: the WAL is checkpointed off the event loop', () => {
  test('a thread of the store checkpoints what commits wrote, long before the writer would', async () => {
    const tmp = tempDir();
    const store = openSqliteStore({ dataDir: tmp.dir, checkpointIntervalMs: 50 });
    const s = createServices({ store });
    try {
      const db = join(tmp.dir, 'quittance.db');
      const tenant = (await s.tenants.createTenant('t')).tenant_id;
      const before = statSync(db).size;
      // A few hundred pages of WAL: far below the 10,000 after which a commit would checkpoint them itself.
      for (let i = 0; i < 20; i++) {
        await s.ledger.appendBatch(tenant, Array.from({ length: 20 }, (_, j) => ({
          type: 'task.assigned', from: { kind: 'agent', id: 'a' }, to: { kind: 'worker', id: `w${j}` }, task_id: `t-${i}-${j}`, body: { goal: 'x'.repeat(400) },
        })));
      }
      // The pages reach the database file only through a checkpoint.
      const checkpointer = store.checkpointer;
      assert.ok(checkpointer);
      await until('the database file to grow', () => statSync(db).size > before);
      await until('the thread to report a checkpoint that copied frames', () => checkpointer.checkpoints > 0 && checkpointer.walFramesCheckpointed > 0);
    } finally {
      await store.close();
    }
    // close() stopped the thread (and closed its connection) before the writer's: the last connection to close
    // checkpoints everything and removes the WAL, as without the thread.
    assert.equal(existsSync(join(tmp.dir, 'quittance.db-wal')), false);
    tmp.cleanup();
  });

  test('`quittance serve` runs the thread: its WAL reaches the database within seconds, far below 10,000 pages', async () => {
    const tmp = tempDir();
    const server = await spawnServer(tmp.dir);
    try {
      const db = join(tmp.dir, 'quittance.db');
      const before = statSync(db).size;
      const receipts = Array.from({ length: 100 }, (_, j) => ({
        type: 'task.assigned', from: { kind: 'agent', id: 'a' }, to: { kind: 'worker', id: `w${j}` }, task_id: `t-${j}`, body: { goal: 'x'.repeat(400) },
      }));
      assert.equal((await api(server.url, server.adminKey!, 'POST', '/v1/receipts/batch', { receipts })).status, 200);
      await until('the database file to grow', () => statSync(db).size > before);
    } finally {
      await server.kill();
      tmp.cleanup();
    }
  });

  test('no thread when checkpoints are off (walAutocheckpointPages: 0) or left to commits (the default)', async () => {
    const tmp = tempDir();
    for (const options of [{ checkpointIntervalMs: 50, walAutocheckpointPages: 0 }, { checkpointIntervalMs: 0 }, {}]) {
      const store = openSqliteStore({ dataDir: tmp.dir, ...options });
      assert.equal(store.checkpointer, undefined);
      await store.close();
    }
    tmp.cleanup();
  });

  test('a thread that cannot run reports that it stopped, and closing it afterwards does not wait', async () => {
    const tmp = tempDir();
    let reported: (e: Error) => void = () => undefined;
    const stopped = new Promise<Error>((resolve) => (reported = resolve));
    const c = new WalCheckpointer(join(tmp.dir, 'missing.db'), 50, (e) => reported(e));
    // The thread never keeps a process alive (a server's sockets do); this test holds it open while it waits.
    const alive = setInterval(() => undefined, 1000);
    const error = await stopped.finally(() => clearInterval(alive));
    assert.ok(error instanceof Error);
    assert.match(error.message, /SQLITE_CANTOPEN/);
    await c.close(); // the thread is gone already: nothing to wait for
    tmp.cleanup();
  });

  test('a store whose thread stops checkpoints in its commits again, says so once, and still closes cleanly', async () => {
    const tmp = tempDir();
    const store = openSqliteStore({ dataDir: tmp.dir, checkpointIntervalMs: 50 });
    // White box: nothing outside the store can stop its thread or read its writer's settings.
    const writer = store['writer'];
    const threshold = () => writer.pragma('wal_autocheckpoint', { simple: true });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      assert.equal(threshold(), 100_000, 'while the thread runs, the writer keeps only a safety net');
      await store.checkpointer!['worker'].terminate();
      await until('the warning', () => warnings.length > 0);
      assert.equal(threshold(), 10_000);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /the WAL checkpoint thread stopped \(the checkpoint thread exited\); commits checkpoint the WAL again/);
      const s = createServices({ store });
      const tenant = (await s.tenants.createTenant('t')).tenant_id;
      await s.ledger.append(tenant, { type: 'task.assigned', from: { kind: 'agent', id: 'a' }, to: { kind: 'worker', id: 'w' }, task_id: 't-1', body: {} });
    } finally {
      await store.close();
      process.off('warning', onWarning);
    }
    assert.equal(existsSync(join(tmp.dir, 'quittance.db-wal')), false);
    tmp.cleanup();
  });
});
