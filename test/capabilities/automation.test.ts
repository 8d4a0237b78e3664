import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { CAP, DECISION, assertValidContracts, declareSeed, enabledCapability, receiptsOfType, report, startBody } from './support.js';

const sessionsPath = '/v1/automation/sessions';

for (const backend of BACKENDS) {
  describe(`[${backend}] browser automation sessions`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
      await enabledCapability(h);
    });
    after(async () => h.close());

    async function start(extra: Record<string, unknown> = {}) {
      const r = await h.req('POST', sessionsPath, startBody(extra));
      assert.equal(r.status, 201, JSON.stringify(r.json));
      return r.json;
    }
    const act = (id: string, action: string) => h.req('POST', `${sessionsPath}/${id}/actions`, { action });
    const openObligationIds = async () => (await h.req('GET', '/v1/obligations/open?limit=1000')).json.open_obligations.map((o: any) => o.receipt_id);

    test('a start on an enabled capability: a user-visible, revocable, active BrowserAutomationReceipt and an open automation.started', async () => {
      const started = await start();
      const s = started.session;
      assert.equal(s.terminalState, 'active');
      assert.equal(started.receipt.type, 'automation.started');
      assert.deepEqual(started.receipt.to, { kind: 'agent', id: 'urn:srcos:agent:browser-agent' });
      const doc = started.receipt.body.document;
      assert.equal(doc.terminalState, 'active');
      assert.equal(doc.userVisible, true);
      assert.equal(doc.revocable, true);
      assert.equal(doc.id, `urn:srcos:receipt:browser-automation:${s.automationId}`);
      assert.equal(doc.policyDecisionRef, DECISION);
      assert.deepEqual(doc.permissionScope, ['click', 'enter_text', 'read_page']);
      assert.deepEqual(doc.controlledScope, { windowRef: null, tabRef: 'tab-7', urlOrigin: 'https://example.com', workspaceRef: null });
      const cap = (await h.req('GET', `/v1/capabilities/${encodeURIComponent(CAP)}`)).json.capability;
      assert.equal(doc.capabilityLedgerRef, cap.record.id);
      assertValidContracts([doc], 'BrowserAutomationReceipt');
      assert.ok((await openObligationIds()).includes(started.receipt.receipt_id));

      const active = await h.req('GET', `${sessionsPath}?state=active`);
      assert.equal(active.status, 200);
      assert.ok(active.json.sessions.some((x: any) => x.automationId === s.automationId));

      // Repeating the same start (a retry) answers the same session; nothing new is written.
      const retry = await h.req('POST', sessionsPath, { ...startBody(), sessionRef: s.sessionRef });
      assert.equal(retry.status, 200);
      assert.equal(retry.json.session.automationId, s.automationId);
    });

    test('a start on a capability that is not enabled is denied: a denied receipt, recorded, opening no obligation', async () => {
      const ref = 'urn:srcos:capability:rejected-by-server@1.0.0';
      await declareSeed(h, ref);
      await report(h, 'runtime', 'supported', ref);
      await report(h, 'server', 'unsupported', ref);
      const before = await openObligationIds();
      const r = await h.req('POST', sessionsPath, startBody({ capabilityRef: ref }));
      assert.equal(r.status, 403);
      assert.equal(r.json.code, 'QUITTANCE_ERR_AUTOMATION_START_DENIED');
      assert.match(r.json.message, /unsupported_by_server, not enabled/);
      assert.equal(r.json.receipt.type, 'automation.action');
      assert.equal(r.json.receipt.body.outcome, 'denied');
      assert.equal(r.json.receipt.body.action, 'start');
      assert.equal(r.json.receipt.body.effective_state, 'unsupported_by_server');
      const doc = r.json.receipt.body.document;
      assert.equal(doc.terminalState, 'denied');
      assertValidContracts([doc], 'BrowserAutomationReceipt');
      assert.deepEqual(await openObligationIds(), before);
      assert.equal(r.json.session.terminalState, 'denied');
      const denied = await h.req('GET', `${sessionsPath}?state=denied`);
      assert.ok(denied.json.sessions.some((x: any) => x.automationId === r.json.session.automationId));
      const active = await h.req('GET', `${sessionsPath}?state=active`);
      assert.ok(!active.json.sessions.some((x: any) => x.automationId === r.json.session.automationId));
      // Actions in a session that never started are denied too.
      const a = await act(r.json.session.automationId, 'click');
      assert.equal(a.status, 403);
      assert.equal(a.json.reason, 'not_active');

      // Once the server supports it the same session may start.
      await report(h, 'server', 'supported', ref);
      await report(h, 'policy', 'supported', ref);
      const again = await h.req('POST', sessionsPath, { ...startBody({ capabilityRef: ref }), sessionRef: r.json.session.sessionRef });
      assert.equal(again.status, 201);
    });

    test('undeclared capability → 404, nothing recorded; one session has one owner', async () => {
      const count = await h.services.store.countReceipts(h.tenantId);
      const r = await h.req('POST', sessionsPath, startBody({ capabilityRef: 'urn:srcos:capability:nobody-declared@1' }));
      assert.equal(r.status, 404);
      assert.equal(r.json.code, 'QUITTANCE_ERR_CAPABILITY_NOT_FOUND');
      assert.equal(await h.services.store.countReceipts(h.tenantId), count);

      const first = await start();
      const thief = await h.req('POST', sessionsPath, { ...startBody({ ownerRef: 'urn:srcos:plugin:other' }), sessionRef: first.session.sessionRef });
      assert.equal(thief.status, 409);
      assert.equal(thief.json.code, 'QUITTANCE_ERR_AUTOMATION_SESSION_OWNER');
      const wider = await h.req('POST', sessionsPath, { ...startBody({ permissionScope: ['read_page', 'submit_form'] }), sessionRef: first.session.sessionRef });
      assert.equal(wider.status, 409);
      assert.equal(wider.json.code, 'QUITTANCE_ERR_AUTOMATION_SESSION_EXISTS');
    });

    test('a start repeated with another policy decision or other evidence is refused (409), not answered as the stored session', async () => {
      const evidence = ['sha256:' + 'c'.repeat(64), 'urn:srcos:evidence:e-1'];
      const body = startBody({ policyDecisionRef: 'urn:srcos:decision:session-a', evidenceRefs: evidence });
      assert.equal((await h.req('POST', sessionsPath, body)).status, 201);
      const count = await h.services.store.countReceipts(h.tenantId);
      // The very same start (evidence in another order is the same evidence): the stored session.
      assert.equal((await h.req('POST', sessionsPath, { ...body, evidenceRefs: [...evidence].reverse() })).status, 200);
      for (const changed of [
        { policyDecisionRef: 'urn:srcos:decision:session-b' },
        { evidenceRefs: ['sha256:' + 'd'.repeat(64)] },
        { evidenceRefs: [] },
      ]) {
        const r = await h.req('POST', sessionsPath, { ...body, ...changed });
        assert.equal(r.status, 409, JSON.stringify(changed));
        assert.equal(r.json.code, 'QUITTANCE_ERR_AUTOMATION_SESSION_EXISTS');
      }
      assert.equal(await h.services.store.countReceipts(h.tenantId), count);
    });

    test('actions within scope execute; outside scope they are denied and recorded, with no anomaly', async () => {
      const { session } = await start();
      const ok = await act(session.automationId, 'click');
      assert.equal(ok.status, 201);
      assert.equal(ok.json.outcome, 'executed');
      assert.equal(ok.json.receipt.type, 'automation.action');
      assert.deepEqual(ok.json.receipt.body, { automation_id: session.automationId, action: 'click', outcome: 'executed', n: 1 });
      // Same action twice: two receipts (numbered), not one deduplicated receipt.
      const ok2 = await act(session.automationId, 'click');
      assert.notEqual(ok2.json.receipt.receipt_id, ok.json.receipt.receipt_id);
      assert.equal(ok2.json.receipt.body.n, 2);

      const anomaliesBefore = (await h.req('GET', '/v1/anomalies?limit=1000')).json.anomalies.length;
      const out = await act(session.automationId, 'submit_form');
      assert.equal(out.status, 403);
      assert.equal(out.json.code, 'QUITTANCE_ERR_AUTOMATION_ACTION_DENIED');
      assert.equal(out.json.reason, 'out_of_scope');
      assert.equal(out.json.receipt.body.outcome, 'denied');
      assert.equal(out.json.receipt.body.reason, 'out_of_scope');
      assert.match(out.json.message, /outside the session's permissionScope \(click, enter_text, read_page\)/);
      assert.equal(out.json.anomaly, undefined);
      assert.equal((await h.req('GET', '/v1/anomalies?limit=1000')).json.anomalies.length, anomaliesBefore);
      const view = (await h.req('GET', `${sessionsPath}/${session.automationId}`)).json.session;
      assert.deepEqual(view.actions, { executed: 2, denied: 1 });
      assert.equal(view.terminalState, 'active');
    });

    test('revocation by the user: revoked at once, the obligation closed, and the very next action denied with an anomaly', async () => {
      const { session, receipt: startedReceipt } = await start();
      assert.equal((await act(session.automationId, 'read_page')).status, 201);
      h.clock.advance(5_000);
      const revoked = await h.req('POST', `${sessionsPath}/${session.automationId}/revoke`, { revokedBy: 'alice', reason: 'I did not ask for this' });
      assert.equal(revoked.status, 200);
      assert.equal(revoked.json.status, 'ended');
      const ended = revoked.json.receipt;
      assert.equal(ended.type, 'automation.ended');
      assert.deepEqual(ended.parents, [startedReceipt.receipt_id]);
      assert.deepEqual(ended.from, { kind: 'human', id: 'alice' });
      assert.equal(ended.body.ended_by, 'user');
      assert.equal(ended.body.document.terminalState, 'revoked');
      assert.equal(ended.body.document.revokedAt, '2026-03-01T12:00:05.000Z');
      assert.equal(revoked.json.session.terminalState, 'revoked');
      const check = await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: startedReceipt.receipt_id });
      assert.equal(check.json.open, false);
      assert.equal(check.json.closed_by, ended.receipt_id);
      const active = await h.req('GET', `${sessionsPath}?state=active`);
      assert.ok(!active.json.sessions.some((x: any) => x.automationId === session.automationId));

      const next = await act(session.automationId, 'read_page');
      assert.equal(next.status, 403);
      assert.equal(next.json.reason, 'revoked');
      assert.ok(next.json.receipt.seq > ended.seq);
      assert.deepEqual(next.json.receipt.parents, [startedReceipt.receipt_id, ended.receipt_id].sort());
      const anomaly = next.json.anomaly;
      assert.equal(anomaly.body.kind, 'action_after_revocation');
      assert.equal(anomaly.body.action, 'read_page');
      assert.equal(anomaly.body.revoked_at, '2026-03-01T12:00:05.000Z');
      assert.deepEqual(anomaly.parents, [next.json.receipt.receipt_id, ended.receipt_id].sort());
      assert.deepEqual(anomaly.to, { kind: 'agent', id: 'urn:srcos:agent:browser-agent' });

      // Revoking again answers the same revocation; completing a revoked session is refused.
      const twice = await h.req('POST', `${sessionsPath}/${session.automationId}/revoke`);
      assert.equal(twice.status, 200);
      assert.equal(twice.json.status, 'duplicate');
      assert.equal(twice.json.receipt.receipt_id, ended.receipt_id);
      const complete = await h.req('POST', `${sessionsPath}/${session.automationId}/complete`);
      assert.equal(complete.status, 409);
      assert.equal(complete.json.code, 'QUITTANCE_ERR_AUTOMATION_NOT_ACTIVE');
      assertValidContracts([startedReceipt.body.document, ended.body.document], 'BrowserAutomationReceipt');
    });

    test('complete and fail end the session; later actions are denied without a revocation anomaly', async () => {
      for (const [path, state] of [['complete', 'completed'], ['fail', 'failed']] as const) {
        const { session } = await start();
        const r = await h.req('POST', `${sessionsPath}/${session.automationId}/${path}`, { reason: `${state} on purpose` });
        assert.equal(r.status, 200);
        assert.equal(r.json.receipt.type, 'automation.ended');
        assert.equal(r.json.receipt.body.ended_by, 'owner');
        assert.equal(r.json.receipt.body.reason, `${state} on purpose`);
        assert.equal(r.json.receipt.body.document.terminalState, state);
        assert.equal(r.json.receipt.body.document.revokedAt, null);
        const late = await act(session.automationId, 'click');
        assert.equal(late.status, 403);
        assert.equal(late.json.reason, 'not_active');
        assert.equal(late.json.anomaly, undefined);
        assert.equal((await h.req('POST', `${sessionsPath}/${session.automationId}/revoke`)).status, 409);
      }
      assert.equal((await act('0190f0f0-0000-7000-8000-000000000000', 'click')).status, 404);
    });

    test('when the capability leaves enabled, the gate revokes its active sessions', async () => {
      const ref = 'urn:srcos:capability:policy-changes@1.0.0';
      await enabledCapability(h, ref);
      const a = await start({ capabilityRef: ref });
      const b = await start({ capabilityRef: ref });
      const blocked = await report(h, 'policy', 'blocked', ref, { policyDecisionRef: 'urn:srcos:decision:deny-2', reason: 'automation paused' });
      assert.equal(blocked.json.capability.effectiveState, 'blocked_by_policy');
      for (const s of [a.session, b.session]) {
        const view = (await h.req('GET', `${sessionsPath}/${s.automationId}`)).json.session;
        assert.equal(view.terminalState, 'revoked');
        const ended = (await h.req('GET', `/v1/receipts/${view.endReceiptId}`)).json.receipt;
        assert.equal(ended.body.ended_by, 'gate');
        assert.equal(ended.body.capability_receipt_id, blocked.json.receipt.receipt_id);
        assert.match(ended.body.reason, /blocked_by_policy/);
        const next = await act(s.automationId, 'click');
        assert.equal(next.json.reason, 'revoked');
        assert.equal(next.json.anomaly.body.kind, 'action_after_revocation');
      }
      // A new start is denied while blocked.
      assert.equal((await h.req('POST', sessionsPath, startBody({ capabilityRef: ref }))).status, 403);
    });

    test("the gate revokes a session of the largest shape although the capability's reason is long: the change of state is not refused", async () => {
      const ref = 'urn:srcos:capability:long-reasons@1.0.0';
      const cap = `/v1/capabilities/${encodeURIComponent(ref)}`;
      const W = '\u{20000}'; // 4 bytes in UTF-8
      const others = ['agent', 'config', 'plugin', 'schema', 'server', 'transport', 'ui', 'user', 'workspace'];
      const declare = (requiredPlanes: string[]) => h.req('POST', '/v1/capabilities', { capabilityRef: ref, declaredBy: ['config'], requiredPlanes });
      // Nine planes degraded with the longest reasons; then declared with runtime alone, it is enabled (their reports stay).
      assert.equal((await declare(['runtime', ...others])).status, 201);
      for (const p of others) assert.equal((await h.req('POST', `${cap}/planes/${p}`, { status: 'degraded', reason: W.repeat(1024), evidenceRefs: [] })).status, 200);
      await report(h, 'runtime', 'supported', ref);
      await report(h, 'policy', 'supported', ref);
      assert.equal((await declare(['runtime'])).json.capability.effectiveState, 'enabled');
      const { session } = await start({
        capabilityRef: ref,
        sessionRef: `urn:srcos:session:${W.repeat(200)}`,
        ownerRef: `urn:srcos:agent:${W.repeat(230)}`,
        permissionScope: Array.from({ length: 64 }, (_, i) => `a${String(i).padStart(63, 'x')}`),
        policyDecisionRef: `urn:srcos:decision:${W.repeat(490)}`,
        evidenceRefs: Array.from({ length: 16 }, (_, i) => `urn:ev:s${i}-${W.repeat(240)}`),
        controlledScope: { windowRef: W.repeat(512), tabRef: W.repeat(512), urlOrigin: `https://${W.repeat(500)}` },
      });

      // Declared with the nine again: degraded, with all nine reasons (~37 KB) in its stateReason. The gate's
      // automation.ended quoted it whole next to the session's document: a 413 that refused this declaration.
      const degraded = await declare(['runtime', ...others]);
      assert.equal(degraded.status, 200, JSON.stringify(degraded.json).slice(0, 300));
      assert.equal(degraded.json.capability.effectiveState, 'degraded');
      const view = (await h.req('GET', `${sessionsPath}/${session.automationId}`)).json.session;
      assert.equal(view.terminalState, 'revoked');
      const ended = (await h.req('GET', `/v1/receipts/${view.endReceiptId}`)).json.receipt;
      assert.equal(ended.body.capability_receipt_id, degraded.json.receipt.receipt_id);
      assert.match(ended.body.reason, /is now degraded \(agent reported degraded/);
      assert.equal((await act(session.automationId, 'a'.padEnd(64, 'x'))).json.reason, 'revoked');
    });

    test('many concurrent actions racing a revoke: nothing executes after the revocation', async () => {
      const { session } = await start();
      const N = 300;
      const fire = (i: number) => act(session.automationId, i % 3 === 0 ? 'click' : 'read_page');
      // A first wave of actions, then — once one of them is answered, so some have executed — the revoke, then a
      // second wave: actions of the first wave may still be in flight ahead of the revoke, the second wave races it.
      // (Dispatching waits for the first answer instead of hoping it arrives mid-loop, which a slower backend may not do.)
      const results: ReturnType<typeof fire>[] = [];
      const firstWave = 100;
      for (let i = 0; i < firstWave; i++) results.push(fire(i));
      await Promise.race(results);
      const revoke = h.req('POST', `${sessionsPath}/${session.automationId}/revoke`, { reason: 'stop' });
      for (let i = firstWave; i < N; i++) {
        results.push(fire(i));
        if (i % 5 === 4) await new Promise((r) => setImmediate(r));
      }
      const answers = await Promise.all(results);
      const revoked = await revoke;
      assert.equal(revoked.status, 200);
      const revokedSeq = revoked.json.receipt.seq;
      const executed = answers.filter((a) => a.status === 201);
      const denied = answers.filter((a) => a.status === 403);
      assert.equal(executed.length + denied.length, N);
      assert.ok(executed.length > 0 && denied.length > 0, `executed ${executed.length}, denied ${denied.length}: the revoke must land mid-stream`);
      for (const a of executed) assert.ok(a.json.receipt.seq < revokedSeq, `executed action at seq ${a.json.receipt.seq} after revocation at ${revokedSeq}`);
      for (const a of denied) {
        assert.equal(a.json.reason, 'revoked');
        assert.ok(a.json.receipt.seq > revokedSeq);
        assert.equal(a.json.anomaly.body.kind, 'action_after_revocation');
      }
      // The ledger agrees with the answers: every executed automation.action of this session precedes the revocation.
      const actions = (await receiptsOfType(h, 'automation.action')).filter((r) => r.body.automation_id === session.automationId);
      assert.equal(actions.length, N);
      assert.ok(actions.filter((r) => r.body.outcome === 'executed').every((r) => r.seq < revokedSeq));
      assert.ok(actions.filter((r) => r.seq > revokedSeq).every((r) => r.body.outcome === 'denied'));
      assert.deepEqual(actions.map((r) => r.body.n), Array.from({ length: N }, (_, i) => i + 1));
      const view = (await h.req('GET', `${sessionsPath}/${session.automationId}`)).json.session;
      assert.deepEqual(view.actions, { executed: executed.length, denied: denied.length });
    });

    test('every BrowserAutomationReceipt the ledger emitted validates, alone and together', async () => {
      const docs = [
        ...(await receiptsOfType(h, 'automation.started')),
        ...(await receiptsOfType(h, 'automation.ended')),
        ...(await receiptsOfType(h, 'automation.action')).filter((r) => r.body.action === 'start'),
      ].map((r) => r.body.document);
      assert.ok(docs.some((d) => d.terminalState === 'denied') && docs.some((d) => d.terminalState === 'revoked') && docs.some((d) => d.terminalState === 'completed'));
      assertValidContracts(docs, 'BrowserAutomationReceipt');
      assertValidContracts((await receiptsOfType(h, 'capability.ledger')).map((r) => r.body.document), 'CapabilityLedger');
    });

    test('validation: bad bodies are 400 and write nothing', async () => {
      const count = await h.services.store.countReceipts(h.tenantId);
      for (const body of [
        startBody({ transport: 'telepathy' }),
        startBody({ permissionScope: [] }),
        startBody({ permissionScope: ['Click!'] }),
        startBody({ ownerRef: 'browser-agent' }),
        startBody({ sessionRef: 'session-1' }),
        startBody({ origin: 'mars' }),
        startBody({ userVisible: false }),
      ]) {
        const r = await h.req('POST', sessionsPath, body);
        assert.equal(r.status, 400, JSON.stringify(body));
      }
      const { session } = await start();
      const after = await h.services.store.countReceipts(h.tenantId);
      assert.equal((await h.req('POST', `${sessionsPath}/${session.automationId}/actions`, { action: 'DROP TABLE' })).status, 400);
      assert.equal(await h.services.store.countReceipts(h.tenantId), after);
      assert.ok(after === count + 1);
    });
  });
}
