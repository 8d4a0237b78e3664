import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir, agent, worker } from '../helpers.js';
import { spawnServer, cli, api } from '../e2e.js';

test('SIGKILL while clients append: every acknowledged receipt survives and the chain verifies', async () => {
  const tmp = tempDir();
  try {
    const server = await spawnServer(tmp.dir);
    const key = server.adminKey!;
    const acked = new Set<string>();
    let stop = false;
    let failures = 0;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await api(server.url, key, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: { c, i } });
          if (r.status === 201) acked.add(r.json.receipt.receipt_id);
        } catch {
          failures++; // the connection died with the server: not acknowledged, so no promise was made
          return;
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, c) => client(c));
    while (acked.size < 500) await new Promise((r) => setTimeout(r, 20));
    await server.kill('SIGKILL');
    stop = true;
    await Promise.all(clients);
    assert.ok(acked.size >= 500);

    const restarted = await spawnServer(tmp.dir);
    try {
      assert.equal(restarted.adminKey, undefined, 'no new tenant on restart');
      for (const id of acked) {
        const r = await api(restarted.url, key, 'GET', `/v1/receipts/${id}`);
        assert.equal(r.status, 200, `acknowledged receipt ${id} is there after the kill`);
      }
      assert.equal((await api(restarted.url, key, 'GET', '/v1/ledger/verify')).json.ok, true);
    } finally {
      await restarted.kill();
    }
    const v = await cli(['verify', '--data', tmp.dir]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  } finally {
    tmp.cleanup();
  }
});
