import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { DECISION, EVIDENCE, assertValidContracts, capPath, declareSeed, receiptsOfType, report } from './support.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] capability negotiation over HTTP`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test("the seed: config and UI declare it, the server rejects it → unsupported_by_server, and a UI claiming enabled is split-brain", async () => {
      const ref = 'urn:srcos:capability:seed-feature@2.1.0';
      const declared = await declareSeed(h, ref);
      assert.equal(declared.status, 201);
      assert.equal(declared.json.capability.effectiveState, 'declared');
      assert.deepEqual(declared.json.capability.pendingPlanes, ['runtime', 'server', 'policy']);
      assert.equal(declared.json.receipt.type, 'capability.ledger');

      assert.equal((await report(h, 'runtime', 'supported', ref)).json.capability.effectiveState, 'negotiating');
      assert.equal((await report(h, 'policy', 'supported', ref)).json.capability.effectiveState, 'negotiating');
      const rejected = await report(h, 'server', 'unsupported', ref, { reason: 'feature flag unknown to API v3' });
      assert.equal(rejected.json.changed, true);
      const cap = rejected.json.capability;
      assert.equal(cap.effectiveState, 'unsupported_by_server');
      assert.match(cap.stateReason, /server reported unsupported \(feature flag unknown to API v3\)/);
      assert.equal(cap.planes.server.status, 'unsupported');
      assert.equal(rejected.json.receipt.body.document.effectiveState, 'unsupported_by_server');
      assert.equal(rejected.json.receipt.body.document.policyDecisionRef, DECISION);

      // The UI still shows the toggle on: capability split-brain, naming both sides.
      const claim = await h.req('POST', `${capPath(ref)}/observations`, { plane: 'ui', claimedState: 'enabled' });
      assert.equal(claim.status, 200);
      assert.equal(claim.json.splitBrain, true);
      assert.equal(claim.json.effectiveState, 'unsupported_by_server');
      const anomaly = claim.json.anomaly;
      assert.equal(anomaly.type, 'system.anomaly');
      assert.equal(anomaly.body.kind, 'capability_split_brain');
      assert.deepEqual(anomaly.body.surface, { plane: 'ui', claimed_state: 'enabled' });
      assert.equal(anomaly.body.ledger.effective_state, 'unsupported_by_server');
      assert.equal(anomaly.body.ledger.capability_ledger_ref, cap.record.id);
      assert.equal(anomaly.body.ledger.receipt_id, cap.receiptId);
      assert.deepEqual(anomaly.parents, [cap.receiptId]);
      assert.equal(claim.json.observation.anomalyReceiptId, anomaly.receipt_id);

      // The same claim again is recorded again, but is the same split-brain: one anomaly.
      const again = await h.req('POST', `${capPath(ref)}/observations`, { plane: 'ui', claimedState: 'enabled' });
      assert.equal(again.json.anomaly.receipt_id, anomaly.receipt_id);
      const listed = await h.req('GET', '/v1/anomalies?kind=capability_split_brain');
      assert.equal(listed.json.anomalies.filter((a: any) => a.body.capability_ref === ref).length, 1);

      // A surface showing the true state is recorded and raises nothing.
      const honest = await h.req('POST', `${capPath(ref)}/observations`, { plane: 'config', claimedState: 'unsupported_by_server' });
      assert.equal(honest.json.splitBrain, false);
      assert.equal(honest.json.anomaly, undefined);

      const got = await h.req('GET', capPath(ref));
      assert.equal(got.status, 200);
      assert.deepEqual(got.json.history.map((e: any) => [e.kind, e.plane, e.effectiveState]), [
        ['declared', null, 'declared'],
        ['plane_report', 'runtime', 'negotiating'],
        ['plane_report', 'policy', 'negotiating'],
        ['plane_report', 'server', 'unsupported_by_server'],
        ['observation', 'ui', 'unsupported_by_server'],
        ['observation', 'ui', 'unsupported_by_server'],
        ['observation', 'config', 'unsupported_by_server'],
      ]);
      // A receipt exactly where the state changed, and nowhere else.
      assert.deepEqual(got.json.history.map((e: any) => e.receiptId !== null), [true, true, false, true, false, false, false]);
      assert.deepEqual(got.json.history.slice(4).map((e: any) => e.detail), [
        { claimedState: 'enabled', splitBrain: true }, { claimedState: 'enabled', splitBrain: true }, { claimedState: 'unsupported_by_server', splitBrain: false },
      ]);

      // The server is fixed: enabled; now the UI's claim is true.
      assert.equal((await report(h, 'server', 'supported', ref)).json.capability.effectiveState, 'enabled');
      const nowTrue = await h.req('POST', `${capPath(ref)}/observations`, { plane: 'ui', claimedState: 'enabled' });
      assert.equal(nowTrue.json.splitBrain, false);
    });

    test('a split-brain claim repeated after a plane re-reported without changing the state (the same record) raises no second anomaly', async () => {
      const ref = 'urn:srcos:capability:reworded@1.0.0';
      await declareSeed(h, ref);
      await report(h, 'runtime', 'supported', ref);
      await report(h, 'policy', 'supported', ref);
      await report(h, 'server', 'unsupported', ref, { reason: 'API v3 lacks it' });
      const claim = () => h.req('POST', `${capPath(ref)}/observations`, { plane: 'ui', claimedState: 'enabled' });
      const first = await claim();
      assert.equal(first.json.splitBrain, true);
      // The server says it again in other words: still unsupported_by_server, so no new record.
      const again = await report(h, 'server', 'unsupported', ref, { reason: 'API v3.1 lacks it too' });
      assert.equal(again.json.changed, false);
      assert.equal(again.json.capability.receiptId, first.json.anomaly.body.ledger.receipt_id);
      const second = await claim();
      assert.equal(second.json.splitBrain, true);
      assert.equal(second.json.anomaly.receipt_id, first.json.anomaly.receipt_id);
      const listed = await h.req('GET', '/v1/anomalies?kind=capability_split_brain&limit=1000');
      assert.equal(listed.json.anomalies.filter((a: any) => a.body.capability_ref === ref).length, 1);
    });

    test('every state change is one capability.ledger receipt carrying a valid CapabilityLedger record, chained to the last', async () => {
      const ref = 'urn:srcos:capability:chain@1.0.0';
      await declareSeed(h, ref, { sessionRef: 'urn:srcos:session:chain-1' });
      const states = ['requested'];
      for (const [plane, status] of [['runtime', 'supported'], ['server', 'supported'], ['server', 'supported'], ['policy', 'supported'], ['plugin', 'degraded'], ['policy', 'blocked']] as const) {
        const r = await report(h, plane, status, ref);
        if (r.json.changed) states.push(r.json.capability.effectiveState);
      }
      assert.deepEqual(states, ['requested', 'negotiating', 'available', 'enabled', 'degraded', 'blocked_by_policy']);
      const receipts = (await receiptsOfType(h, 'capability.ledger')).filter((r) => r.body.document.capabilityRef === ref);
      assert.deepEqual(receipts.map((r) => r.body.document.effectiveState), states);
      const docs = receipts.map((r) => r.body.document);
      assertValidContracts(docs, 'CapabilityLedger');
      for (let i = 1; i < receipts.length; i++) {
        assert.deepEqual(receipts[i].parents, [receipts[i - 1].receipt_id]);
        assert.deepEqual(docs[i].causalRefs, [docs[i - 1].id]);
      }
      assert.equal(docs[0].sessionRef, 'urn:srcos:session:chain-1');
      assert.deepEqual(docs[0].declaredBy, ['config', 'ui']);
      assert.deepEqual(docs[0].negotiatedBy, ['plugin', 'policy', 'runtime', 'server']);
      // Before the policy plane decided, the record cites the ledger's precedence rule; afterwards the policy decision.
      assert.match(docs[1].policyDecisionRef, /^urn:srcos:decision:quittance-capability-precedence/);
      assert.equal(docs[3].policyDecisionRef, DECISION);
      assert.deepEqual(docs[3].evidenceRefs, [EVIDENCE]);
      assert.equal(receipts[5].body.trigger.plane, 'policy');
      assert.equal(receipts[5].body.trigger.previous_state, 'degraded');
    });

    test('a block enforced by another plane cites that plane\'s decision', async () => {
      const ref = 'urn:srcos:capability:admin-blocked@1.0.0';
      await declareSeed(h, ref);
      const r = await report(h, 'server', 'blocked', ref, { policyDecisionRef: 'urn:srcos:decision:org-admin-9', reason: 'disabled by the organisation' });
      assert.equal(r.json.capability.effectiveState, 'blocked_by_policy');
      assert.equal(r.json.receipt.body.document.policyDecisionRef, 'urn:srcos:decision:org-admin-9');
    });

    test('re-declaring: the same declaration changes nothing; a changed one gets a fresh record and keeps the reports', async () => {
      const ref = 'urn:srcos:capability:redeclare@1.0.0';
      await declareSeed(h, ref);
      await report(h, 'runtime', 'supported', ref);
      const before = (await receiptsOfType(h, 'capability.ledger')).length;
      const same = await declareSeed(h, ref);
      assert.equal(same.status, 200);
      assert.equal(same.json.receipt, undefined);
      assert.equal((await receiptsOfType(h, 'capability.ledger')).length, before);

      const changed = await h.req('POST', '/v1/capabilities', { capabilityRef: ref, declaredBy: ['config', 'ui'], requiredPlanes: ['runtime'] });
      assert.equal(changed.status, 200);
      assert.equal(changed.json.capability.planes.runtime.status, 'supported');
      assert.equal(changed.json.capability.effectiveState, 'available');
      assert.deepEqual(changed.json.receipt.body.document.negotiatedBy, ['policy', 'runtime']);
    });

    test('the matrix lists every capability with its state and what each plane said; state filters, cursor pages', async () => {
      const refs = ['urn:srcos:capability:m-a@1', 'urn:srcos:capability:m-b@1', 'urn:srcos:capability:m-c@1'];
      for (const ref of refs) await declareSeed(h, ref);
      await report(h, 'server', 'unsupported', refs[1]);
      const all = await h.req('GET', '/v1/capabilities?limit=1000');
      assert.equal(all.status, 200);
      assert.deepEqual(Object.keys(all.json).sort(), ['capabilities', 'cursor']);
      const row = all.json.capabilities.find((c: any) => c.capabilityRef === refs[1]);
      assert.deepEqual(row.planes, { server: 'unsupported' });
      assert.equal(row.effectiveState, 'unsupported_by_server');
      const refused = await h.req('GET', '/v1/capabilities?state=unsupported_by_server&limit=1000');
      assert.ok(refused.json.capabilities.every((c: any) => c.effectiveState === 'unsupported_by_server'));
      assert.ok(refused.json.capabilities.some((c: any) => c.capabilityRef === refs[1]));

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await h.req('GET', `/v1/capabilities?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.ok(page.json.capabilities.length <= 2);
        seen.push(...page.json.capabilities.map((c: any) => c.capabilityRef));
        cursor = page.json.cursor;
      } while (cursor);
      assert.deepEqual(seen, all.json.capabilities.map((c: any) => c.capabilityRef));
      assert.deepEqual(seen, [...seen].sort());
    });

    test('the matrix pages past a capability whose ref is long in UTF-8 (its cursor grows 4 bytes a character)', async () => {
      // The longest ref the API takes, in 4-byte characters: the cursor after it is 2,736 characters.
      const prefix = 'urn:srcos:capability:';
      const long = `${prefix}${'🦀'.repeat(512 - prefix.length - 2)}@1`;
      const after = `${prefix}${'🦀'.repeat(3)}\u{1F99E}@1`; // sorts after `long` in byte order
      for (const ref of [long, after]) await declareSeed(h, ref);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await h.req('GET', `/v1/capabilities?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200, JSON.stringify(page.json));
        seen.push(...page.json.capabilities.map((c: any) => c.capabilityRef));
        cursor = page.json.cursor;
      } while (cursor);
      assert.ok(seen.indexOf(long) >= 0 && seen.indexOf(after) === seen.indexOf(long) + 1, 'both refs, in order');
    });

    test("a plane's evidence and reason are bounded in bytes, so every change of state fits a record: a policy block takes effect", async () => {
      const planes = ['agent', 'config', 'plugin', 'runtime', 'schema', 'server', 'transport', 'ui', 'user', 'workspace'];
      const ref = 'urn:srcos:capability:evidence-budget@1.0.0';
      const E = capPath(ref);
      // The most a report may carry: 16 refs of 256 ASCII characters and a reason of 1024, from every plane.
      const full = (plane: string, status: string) => ({
        status,
        reason: 'r'.repeat(1024),
        evidenceRefs: Array.from({ length: 16 }, (_, i) => `urn:ev:${plane}-${i}-`.padEnd(256, 'x')),
        ...(plane === 'policy' && { policyDecisionRef: DECISION }),
      });
      assert.equal((await h.req('POST', '/v1/capabilities', { capabilityRef: ref, declaredBy: ['config'], requiredPlanes: planes })).status, 201);
      for (const p of planes) assert.equal((await h.req('POST', `${E}/planes/${p}`, full(p, 'degraded'))).status, 200, p);
      const allowed = await h.req('POST', `${E}/planes/policy`, full('policy', 'supported'));
      assert.equal(allowed.json.capability.effectiveState, 'degraded');

      // The same number of characters, 4 bytes each: refused, nothing written. These used to be accepted, and the
      // record of the next change of state (this policy block) was a 413 that left the capability as it was.
      const count = await h.services.store.countReceipts(h.tenantId);
      const wide = { status: 'degraded', evidenceRefs: Array.from({ length: 16 }, (_, i) => `urn:ev:wide-${i}-${'\u{20000}'.repeat(230)}`) };
      const refused = await h.req('POST', `${E}/planes/runtime`, wide);
      assert.equal(refused.status, 400, JSON.stringify(refused.json));
      assert.equal(refused.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.match(refused.json.message, /over the 5120 one plane report may take/);
      assert.equal(await h.services.store.countReceipts(h.tenantId), count);

      const blocked = await h.req('POST', `${E}/planes/policy`, full('policy', 'blocked'));
      assert.equal(blocked.status, 200, JSON.stringify(blocked.json).slice(0, 300));
      assert.equal(blocked.json.capability.effectiveState, 'blocked_by_policy');
      assert.equal(blocked.json.receipt.body.document.effectiveState, 'blocked_by_policy');
    });

    test("the budget counts a report as its record holds it: characters JSON escapes (control characters, quotes) count as escaped", async () => {
      const planes = ['agent', 'config', 'plugin', 'runtime', 'schema', 'server', 'transport', 'ui', 'user', 'workspace'];
      const ref = 'urn:srcos:capability:escaped-budget@1.0.0';
      const E = capPath(ref);
      const C = '\u0001'; // 1 byte in UTF-8, 6 in the JSON of a record (\u0001)
      assert.equal((await h.req('POST', '/v1/capabilities', { capabilityRef: ref, declaredBy: ['config'], requiredPlanes: planes })).status, 201);
      // Within 5120 bytes as UTF-8, but 30 KB once escaped: ten of them made the record of 'available' a 413,
      // which refused the tenth plane's report (and, once enabled, would have refused a policy block).
      const escaped = { status: 'supported', reason: C.repeat(1000), evidenceRefs: Array.from({ length: 16 }, (_, i) => `urn:ev:e${String(i).padStart(2, '0')}-`.padEnd(256, C)) };
      const count = await h.services.store.countReceipts(h.tenantId);
      const refused = await h.req('POST', `${E}/planes/runtime`, escaped);
      assert.equal(refused.status, 400, JSON.stringify(refused.json).slice(0, 300));
      assert.equal(refused.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.match(refused.json.message, /over the 5120 one plane report may take/);
      assert.equal(await h.services.store.countReceipts(h.tenantId), count);
      // What fits the budget escaped, from every plane, fits every record: each change of state is recorded.
      const fits = (p: string, status: string) => ({
        status, reason: C.repeat(150), evidenceRefs: Array.from({ length: 16 }, (_, i) => `urn:ev:${p}-${i}-`.padEnd(40, C)),
        ...(p === 'policy' && { policyDecisionRef: DECISION }),
      });
      for (const p of planes) assert.equal((await h.req('POST', `${E}/planes/${p}`, fits(p, 'degraded'))).status, 200, p);
      const allowed = await h.req('POST', `${E}/planes/policy`, fits('policy', 'supported'));
      assert.equal(allowed.status, 200, JSON.stringify(allowed.json).slice(0, 300));
      assert.equal(allowed.json.capability.effectiveState, 'degraded');
      const blocked = await h.req('POST', `${E}/planes/policy`, fits('policy', 'blocked'));
      assert.equal(blocked.status, 200, JSON.stringify(blocked.json).slice(0, 300));
      assert.equal(blocked.json.capability.effectiveState, 'blocked_by_policy');
    });

    test('refusals are coded and write nothing', async () => {
      const ref = 'urn:srcos:capability:refusals@1.0.0';
      await declareSeed(h, ref);
      const count = await h.services.store.countReceipts(h.tenantId);
      const cases: [string, string, unknown, number, string][] = [
        ['POST', `${capPath('urn:srcos:capability:never-declared@1')}/planes/server`, { status: 'supported', evidenceRefs: [] }, 404, 'QUITTANCE_ERR_CAPABILITY_NOT_FOUND'],
        ['POST', `${capPath(ref)}/planes/schema`, { status: 'supported', evidenceRefs: [] }, 422, 'QUITTANCE_ERR_PLANE_NOT_NEGOTIATED'],
        ['POST', `${capPath(ref)}/planes/policy`, { status: 'supported', evidenceRefs: [] }, 422, 'QUITTANCE_ERR_POLICY_DECISION_REQUIRED'],
        ['POST', `${capPath(ref)}/planes/server`, { status: 'on', evidenceRefs: [] }, 400, 'QUITTANCE_ERR_VALIDATION'],
        ['POST', `${capPath(ref)}/planes/server`, { status: 'supported', evidenceRefs: ['not a ref'] }, 400, 'QUITTANCE_ERR_VALIDATION'],
        ['POST', `${capPath(ref)}/planes/kernel`, { status: 'supported', evidenceRefs: [] }, 400, 'QUITTANCE_ERR_VALIDATION'],
        ['POST', `${capPath('browser-automation')}/planes/server`, { status: 'supported', evidenceRefs: [] }, 400, 'QUITTANCE_ERR_VALIDATION'],
        ['POST', '/v1/capabilities', { capabilityRef: 'urn:srcos:capability:no-version', declaredBy: ['ui'], requiredPlanes: ['server'] }, 400, 'QUITTANCE_ERR_VALIDATION'],
        ['POST', '/v1/capabilities', { capabilityRef: 'urn:srcos:capability:x@1', declaredBy: ['ui'], requiredPlanes: [] }, 400, 'QUITTANCE_ERR_VALIDATION'],
        ['POST', `${capPath(ref)}/observations`, { plane: 'ui', claimedState: 'on' }, 400, 'QUITTANCE_ERR_VALIDATION'],
        ['POST', `${capPath('urn:srcos:capability:never-declared@1')}/observations`, { plane: 'ui', claimedState: 'enabled' }, 404, 'QUITTANCE_ERR_CAPABILITY_NOT_FOUND'],
        ['GET', capPath('urn:srcos:capability:never-declared@1'), undefined, 404, 'QUITTANCE_ERR_CAPABILITY_NOT_FOUND'],
        ['POST', '/v1/receipts', { type: 'capability.ledger', from: { kind: 'agent', id: 'a' }, to: { kind: 'agent', id: 'b' }, body: {} }, 422, 'QUITTANCE_ERR_RECEIPT_TYPE_RESERVED'],
      ];
      for (const [method, url, body, status, code] of cases) {
        const r = await h.req(method, url, body);
        assert.equal(r.status, status, `${method} ${url}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.code, code);
        assert.deepEqual(Object.keys(r.json).filter((k) => ['statusCode', 'code', 'error', 'message'].includes(k)).length, 4);
      }
      assert.equal(await h.services.store.countReceipts(h.tenantId), count);
      assert.equal((await h.req('GET', capPath(ref))).json.history.length, 1);
    });

    // The router's default limit of 100 characters per path parameter answered these with a 414.
    test('a capability ref as long as the declaration accepts (512) can be read, reported on and observed; one longer is a coded 400', async () => {
      const ref = `urn:srcos:capability:${'long-'.repeat(96)}xxxxx@1.0.0`;
      assert.equal(ref.length, 512);
      await declareSeed(h, ref);
      assert.equal((await h.req('GET', capPath(ref))).status, 200);
      assert.equal((await report(h, 'runtime', 'supported', ref)).json.capability.planes.runtime.status, 'supported');
      assert.equal((await h.req('POST', `${capPath(ref)}/observations`, { plane: 'ui', claimedState: 'negotiating' })).status, 200);
      const longer = await h.req('GET', capPath(`urn:srcos:capability:${'x'.repeat(500)}@1`));
      assert.equal(longer.status, 400);
      assert.equal(longer.json.code, 'QUITTANCE_ERR_VALIDATION');
    });

    test('capabilities are tenant-scoped, and a read key cannot report', async () => {
      const ref = 'urn:srcos:capability:private@1.0.0';
      await declareSeed(h, ref);
      const other = await h.newTenant(`other-${backend}`);
      assert.equal((await h.req('GET', capPath(ref), undefined, other.key)).status, 404);
      assert.equal((await h.req('POST', `${capPath(ref)}/planes/server`, { status: 'supported', evidenceRefs: [] }, other.key)).status, 404);
      assert.ok(!(await h.req('GET', '/v1/capabilities', undefined, other.key)).json.capabilities.some((c: any) => c.capabilityRef === ref));
      const reader = await h.newTenant(`reader-${backend}`, ['read']);
      const r = await h.req('POST', '/v1/capabilities', { capabilityRef: ref, declaredBy: ['ui'], requiredPlanes: ['server'] }, reader.key);
      assert.equal(r.status, 403);
    });

    test('history pages with cursor and limit', async () => {
      const ref = 'urn:srcos:capability:history@1.0.0';
      await declareSeed(h, ref);
      for (let i = 0; i < 5; i++) await report(h, 'server', i % 2 ? 'supported' : 'degraded', ref);
      const first = await h.req('GET', `${capPath(ref)}?limit=4`);
      assert.equal(first.json.history.length, 4);
      const rest = await h.req('GET', `${capPath(ref)}?limit=4&cursor=${first.json.cursor}`);
      assert.deepEqual(rest.json.history.map((e: any) => e.eventNo), [5, 6]);
      assert.equal(rest.json.cursor, null);
    });
  });
}
