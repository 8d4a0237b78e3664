import assert from 'node:assert/strict';
import { createServices } from '../src/server/index.js';
import { api } from '../test/e2e.js';
import { load, spawnServer, tempDir, round, type Figures } from './lib.js';

const REF = 'urn:srcos:capability:bench-automation@1.0.0';
const DECISION = 'urn:srcos:decision:bench-allow';

/** Reports before measuring: they warm up the JIT, the statement caches and the page cache. */
const WARMUP = 500;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * In process: a plane report that flips the effective state (server supported ↔ unsupported). "Visible": from the
 * call until a read of the stored capability (the reader connection, as GET /v1/capabilities/{ref} uses) shows the
 * new state, polled on every turn of the event loop. "Acknowledged": until the report resolves, which it does only
 * once the write is durable (fsync included).
 */
async function reportToVisible(n: number): Promise<Figures> {
  const tmp = tempDir('quittance-bench-');
  const s = createServices({ dataDir: tmp.dir });
  try {
    const tenant = await s.tenants.createTenant('bench');
    const t = tenant.tenant_id;
    await s.capabilities.declare(t, { capabilityRef: REF, declaredBy: ['config', 'ui'], requiredPlanes: ['runtime', 'server'] });
    await s.capabilities.reportPlane(t, REF, 'runtime', { status: 'supported', evidenceRefs: [] });
    await s.capabilities.reportPlane(t, REF, 'policy', { status: 'supported', evidenceRefs: [], policyDecisionRef: DECISION });
    const visible: number[] = [];
    const acked: number[] = [];
    const since = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
    for (let i = 0; i < n + WARMUP; i++) {
      const expected = i % 2 === 0 ? 'enabled' : 'unsupported_by_server';
      const t0 = process.hrtime.bigint();
      const ack = s.capabilities.reportPlane(t, REF, 'server', { status: i % 2 === 0 ? 'supported' : 'unsupported', evidenceRefs: [] });
      while ((await s.store.capabilities.capability(t, REF))?.effective_state !== expected) await new Promise((r) => setImmediate(r));
      const v = since(t0);
      assert.equal((await ack).capability.effective_state, expected);
      const a = since(t0);
      if (i >= WARMUP) (visible.push(v), acked.push(a));
    }
    visible.sort((a, b) => a - b);
    acked.sort((a, b) => a - b);
    return {
      'plane report → new state visible, in process: p50 (ms)': round(percentile(visible, 50), 3),
      'plane report → new state visible, in process: p99 (ms)': round(percentile(visible, 99), 3),
      'plane report → acknowledged (durable): p50 (ms)': round(percentile(acked, 50), 3),
      'plane report → acknowledged (durable): p99 (ms)': round(percentile(acked, 99), 3),
      'state changes measured': visible.length,
    };
  } finally {
    await s.store.close();
    tmp.cleanup();
  }
}

/** Over HTTP against `quittance serve` in its own process: automation actions recorded per second in one session. */
async function actionsPerSecond(seconds: number): Promise<Figures> {
  const tmp = tempDir('quittance-bench-');
  const server = await spawnServer(tmp.dir);
  try {
    const key = server.adminKey!;
    const cap = `/v1/capabilities/${encodeURIComponent(REF)}`;
    assert.equal((await api(server.url, key, 'POST', '/v1/capabilities', { capabilityRef: REF, declaredBy: ['ui'], requiredPlanes: ['runtime'] })).status, 201);
    await api(server.url, key, 'POST', `${cap}/planes/runtime`, { status: 'supported', evidenceRefs: [] });
    await api(server.url, key, 'POST', `${cap}/planes/policy`, { status: 'supported', evidenceRefs: [], policyDecisionRef: DECISION });
    const started = await api(server.url, key, 'POST', '/v1/automation/sessions', {
      sessionRef: 'urn:srcos:session:bench', ownerRef: 'urn:srcos:agent:bench', capabilityRef: REF, transport: 'cdp',
      permissionScope: ['click', 'read_page', 'enter_text'], origin: 'local',
    });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    const path = `/v1/automation/sessions/${started.json.session.automationId}/actions`;
    const actions = ['click', 'read_page', 'enter_text'];
    await load({ url: server.url, key, path, connections: 32, seconds: 2, body: (i) => ({ action: actions[i % 3] }) });
    const r = await load({ url: server.url, key, path, connections: 32, seconds, body: (i) => ({ action: actions[i % 3] }) });
    const view = await api(server.url, key, 'GET', `/v1/automation/sessions/${started.json.session.automationId}`);
    return {
      'automation actions recorded, 32 clients (actions/s)': round(r.requestsPerSec, 0),
      'automation action p99 (ms)': r.p99,
      'automation action non-2xx': r.non2xx + r.errors,
      'executed actions in the ledger (warm-up included)': view.json.session.actions.executed,
    };
  } finally {
    await server.kill();
    tmp.cleanup();
  }
}

/** Capability negotiation and browser automation figures (DESIGN §8 targets: ≤ 2 ms p99, ≥ 5,000 actions/s). */
export async function benchCapabilities(seconds = 10): Promise<Figures> {
  return { ...(await reportToVisible(4000)), ...(await actionsPerSecond(seconds)) };
}
