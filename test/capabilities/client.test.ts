import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { QuittanceClient, QuittanceClientError, type StartAutomation } from '../../src/client/index.js';
import { createServices, startServer, type RunningServer } from '../../src/server/index.js';
import { freePort, tempDir } from '../helpers.js';
import { DECISION } from './support.js';

/** The client SDK against a real server on a free port, as a user's program would use it. */
describe('client: capabilities and browser automation over real HTTP', () => {
  const tmp = tempDir();
  let server: RunningServer;
  let client: QuittanceClient;
  before(async () => {
    const services = createServices({ dataDir: tmp.dir });
    const tenant = await services.tenants.createTenant('client');
    const key = (await services.tenants.createKey(tenant.tenant_id, ['read', 'write'])).api_key;
    server = await startServer({ services, port: await freePort() });
    client = new QuittanceClient({ url: server.url, key });
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  const ref = 'urn:srcos:capability:client-automation@1.0.0';

  test('negotiate, catch a split-brain, automate, revoke, and see the next action denied', async () => {
    const declared = await client.declareCapability({ capabilityRef: ref, declaredBy: ['config', 'ui'], requiredPlanes: ['runtime', 'server'] });
    assert.equal(declared.capability.effectiveState, 'declared');
    await client.reportPlane(ref, 'runtime', { status: 'supported', evidenceRefs: [] });
    const refused = await client.reportPlane(ref, 'server', { status: 'unsupported', evidenceRefs: [], reason: 'old API' });
    assert.equal(refused.changed, true);
    assert.equal(refused.capability.effectiveState, 'unsupported_by_server');
    const claim = await client.observeCapability(ref, 'ui', 'enabled');
    assert.equal(claim.splitBrain, true);
    assert.equal(claim.anomaly?.body['kind'], 'capability_split_brain');

    const start: StartAutomation = { sessionRef: 'urn:srcos:session:client-1', ownerRef: 'urn:srcos:agent:client', capabilityRef: ref, transport: 'extension', permissionScope: ['read_page'], origin: 'local' };
    const denied = await client.startAutomation(start).then(() => undefined, (e: unknown) => e);
    assert.ok(denied instanceof QuittanceClientError);
    assert.equal(denied.statusCode, 403);
    assert.equal(denied.code, 'QUITTANCE_ERR_AUTOMATION_START_DENIED');
    assert.equal((denied.body as any).session.terminalState, 'denied');

    await client.reportPlane(ref, 'server', { status: 'supported', evidenceRefs: [] });
    await client.reportPlane(ref, 'policy', { status: 'supported', evidenceRefs: [], policyDecisionRef: DECISION });
    const matrix = await client.capabilities({ state: 'enabled' });
    assert.deepEqual(matrix.capabilities.map((c) => c.capabilityRef), [ref]);
    const history = await client.capability(ref, { limit: 2 });
    assert.equal(history.history.length, 2);
    assert.ok(history.cursor);

    const { session } = await client.startAutomation(start);
    assert.equal(session.terminalState, 'active');
    assert.deepEqual((await client.automationSessions({ state: 'active' })).sessions.map((s) => s.automationId), [session.automationId]);
    assert.equal((await client.automationAction(session.automationId, 'read_page')).outcome, 'executed');
    const revoked = await client.revokeAutomation(session.automationId, { revokedBy: 'alice' });
    assert.equal(revoked.session.terminalState, 'revoked');
    const next = await client.automationAction(session.automationId, 'read_page').then(() => undefined, (e: unknown) => e);
    assert.ok(next instanceof QuittanceClientError);
    assert.equal(next.code, 'QUITTANCE_ERR_AUTOMATION_ACTION_DENIED');
    assert.equal((next.body as any).reason, 'revoked');
    assert.equal((next.body as any).anomaly.body.kind, 'action_after_revocation');
    assert.deepEqual((await client.automationSession(session.automationId)).actions, { executed: 1, denied: 1 });

    const other = await client.startAutomation({ ...start, sessionRef: 'urn:srcos:session:client-2' });
    assert.equal((await client.completeAutomation(other.session.automationId, 'done')).session.terminalState, 'completed');
    const third = await client.startAutomation({ ...start, sessionRef: 'urn:srcos:session:client-3' });
    assert.equal((await client.failAutomation(third.session.automationId, 'tab crashed')).session.terminalState, 'failed');
  });
});
