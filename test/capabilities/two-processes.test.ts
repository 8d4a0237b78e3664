/**
 * Revocation across two server PROCESSES on one PostgreSQL (issue 6): revoked through one `quittance serve`, the
 * very next action through the other is denied. Nothing is shared between the two but the database.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testSchema } from '../pg.js';
import { spawnServer, api } from '../e2e.js';
import { CAP, DECISION, startBody } from './support.js';

const skip = process.env['QUITTANCE_TEST_PG'] === '1' ? false : 'PostgreSQL is not reachable (see the note npm test printed first)';

describe('two quittance serve processes on one PostgreSQL', { skip }, () => {
  test('revoked through one process, the next action through the other is denied', async () => {
    const s = testSchema();
    await s.create();
    const servers = await Promise.all([spawnServer(s.schemaUrl), spawnServer(s.schemaUrl)]);
    try {
      const key = (servers[0]!.adminKey ?? servers[1]!.adminKey)!;
      const [a, b] = servers.map((srv) => (method: string, path: string, body?: unknown) => api(srv.url, key, method, path, body));
      const cap = `/v1/capabilities/${encodeURIComponent(CAP)}`;
      assert.equal((await a!('POST', '/v1/capabilities', { capabilityRef: CAP, declaredBy: ['config', 'ui'], requiredPlanes: ['runtime', 'server'] })).status, 201);
      await b!('POST', `${cap}/planes/runtime`, { status: 'supported', evidenceRefs: [] });
      await a!('POST', `${cap}/planes/server`, { status: 'supported', evidenceRefs: [] });
      const enabled = await b!('POST', `${cap}/planes/policy`, { status: 'supported', evidenceRefs: [], policyDecisionRef: DECISION });
      assert.equal(enabled.json.capability.effectiveState, 'enabled');

      const started = await a!('POST', '/v1/automation/sessions', startBody());
      assert.equal(started.status, 201);
      const path = `/v1/automation/sessions/${started.json.session.automationId}`;
      assert.equal((await b!('POST', `${path}/actions`, { action: 'click' })).status, 201);

      // Actions stream through process B while process A revokes.
      const inFlight = Array.from({ length: 60 }, (_, i) => b!('POST', `${path}/actions`, { action: i % 2 ? 'click' : 'read_page' }));
      const revoked = await a!('POST', `${path}/revoke`, { revokedBy: 'alice' });
      assert.equal(revoked.status, 200);
      const next = await b!('POST', `${path}/actions`, { action: 'click' });
      assert.equal(next.status, 403);
      assert.equal(next.json.reason, 'revoked');
      assert.equal(next.json.anomaly.body.kind, 'action_after_revocation');
      for (const r of await Promise.all(inFlight)) {
        if (r.status === 201) assert.ok(r.json.receipt.seq < revoked.json.receipt.seq, 'an action executed after the revocation');
        else assert.equal(r.json.reason, 'revoked');
      }
      const active = await b!('GET', '/v1/automation/sessions?state=active');
      assert.ok(!active.json.sessions.some((x: { automationId: string }) => x.automationId === started.json.session.automationId));
    } finally {
      await Promise.all(servers.map((x) => x.kill()));
      await s.drop();
    }
  });
});
