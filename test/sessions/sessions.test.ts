import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { validateDocument } from '../../src/contracts/validate.js';

const codex = { kind: 'agent', id: 'codex' } as const;
const other = { kind: 'agent', id: 'claude' } as const;

async function count(h: Harness): Promise<number> {
  return h.services.store.countReceipts(h.tenantId);
}

async function receipt(h: Harness, id: string): Promise<any> {
  const r = await h.req('GET', `/v1/receipts/${id}`);
  assert.equal(r.status, 200);
  return r.json.receipt;
}

async function isOpen(h: Harness, receiptId: string): Promise<boolean> {
  return (await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: receiptId })).json.open;
}

for (const backend of BACKENDS) {
  describe(`[${backend}] sessions: exactly one owner`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('no owner, an empty owners list, or several owners → 409 ambiguous session ownership, nothing written', async () => {
      const before = await count(h);
      for (const body of [
        { session_id: 'o-1' },
        { session_id: 'o-1', owners: [] },
        { session_id: 'o-1', owners: [codex, other] },
        { session_id: 'o-1', owner: codex, owners: [other] },
      ]) {
        const r = await h.req('POST', '/v1/sessions', body);
        assert.equal(r.status, 409, JSON.stringify(body));
        assert.equal(r.json.code, 'QUITTANCE_ERR_AMBIGUOUS_SESSION_OWNERSHIP');
        assert.match(r.json.message, /ambiguous session ownership/i);
      }
      assert.equal(await count(h), before);
      assert.equal((await h.req('GET', '/v1/sessions/o-1')).status, 404);
    });

    test('opening appends a session.opened obligation addressed to the owner; the same owner again is idempotent', async () => {
      const r = await h.req('POST', '/v1/sessions', { session_id: 'o-2', owners: [codex], conversation_id: 'conv-o2' });
      assert.equal(r.status, 201);
      assert.equal(r.json.status, 'created');
      assert.equal(r.json.receipt.type, 'session.opened');
      assert.equal(r.json.receipt.session_id, 'o-2');
      assert.deepEqual(r.json.receipt.to, codex);
      assert.deepEqual(r.json.session.owner, codex);
      assert.equal(r.json.session.state, 'open');
      assert.equal(await isOpen(h, r.json.receipt.receipt_id), true);

      const before = await count(h);
      const again = await h.req('POST', '/v1/sessions', { session_id: 'o-2', owner: { ...codex, instance_id: 'restarted' } });
      assert.equal(again.status, 200);
      assert.equal(again.json.status, 'existing');
      assert.equal(again.json.receipt.receipt_id, r.json.receipt.receipt_id);
      assert.equal(again.json.session.conversation_id, 'conv-o2');
      assert.equal(await count(h), before);
    });

    test('the same session_id opened by a different owner → 409, and the stored owner stays', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'o-3', owner: codex });
      const before = await count(h);
      const r = await h.req('POST', '/v1/sessions', { session_id: 'o-3', owner: other });
      assert.equal(r.status, 409);
      assert.equal(r.json.code, 'QUITTANCE_ERR_AMBIGUOUS_SESSION_OWNERSHIP');
      assert.deepEqual(r.json.owners, ['agent:codex', 'agent:claude']);
      assert.equal(await count(h), before);
      assert.deepEqual((await h.req('GET', '/v1/sessions/o-3')).json.session.owner, codex);
    });

    test('the same owner re-opening with different fields → 409 (keys are added with PATCH)', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'o-4', owner: codex, conversation_id: 'c-1' });
      const r = await h.req('POST', '/v1/sessions', { session_id: 'o-4', owner: codex, conversation_id: 'c-2' });
      assert.equal(r.status, 409);
      assert.equal(r.json.code, 'QUITTANCE_ERR_SESSION_REOPEN_CONFLICT');
      assert.equal(r.json.field, 'conversation_id');
    });

    test('close appends session.closed answering session.opened, exactly once', async () => {
      const opened = (await h.req('POST', '/v1/sessions', { session_id: 'o-5', owner: codex })).json.receipt;
      const c = await h.req('POST', '/v1/sessions/o-5/close', { reason: 'done' });
      assert.equal(c.status, 201);
      assert.equal(c.json.receipt.type, 'session.closed');
      assert.deepEqual(c.json.receipt.parents, [opened.receipt_id]);
      assert.equal(c.json.receipt.discharges, true);
      assert.equal(c.json.session.state, 'closed');
      assert.equal(await isOpen(h, opened.receipt_id), false);
      const before = await count(h);
      const again = await h.req('POST', '/v1/sessions/o-5/close');
      assert.equal(again.status, 200);
      assert.equal(again.json.status, 'already_closed');
      assert.equal(again.json.receipt.receipt_id, c.json.receipt.receipt_id);
      assert.equal(await count(h), before);
      assert.equal((await h.req('POST', '/v1/sessions/nope/close')).json.code, 'QUITTANCE_ERR_SESSION_NOT_FOUND');
      // An event naming a closed session is still recorded in its DAG, marked as arriving after the close.
      const late = await h.req('POST', '/v1/events', { event_id: 'o-5-late', event_class: 'agent_lifecycle', session_id: 'o-5' });
      assert.equal(late.status, 201);
      assert.equal(late.json.receipt.body.after_close, true);
      assert.deepEqual((await h.req('GET', '/v1/sessions/o-5')).json.nodes.map((n: any) => n.event_id), ['o-5-late']);
    });

    test('PATCH adds keys, refuses to change one, and refuses a closed session', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'o-6', owner: codex, conversation_id: 'c-6' });
      const u = await h.req('PATCH', '/v1/sessions/o-6', { task_ref: 'task-6', workspace_ref: 'urn:srcos:workspace:ws-6' });
      assert.equal(u.status, 200);
      assert.equal(u.json.status, 'updated');
      assert.equal(u.json.receipt.type, 'session.event');
      assert.deepEqual(u.json.receipt.body.added, { task_ref: 'task-6', workspace_ref: 'urn:srcos:workspace:ws-6' });
      assert.equal(u.json.session.task_ref, 'task-6');
      const same = await h.req('PATCH', '/v1/sessions/o-6', { task_ref: 'task-6' });
      assert.equal(same.json.status, 'unchanged');
      const change = await h.req('PATCH', '/v1/sessions/o-6', { conversation_id: 'c-other' });
      assert.equal(change.status, 409);
      assert.equal(change.json.code, 'QUITTANCE_ERR_SESSION_KEY_CONFLICT');
      await h.req('POST', '/v1/sessions/o-6/close');
      // Naming a key with the value it already has changes nothing, closed or not.
      const closed = await h.req('PATCH', '/v1/sessions/o-6', { conversation_id: 'c-6' });
      assert.equal(closed.status, 200);
      assert.equal(closed.json.status, 'unchanged');
      await h.req('POST', '/v1/sessions', { session_id: 'o-7', owner: codex });
      await h.req('POST', '/v1/sessions/o-7/close');
      const late = await h.req('PATCH', '/v1/sessions/o-7', { task_ref: 'x' });
      assert.equal(late.status, 409);
      assert.equal(late.json.code, 'QUITTANCE_ERR_SESSION_CLOSED');
      assert.equal((await h.req('PATCH', '/v1/sessions/nope', { task_ref: 'x' })).status, 404);
    });

    test('ids with whitespace and raw workspace paths are refused at the door', async () => {
      assert.equal((await h.req('POST', '/v1/sessions', { session_id: 'has space', owner: codex })).status, 400);
      assert.equal((await h.req('POST', '/v1/sessions', { session_id: 'ws', owner: codex, workspace_ref: '/home/me/repo' })).status, 400);
      assert.equal((await h.req('POST', '/v1/events', { event_id: 'e', event_class: 'not_a_class' })).status, 400);
      assert.equal((await h.req('POST', '/v1/events', { event_id: 'e', event_class: 'plugin', payload_digest: 'md5:abc' })).status, 400);
    });

    test('a workspace_ref takes at most 1536 bytes as UTF-8: at the limit, beside the longest ids, a session opens and finds its orphan on both backends; over it a coded 400', async () => {
      // Incompressible: a different CJK Extension B character (4 bytes in UTF-8) each time.
      let seed = 11;
      const wide = (n: number) => Array.from({ length: n }, () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return String.fromCodePoint(0x20000 + (seed % 0xa6d0));
      }).join('');
      const prefix = 'urn:srcos:workspace:';
      const chars = Math.floor((1536 - prefix.length) / 4);
      const workspace_ref = (prefix + wide(chars)).padEnd(1536 - 2 * chars, 'x'); // padEnd counts UTF-16 units: 2 per character here
      assert.equal(Buffer.byteLength(workspace_ref), 1536);
      const session_id = wide(256);
      const queued = await h.req('POST', '/v1/events', { event_id: wide(256), event_class: 'agent_lifecycle', correlation: { workspace_ref } });
      assert.equal(queued.status, 202, JSON.stringify(queued.json).slice(0, 300));
      const opened = await h.req('POST', '/v1/sessions', { session_id, owner: codex, workspace_ref, conversation_id: wide(256), task_ref: wide(256) });
      assert.equal(opened.status, 201, JSON.stringify(opened.json).slice(0, 300));
      assert.equal(opened.json.reconciliation.recovered.length, 1);

      // 512 characters, as the route's maxLength allows, of 4 bytes each: PostgreSQL answered 500 (its index of open
      // sessions by workspace_ref and session_id holds at most 2704 bytes), SQLite opened the session.
      const over = `${prefix}${wide(512 - prefix.length)}`;
      const before = await count(h);
      const refused = [
        await h.req('POST', '/v1/sessions', { session_id: wide(256), owner: codex, workspace_ref: over }),
        await h.req('POST', '/v1/sessions', { session_id: 'ws-bytes', owner: codex, workspace_ref: workspace_ref + 'x' }),
        await h.req('PATCH', `/v1/sessions/${encodeURIComponent(session_id)}`, { workspace_ref: over }),
        await h.req('POST', '/v1/events', { event_id: wide(256), event_class: 'plugin', correlation: { workspace_ref: over } }),
      ];
      for (const r of refused) {
        assert.equal(r.status, 400, JSON.stringify(r.json).slice(0, 300));
        assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
        assert.match(r.json.message, /workspace_ref takes \d+ bytes as UTF-8, over the 1536/);
      }
      assert.equal(await count(h), before);
      assert.equal((await h.req('GET', '/v1/sessions/ws-bytes')).status, 404);
    });

    test('a session naming itself as its parent is refused (400), nothing written', async () => {
      const before = await count(h);
      const r = await h.req('POST', '/v1/sessions', { session_id: 'self-parent', owner: codex, parent_session_id: 'self-parent' });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.match(r.json.message, /its own parent/);
      assert.equal(await count(h), before);
      assert.equal((await h.req('GET', '/v1/sessions/self-parent')).status, 404);
    });

    test('a session id of "." or ".." is refused, nothing written: /v1/sessions/../close would never reach it', async () => {
      const before = await count(h);
      for (const session_id of ['.', '..']) {
        const r = await h.req('POST', '/v1/sessions', { session_id, owner: codex });
        assert.equal(r.status, 400, session_id);
        assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
      }
      assert.equal(await count(h), before);
      const dots = await h.req('POST', '/v1/sessions', { session_id: '...', owner: codex });
      assert.equal(dots.status, 201, 'three dots are an ordinary segment');
      assert.equal((await h.req('GET', '/v1/sessions/...')).status, 200);
    });
  });

  describe(`[${backend}] the seed's case: a turn event arrives before its session registers`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('queued, then recovered into the right DAG node with its parent edge once the session opens', async () => {
      // The turn starts and a tool call inside it is reported, both before the session registry knows the thread.
      const turn = await h.req('POST', '/v1/events', {
        event_id: 'turn-1', event_class: 'agent_lifecycle', session_id: 'thread-1', correlation: { conversation_id: 'conv-1' },
        payload_digest: 'sha256:' + '1'.repeat(64),
      });
      assert.equal(turn.status, 202);
      assert.equal(turn.json.status, 'queued');
      assert.equal(turn.json.receipt.type, 'orphan.queued');
      assert.equal(turn.json.receipt.session_id, 'thread-1');
      assert.equal(await isOpen(h, turn.json.receipt.receipt_id), true);
      const queuedDoc = turn.json.receipt.body.document;
      assert.equal(validateDocument(queuedDoc).valid, true);
      assert.equal(queuedDoc.sessionResolution.state, 'queued');
      assert.equal(queuedDoc.ttl.expiresAt, '2026-03-01T12:05:00.000Z');

      const tool = await h.req('POST', '/v1/events', {
        event_id: 'turn-1.tool-1', event_class: 'runtime_lifecycle', session_id: 'thread-1', parent_id: 'turn-1',
      });
      assert.equal(tool.status, 202);

      // A bystander session must not pick them up.
      await h.req('POST', '/v1/sessions', { session_id: 'thread-0', owner: other, conversation_id: 'conv-0' });

      h.clock.advance(30_000);
      const opened = await h.req('POST', '/v1/sessions', { session_id: 'thread-1', owner: codex, conversation_id: 'conv-1' });
      assert.equal(opened.status, 201);
      const rec = opened.json.reconciliation.recovered;
      assert.deepEqual(rec.map((r: any) => r.event_id), ['turn-1', 'turn-1.tool-1']);
      assert.ok(rec.every((r: any) => r.session_id === 'thread-1'));
      assert.deepEqual(opened.json.reconciliation.ambiguous, []);

      const dag = await h.req('GET', '/v1/sessions/thread-1');
      assert.equal(dag.status, 200);
      assert.equal(dag.json.session.session_id, 'thread-1');
      assert.deepEqual(dag.json.nodes.map((n: any) => n.event_id), ['turn-1', 'turn-1.tool-1']);
      const turnNode = dag.json.nodes[0];
      const toolNode = dag.json.nodes[1];
      assert.equal(turnNode.receipt_id, rec[0].node_receipt_id);
      assert.equal(turnNode.orphan_id, rec[0].orphan_id);
      assert.deepEqual(dag.json.edges, [{
        event_id: 'turn-1.tool-1', parent_id: 'turn-1', receipt_id: toolNode.receipt_id, parent_receipt_id: turnNode.receipt_id, parent_session_id: 'thread-1',
      }]);

      // The receipts say the same: the tool node answers the turn node and the orphan it was recovered from.
      const toolReceipt = await receipt(h, toolNode.receipt_id);
      assert.equal(toolReceipt.type, 'session.event');
      assert.equal(toolReceipt.session_id, 'thread-1');
      assert.deepEqual(toolReceipt.parents, [turnNode.receipt_id, tool.json.receipt.receipt_id].sort());
      const turnReceipt = await receipt(h, turnNode.receipt_id);
      assert.ok(turnReceipt.parents.includes(opened.json.receipt.receipt_id), 'a root node hangs off session.opened');

      // orphan.recovered closed each orphan.queued, carrying a valid recovered OrphanEventReceipt.
      assert.equal(await isOpen(h, turn.json.receipt.receipt_id), false);
      const recovered = await receipt(h, rec[0].recovered_receipt_id);
      assert.equal(recovered.type, 'orphan.recovered');
      assert.deepEqual(recovered.parents, [turn.json.receipt.receipt_id]);
      const doc = recovered.body.document;
      assert.equal(validateDocument(doc).valid, true, JSON.stringify(validateDocument(doc).errors));
      assert.equal(doc.id, `urn:srcos:receipt:orphan-event:${rec[0].orphan_id}`);
      assert.equal(doc.sessionResolution.state, 'recovered');
      assert.equal(doc.sessionResolution.recoveredSessionRef, 'urn:srcos:session:thread-1');
      assert.equal(doc.sessionResolution.recoveredDagNodeRef, `urn:srcos:session-dag-node:${turnNode.receipt_id}`);
      assert.equal(doc.sessionResolution.reconciledAt, '2026-03-01T12:00:30.000Z');
      assert.equal(doc.observedAt, '2026-03-01T12:00:00.000Z');
      assert.ok(doc.evidenceRefs.includes('sha256:' + '1'.repeat(64)));

      const listed = await h.req('GET', '/v1/orphans?state=recovered');
      assert.deepEqual(listed.json.orphans.map((o: any) => [o.event_id, o.recovered_session_id]), [['turn-1', 'thread-1'], ['turn-1.tool-1', 'thread-1']]);
      assert.equal((await h.req('GET', '/v1/orphans?state=queued')).json.orphans.length, 0);
      assert.equal((await h.req('GET', '/v1/sessions/thread-0')).json.nodes.length, 0);
    });

    test('later events of the known session attach at once, linked to their parent node', async () => {
      const next = await h.req('POST', '/v1/events', { event_id: 'turn-2', event_class: 'agent_lifecycle', session_id: 'thread-1', parent_id: 'turn-1' });
      assert.equal(next.status, 201);
      assert.equal(next.json.status, 'attached');
      assert.equal(next.json.receipt.type, 'session.event');
      const dag = (await h.req('GET', '/v1/sessions/thread-1')).json;
      const turn1 = dag.nodes.find((n: any) => n.event_id === 'turn-1');
      assert.deepEqual(next.json.receipt.parents, [turn1.receipt_id]);
      assert.equal(dag.nodes.at(-1).event_id, 'turn-2');
      assert.equal(dag.nodes.at(-1).orphan_id, null);
    });

    test('an event without session_id attaches through a correlation key when exactly one open session fits', async () => {
      const r = await h.req('POST', '/v1/events', { event_id: 'conv-only', event_class: 'plugin', correlation: { conversation_id: 'conv-1' } });
      assert.equal(r.status, 201);
      assert.equal(r.json.session_id, 'thread-1');
      assert.deepEqual(r.json.matched, ['conversation_id']);
      const byParent = await h.req('POST', '/v1/events', { event_id: 'child-only', event_class: 'plugin', parent_id: 'conv-only' });
      assert.equal(byParent.status, 201);
      assert.equal(byParent.json.session_id, 'thread-1');
      assert.deepEqual(byParent.json.matched, ['parent_id']);
    });

    test('out of order: a child reported before its parent still links to the parent node after recovery', async () => {
      const child = await h.req('POST', '/v1/events', { event_id: 'ooo-child', event_class: 'agent_lifecycle', parent_id: 'ooo-parent', correlation: { conversation_id: 'conv-ooo' } });
      const parent = await h.req('POST', '/v1/events', { event_id: 'ooo-parent', event_class: 'agent_lifecycle', correlation: { conversation_id: 'conv-ooo' } });
      assert.equal(child.status, 202);
      assert.equal(parent.status, 202);
      const opened = await h.req('POST', '/v1/sessions', { session_id: 'thread-ooo', owner: codex, conversation_id: 'conv-ooo' });
      assert.deepEqual(opened.json.reconciliation.recovered.map((r: any) => r.event_id), ['ooo-parent', 'ooo-child']);
      const dag = (await h.req('GET', '/v1/sessions/thread-ooo')).json;
      const p = dag.nodes.find((n: any) => n.event_id === 'ooo-parent');
      assert.deepEqual(dag.edges.map((e: any) => [e.event_id, e.parent_receipt_id]), [['ooo-child', p.receipt_id]]);
      const childNode = await receipt(h, dag.nodes.find((n: any) => n.event_id === 'ooo-child').receipt_id);
      assert.ok(childNode.parents.includes(p.receipt_id));
    });

    test('a queued child whose parent attaches later follows it into the session', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'thread-late', owner: codex });
      const child = await h.req('POST', '/v1/events', { event_id: 'late-child', event_class: 'transport', parent_id: 'late-parent' });
      assert.equal(child.status, 202);
      const parent = await h.req('POST', '/v1/events', { event_id: 'late-parent', event_class: 'transport', session_id: 'thread-late' });
      assert.equal(parent.status, 201);
      assert.deepEqual(parent.json.reconciliation.recovered.map((r: any) => [r.event_id, r.session_id, r.matched]), [['late-child', 'thread-late', ['parent_id']]]);
    });

    test('the DAG pages with a cursor', async () => {
      const first = (await h.req('GET', '/v1/sessions/thread-1?limit=2')).json;
      assert.equal(first.nodes.length, 2);
      assert.ok(first.cursor);
      const rest = (await h.req('GET', `/v1/sessions/thread-1?limit=100&cursor=${first.cursor}`)).json;
      const all = (await h.req('GET', '/v1/sessions/thread-1')).json;
      assert.deepEqual([...first.nodes, ...rest.nodes].map((n: any) => n.event_id), all.nodes.map((n: any) => n.event_id));
      assert.equal(rest.cursor, null);
    });

    test("another tenant neither sees the session nor feeds it orphans", async () => {
      const b = await h.newTenant('b');
      assert.equal((await h.req('GET', '/v1/sessions/thread-1', undefined, b.key)).status, 404);
      const r = await h.req('POST', '/v1/events', { event_id: 'b-1', event_class: 'plugin', correlation: { conversation_id: 'conv-1' } }, b.key);
      assert.equal(r.status, 202);
      assert.deepEqual(r.json.orphan.candidates, []);
    });
  });

  describe(`[${backend}] ambiguity: several candidate sessions`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    test('two sessions fit → the event stays queued listing both; closing one resolves it to the other', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'amb-a', owner: codex, conversation_id: 'conv-amb' });
      await h.req('POST', '/v1/sessions', { session_id: 'amb-b', owner: other, conversation_id: 'conv-amb' });
      const e = await h.req('POST', '/v1/events', { event_id: 'amb-1', event_class: 'agent_lifecycle', correlation: { conversation_id: 'conv-amb' } });
      assert.equal(e.status, 202);
      assert.deepEqual(e.json.orphan.candidates, ['amb-a', 'amb-b']);
      assert.deepEqual(e.json.receipt.body.document.sessionResolution.candidateSessionRefs, ['urn:srcos:session:amb-a', 'urn:srcos:session:amb-b']);
      const queued = (await h.req('GET', '/v1/orphans?state=queued')).json.orphans;
      assert.deepEqual(queued.map((o: any) => [o.event_id, o.candidates]), [['amb-1', ['amb-a', 'amb-b']]]);

      // A third session with the same key is reported as still ambiguous.
      const third = await h.req('POST', '/v1/sessions', { session_id: 'amb-c', owner: codex, conversation_id: 'conv-amb' });
      assert.deepEqual(third.json.reconciliation.ambiguous, [{ event_id: 'amb-1', orphan_id: e.json.orphan.orphan_id, candidates: ['amb-a', 'amb-b', 'amb-c'] }]);
      assert.deepEqual((await h.req('GET', '/v1/orphans?state=queued')).json.orphans[0].candidates, ['amb-a', 'amb-b', 'amb-c']);

      const closeA = await h.req('POST', '/v1/sessions/amb-a/close');
      assert.deepEqual(closeA.json.reconciliation.recovered, []);
      assert.deepEqual(closeA.json.reconciliation.ambiguous[0].candidates, ['amb-b', 'amb-c']);
      const closeC = await h.req('POST', '/v1/sessions/amb-c/close');
      assert.deepEqual(closeC.json.reconciliation.recovered.map((r: any) => [r.event_id, r.session_id]), [['amb-1', 'amb-b']]);
      const dag = (await h.req('GET', '/v1/sessions/amb-b')).json;
      assert.deepEqual(dag.nodes.map((n: any) => n.event_id), ['amb-1']);
      assert.equal((await h.req('GET', '/v1/orphans?state=queued')).json.orphans.length, 0);
    });

    test('two sessions fit → a key added to one of them narrows the choice to it', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'nar-a', owner: codex, conversation_id: 'conv-nar' });
      await h.req('POST', '/v1/sessions', { session_id: 'nar-b', owner: other, conversation_id: 'conv-nar' });
      const e = await h.req('POST', '/v1/events', {
        event_id: 'nar-1', event_class: 'terminal_workspace', correlation: { conversation_id: 'conv-nar', workspace_ref: 'urn:srcos:workspace:ws-nar' },
      });
      assert.equal(e.status, 202, JSON.stringify(e.json));
      assert.deepEqual(e.json.orphan.candidates, ['nar-a', 'nar-b']);
      const u = await h.req('PATCH', '/v1/sessions/nar-b', { workspace_ref: 'urn:srcos:workspace:ws-nar' });
      assert.equal(u.status, 200);
      assert.deepEqual(u.json.reconciliation.recovered.map((r: any) => [r.event_id, r.session_id, r.matched]), [['nar-1', 'nar-b', ['conversation_id', 'workspace_ref']]]);
      const recovered = (await h.req('GET', '/v1/orphans?state=recovered')).json.orphans.find((o: any) => o.event_id === 'nar-1');
      assert.equal(recovered.recovered_session_id, 'nar-b');
      assert.equal(validateDocument(recovered.document).valid, true);
    });

    test('a session contradicting a key is not a candidate', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'con-a', owner: codex, task_ref: 'task-con', conversation_id: 'conv-x' });
      const e = await h.req('POST', '/v1/events', { event_id: 'con-1', event_class: 'plugin', correlation: { task_ref: 'task-con', conversation_id: 'conv-y' } });
      assert.equal(e.status, 202);
      assert.deepEqual(e.json.orphan.candidates, []);
    });
  });
}
