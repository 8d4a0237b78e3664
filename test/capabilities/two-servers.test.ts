import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { BACKENDS, tempDir, type Backend } from '../helpers.js';
import { testSchema } from '../pg.js';
import { ManualClock } from '../../src/clock.js';
import { buildApp, createServices, type Services } from '../../src/server/index.js';
import type { Store } from '../../src/store/types.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { CAP, DECISION, startBody } from './support.js';

/**
 * Two Quittance servers on one database, each with its own connections and group committer, as two processes
 * would be: a revocation through one holds for the very next action through the other. A cached session state
 * would fail this; the check reads the stored row inside the write transaction.
 */
async function twoServers(backend: Backend): Promise<{ apps: FastifyInstance[]; services: Services[]; key: string; close(): Promise<void> }> {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  let stores: Store[];
  let cleanup: () => Promise<void>;
  if (backend === 'postgres') {
    const schema = testSchema();
    // The PostgreSQL store implements Store; the cast only bridges the concrete class to the interface.
    stores = [(await schema.open()) as unknown as Store, (await schema.open()) as unknown as Store];
    cleanup = () => schema.drop();
  } else {
    const tmp = tempDir();
    stores = [openSqliteStore({ dataDir: tmp.dir }), openSqliteStore({ dataDir: tmp.dir })];
    cleanup = async () => tmp.cleanup();
  }
  const services = stores.map((store) => createServices({ store, clock }));
  const apps = await Promise.all(services.map((s) => buildApp(s)));
  const tenant = await services[0]!.tenants.createTenant('two-servers');
  const key = (await services[0]!.tenants.createKey(tenant.tenant_id, ['admin'])).api_key;
  return {
    apps, services, key,
    async close() {
      for (const app of apps) await app.close();
      for (const s of services) await s.store.close();
      await cleanup();
    },
  };
}

for (const backend of BACKENDS) {
  describe(`[${backend}] two servers, one database`, () => {
    let env: Awaited<ReturnType<typeof twoServers>>;
    before(async () => {
      env = await twoServers(backend);
    });
    after(async () => env.close());

    const req = async (server: number, method: string, url: string, body?: unknown) => {
      const res = await env.apps[server]!.inject({
        method: method as 'POST', url,
        headers: { authorization: `Bearer ${env.key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { payload: JSON.stringify(body) }),
      });
      return { status: res.statusCode, json: JSON.parse(res.body) };
    };

    test('negotiated on one server, enabled on the other; revoked on one, the next action on the other is denied', async () => {
      assert.equal((await req(0, 'POST', '/v1/capabilities', { capabilityRef: CAP, declaredBy: ['config', 'ui'], requiredPlanes: ['runtime', 'server'] })).status, 201);
      const cap = `/v1/capabilities/${encodeURIComponent(CAP)}`;
      await req(1, 'POST', `${cap}/planes/runtime`, { status: 'supported', evidenceRefs: [] });
      await req(0, 'POST', `${cap}/planes/server`, { status: 'supported', evidenceRefs: [] });
      const enabled = await req(1, 'POST', `${cap}/planes/policy`, { status: 'supported', evidenceRefs: [], policyDecisionRef: DECISION });
      assert.equal(enabled.json.capability.effectiveState, 'enabled');
      assert.equal((await req(0, 'GET', cap)).json.capability.effectiveState, 'enabled');

      const started = await req(0, 'POST', '/v1/automation/sessions', startBody());
      assert.equal(started.status, 201);
      const id = started.json.session.automationId;
      const path = `/v1/automation/sessions/${id}`;
      assert.equal((await req(1, 'POST', `${path}/actions`, { action: 'click' })).status, 201);

      // Actions keep flowing through server 1 while server 0 revokes: nothing executes after the revocation.
      const actions = Array.from({ length: 100 }, (_, i) => req(1, 'POST', `${path}/actions`, { action: i % 2 ? 'click' : 'read_page' }));
      const revoked = await req(0, 'POST', `${path}/revoke`, { revokedBy: 'alice' });
      assert.equal(revoked.status, 200);
      const next = await req(1, 'POST', `${path}/actions`, { action: 'click' });
      assert.equal(next.status, 403);
      assert.equal(next.json.reason, 'revoked');
      assert.equal(next.json.anomaly.body.kind, 'action_after_revocation');
      for (const a of await Promise.all(actions)) {
        if (a.status === 201) assert.ok(a.json.receipt.seq < revoked.json.receipt.seq);
        else assert.equal(a.json.reason, 'revoked');
      }
      const listed = await req(1, 'GET', '/v1/automation/sessions?state=active');
      assert.ok(!listed.json.sessions.some((s: any) => s.automationId === id));
    });
  });
}
