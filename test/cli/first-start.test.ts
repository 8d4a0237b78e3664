/**
 * The first `quittance serve` creates tenant "default" and its admin key in two writes. A start that stopped between
 * them (killed, or the database gone at that moment) left a tenant no key opens: every later start found a tenant,
 * printed no key, and the user had a default tenant whose admin key they never saw. A later start now makes that
 * key and prints it, once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agent, tempDir, worker, BACKENDS } from '../helpers.js';
import { api, spawnServer } from '../e2e.js';
import { testSchema } from '../pg.js';
import { createServices } from '../../src/server/index.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] a first start that stopped after creating tenant "default"`, () => {
    test('the next start gives it an admin key and prints it; the start after that prints none', async () => {
      const tmp = tempDir('hunt-2-first-');
      const schema = backend === 'postgres' ? testSchema() : undefined;
      await schema?.create();
      const where = schema ? schema.schemaUrl : tmp.dir;
      try {
        const services = createServices(schema ? { databaseUrl: schema.schemaUrl } : { dataDir: tmp.dir });
        try {
          await services.tenants.createTenant('default'); // the first start's first write, and no key after it
        } finally {
          await services.store.close();
        }
        const second = await spawnServer(where);
        try {
          assert.ok(second.adminKey, `a start prints the key of a default tenant that has none:\n${second.output()}`);
          assert.match(second.output(), /Tenant "default" had no API key/);
          const r = await api(second.url, second.adminKey!, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker });
          assert.equal(r.status, 201);
        } finally {
          await second.kill();
        }
        const third = await spawnServer(where);
        try {
          assert.equal(third.adminKey, undefined, `a key is printed once:\n${third.output()}`);
        } finally {
          await third.kill();
        }
      } finally {
        await schema?.drop();
        tmp.cleanup();
      }
    });
  });
}
