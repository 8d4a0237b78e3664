import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, tempDir, type Harness } from '../helpers.js';
import { validateDocument } from '../../src/contracts/validate.js';
import { ManualClock } from '../../src/clock.js';
import { createServices, startServer } from '../../src/server/index.js';
import { Sessions } from '../../src/sessions/engine.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { resolveConfig } from '../../src/config.js';
import { QuittanceClient, QuittanceClientError } from '../../src/client/index.js';

const codex = { kind: 'agent', id: 'codex' } as const;
const other = { kind: 'agent', id: 'claude' } as const;

async function count(h: Harness): Promise<number> {
  return h.services.store.countReceipts(h.tenantId);
}

async function isOpen(h: Harness, receiptId: string): Promise<boolean> {
  return (await h.req('POST', '/v1/obligations/check-terminator', { parent_receipt_id: receiptId })).json.open;
}

for (const backend of BACKENDS) {
  describe(`[${backend}] repeated event ids`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
      await h.req('POST', '/v1/sessions', { session_id: 'dup-s', owner: codex, conversation_id: 'conv-dup' });
    });
    after(async () => h.close());

    test('an attached event sent again is an idempotent retry: the stored node, nothing written', async () => {
      const e = { event_id: 'dup-node', event_class: 'plugin', session_id: 'dup-s', payload_digest: 'sha256:' + 'a'.repeat(64) };
      const first = await h.req('POST', '/v1/events', e);
      assert.equal(first.status, 201);
      const before = await count(h);
      const again = await h.req('POST', '/v1/events', e);
      assert.equal(again.status, 200);
      assert.equal(again.json.status, 'duplicate');
      assert.equal(again.json.receipt.receipt_id, first.json.receipt.receipt_id);
      assert.equal(await count(h), before);
    });

    test('an attached event id reused with different content → 409, nothing written', async () => {
      const before = await count(h);
      const r = await h.req('POST', '/v1/events', { event_id: 'dup-node', event_class: 'transport', session_id: 'dup-s' });
      assert.equal(r.status, 409);
      assert.equal(r.json.code, 'QUITTANCE_ERR_EVENT_ID_CONFLICT');
      assert.equal(r.json.session_id, 'dup-s');
      assert.equal(await count(h), before);
    });

    test('a queued orphan sent again → orphan.discarded_duplicate; the first delivery stays queued and is later recovered once', async () => {
      const e = { event_id: 'dup-orphan', event_class: 'agent_lifecycle', session_id: 'dup-later' };
      const first = await h.req('POST', '/v1/events', e);
      assert.equal(first.status, 202);
      const before = await count(h);
      const again = await h.req('POST', '/v1/events', e);
      assert.equal(again.status, 200);
      assert.equal(again.json.status, 'discarded_duplicate');
      assert.deepEqual(again.json.duplicate_of, { orphan_id: first.json.orphan.orphan_id, state: 'queued' });
      assert.equal(again.json.queued_receipt.type, 'orphan.queued');
      assert.equal(again.json.queued_receipt.body.delivery, 2);
      assert.equal(again.json.receipt.type, 'orphan.discarded_duplicate');
      assert.deepEqual(again.json.receipt.parents, [again.json.queued_receipt.receipt_id]);
      assert.equal(again.json.receipt.discharges, true);
      assert.equal(await count(h), before + 2);
      const doc = again.json.receipt.body.document;
      assert.equal(validateDocument(doc).valid, true);
      assert.equal(doc.sessionResolution.state, 'discarded_duplicate');
      assert.ok(doc.causalRefs.includes(`urn:srcos:receipt:orphan-event:${first.json.orphan.orphan_id}`));

      assert.equal(await isOpen(h, first.json.receipt.receipt_id), true);
      assert.equal(await isOpen(h, again.json.queued_receipt.receipt_id), false);
      const dups = (await h.req('GET', '/v1/orphans?state=discarded_duplicate')).json.orphans;
      assert.deepEqual(dups.map((o: any) => [o.event_id, o.duplicate_of]), [['dup-orphan', first.json.orphan.orphan_id]]);

      const opened = await h.req('POST', '/v1/sessions', { session_id: 'dup-later', owner: codex });
      assert.deepEqual(opened.json.reconciliation.recovered.map((r: any) => r.orphan_id), [first.json.orphan.orphan_id]);
      assert.deepEqual((await h.req('GET', '/v1/sessions/dup-later')).json.nodes.map((n: any) => n.event_id), ['dup-orphan']);
      // Now a node: a third delivery is an idempotent retry.
      const third = await h.req('POST', '/v1/events', e);
      assert.equal(third.json.status, 'duplicate');
    });
  });

  describe(`[${backend}] quarantine after the TTL`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend, config: { sessions: { orphanTtlSeconds: 60 } } });
    });
    after(async () => h.close());

    test('unreconciled past its TTL → orphan.quarantined with a valid OrphanEventReceipt and an orphan_quarantined anomaly', async () => {
      const q = await h.req('POST', '/v1/events', {
        event_id: 'ghost-1', event_class: 'browser_automation', session_id: 'ghost', parent_id: 'ghost-0',
        correlation: { conversation_id: 'conv-ghost', workspace_ref: 'urn:srcos:workspace:ws-ghost', task_ref: 'task-ghost' },
      });
      assert.equal(q.status, 202);
      assert.equal(q.json.orphan.expires_at, '2026-03-01T12:01:00.000Z');

      h.clock.advance(59_999);
      assert.equal(await h.services.sessions.sweepOrphans(), 0);
      assert.equal((await h.req('GET', '/v1/orphans?state=queued')).json.orphans.length, 1);

      h.clock.advance(1);
      const before = await count(h);
      assert.equal(await h.services.sessions.sweepOrphans(), 1);
      assert.equal(await count(h), before + 2);
      // Idempotent: the next sweep (on this or any server) finds nothing.
      assert.equal(await h.services.sessions.sweepOrphans(), 0);
      assert.equal(await count(h), before + 2);

      const [o] = (await h.req('GET', '/v1/orphans?state=quarantined')).json.orphans;
      assert.equal(o.event_id, 'ghost-1');
      assert.equal(o.resolved_at, '2026-03-01T12:01:00.000Z');
      const quarantined = (await h.req('GET', `/v1/receipts/${o.resolution_receipt_id}`)).json.receipt;
      assert.equal(quarantined.type, 'orphan.quarantined');
      assert.equal(quarantined.session_id, 'ghost');
      assert.deepEqual(quarantined.parents, [q.json.receipt.receipt_id]);
      assert.equal(await isOpen(h, q.json.receipt.receipt_id), false);

      const doc = quarantined.body.document;
      const check = validateDocument(doc);
      assert.equal(check.valid, true, JSON.stringify(check.errors));
      assert.equal(doc.type, 'OrphanEventReceipt');
      assert.equal(doc.id, `urn:srcos:receipt:orphan-event:${o.orphan_id}`);
      assert.equal(doc.eventRef, 'urn:srcos:event:ghost-1');
      assert.equal(doc.eventClass, 'browser_automation');
      assert.equal(doc.sessionResolution.state, 'quarantined');
      assert.equal(doc.sessionResolution.quarantinedAt, '2026-03-01T12:01:00.000Z');
      assert.equal(doc.sessionResolution.recoveredSessionRef, null);
      assert.deepEqual(doc.ttl, { expiresAt: '2026-03-01T12:01:00.000Z', expired: true });
      assert.deepEqual(doc.correlationKeys, { conversationId: 'conv-ghost', parentId: 'ghost-0', workspaceRef: 'urn:srcos:workspace:ws-ghost', taskRef: 'task-ghost' });
      assert.match(doc.policyDecisionRef, /^urn:srcos:decision:quittance:orphan-quarantine:/);
      assert.ok(doc.evidenceRefs.includes(`urn:quittance:receipt:${q.json.receipt.receipt_id}`));
      assert.deepEqual(o.document, doc);

      const anomalies = (await h.req('GET', '/v1/anomalies?kind=orphan_quarantined')).json.anomalies;
      assert.equal(anomalies.length, 1);
      assert.deepEqual(anomalies[0].parents, [quarantined.receipt_id]);
      assert.equal(anomalies[0].body.event_id, 'ghost-1');
      assert.equal(anomalies[0].session_id, 'ghost');
    });

    test('a quarantined orphan stays quarantined when its session finally opens; a late repeat is a discarded duplicate', async () => {
      const opened = await h.req('POST', '/v1/sessions', { session_id: 'ghost', owner: codex });
      assert.deepEqual(opened.json.reconciliation.recovered, []);
      assert.deepEqual((await h.req('GET', '/v1/sessions/ghost')).json.nodes, []);
      const again = await h.req('POST', '/v1/events', { event_id: 'ghost-1', event_class: 'browser_automation', session_id: 'ghost' });
      assert.equal(again.json.status, 'discarded_duplicate');
      assert.equal(again.json.duplicate_of.state, 'quarantined');
    });

    test('past its TTL but not yet swept, an orphan is not recovered: the TTL decides, not the sweep timing', async () => {
      const q = await h.req('POST', '/v1/events', { event_id: 'slow-1', event_class: 'plugin', session_id: 'slow' });
      h.clock.advance(60_000);
      const opened = await h.req('POST', '/v1/sessions', { session_id: 'slow', owner: codex });
      assert.deepEqual(opened.json.reconciliation.recovered, []);
      assert.equal(await h.services.sessions.sweepOrphans(), 1);
      const [o] = (await h.req('GET', '/v1/orphans?state=quarantined')).json.orphans.filter((x: any) => x.event_id === 'slow-1');
      assert.equal(o.queued_receipt_id, q.json.receipt.receipt_id);
    });

    test('an ambiguous orphan is quarantined with its candidates as evidence', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'qa-a', owner: codex, task_ref: 'task-qa' });
      await h.req('POST', '/v1/sessions', { session_id: 'qa-b', owner: other, task_ref: 'task-qa' });
      await h.req('POST', '/v1/events', { event_id: 'qa-1', event_class: 'unknown', correlation: { task_ref: 'task-qa' } });
      h.clock.advance(61_000);
      assert.equal(await h.services.sessions.sweepOrphans(), 1);
      const [o] = (await h.req('GET', '/v1/orphans?state=quarantined')).json.orphans.filter((x: any) => x.event_id === 'qa-1');
      assert.deepEqual(o.document.sessionResolution.candidateSessionRefs, ['urn:srcos:session:qa-a', 'urn:srcos:session:qa-b']);
      const anomaly = (await h.req('GET', '/v1/anomalies?kind=orphan_quarantined')).json.anomalies.find((a: any) => a.body.event_id === 'qa-1');
      assert.deepEqual(anomaly.body.candidates, ['qa-a', 'qa-b']);
      assert.match(anomaly.body.message, /fitted 2 sessions/);
    });

    test('the sweep works in batches across tenants', async () => {
      const b = await h.newTenant('sweep-b');
      for (let i = 0; i < 7; i++) {
        await h.req('POST', '/v1/events', { event_id: `batch-${i}`, event_class: 'plugin', session_id: 'never' }, i % 2 ? b.key : h.key);
      }
      h.clock.advance(60_000);
      const small = await harnessSweep(h, 3);
      assert.equal(small, 7);
      const bq = (await h.req('GET', '/v1/orphans?state=quarantined', undefined, b.key)).json.orphans;
      assert.equal(bq.length, 3);
    });
  });

  describe(`[${backend}] POST /v1/events batches, and nothing is dropped silently`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
      await h.req('POST', '/v1/sessions', { session_id: 'b-s', owner: codex });
    });
    after(async () => h.close());

    test('a batch is answered per event, in order; a later event may name an earlier one as parent', async () => {
      const r = await h.req('POST', '/v1/events', {
        events: [
          { event_id: 'b-1', event_class: 'agent_lifecycle', session_id: 'b-s' },
          { event_id: 'b-2', event_class: 'agent_lifecycle', parent_id: 'b-1' },
          { event_id: 'b-3', event_class: 'agent_lifecycle', parent_id: 'x', correlation: { parent_id: 'y' } },
          { event_id: 'b-4', event_class: 'plugin', session_id: 'b-unknown' },
          { event_id: 'b-1', event_class: 'transport', session_id: 'b-s' },
          { event_id: 'b-4', event_class: 'plugin', session_id: 'b-unknown' },
        ],
      });
      assert.equal(r.status, 200);
      const res = r.json.results;
      assert.deepEqual(res.map((x: any) => [x.statusCode, x.status ?? x.error.code]), [
        [201, 'attached'],
        [201, 'attached'],
        [400, 'QUITTANCE_ERR_VALIDATION'],
        [202, 'queued'],
        [409, 'QUITTANCE_ERR_EVENT_ID_CONFLICT'],
        [200, 'discarded_duplicate'],
      ]);
      assert.deepEqual(res[1].receipt.parents, [res[0].receipt.receipt_id]);
      const dag = (await h.req('GET', '/v1/sessions/b-s')).json;
      assert.deepEqual(dag.nodes.map((n: any) => n.event_id), ['b-1', 'b-2']);
    });

    test('a batch over the limit or a malformed item is refused whole with a coded 400', async () => {
      const bad = await h.req('POST', '/v1/events', { events: [{ event_id: 'ok', event_class: 'plugin' }, { event_class: 'plugin' }] });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.equal((await h.req('POST', '/v1/events', { events: [] })).status, 400);
      assert.equal((await h.req('GET', '/v1/orphans')).json.orphans.filter((o: any) => o.event_id === 'ok').length, 0);
    });

    test('every delivery gets a receipt naming its event, or a coded refusal; receipts add up', async () => {
      await h.req('POST', '/v1/sessions', { session_id: 'n-s', owner: codex, conversation_id: 'conv-n' });
      // A deterministic mix: known session, known conversation, unknown session, parents, and repeats of each.
      const sent: Record<string, unknown>[] = [];
      // Deliveries 29..39 repeat events 0..10 exactly; two more reuse an id with different content.
      for (let i = 0; i < 40; i++) {
        const j = i % 29;
        const id = `n-${j}`;
        if (j % 4 === 0) sent.push({ event_id: id, event_class: 'agent_lifecycle', session_id: 'n-s' });
        else if (j % 4 === 1) sent.push({ event_id: id, event_class: 'plugin', correlation: { conversation_id: 'conv-n' } });
        else if (j % 4 === 2) sent.push({ event_id: id, event_class: 'transport', session_id: `n-unknown-${j % 3}` });
        else sent.push({ event_id: id, event_class: 'runtime_lifecycle', parent_id: `n-${(j + 1) % 29}` });
      }
      sent.push({ event_id: 'n-0', event_class: 'plugin', session_id: 'n-s' }, { event_id: 'n-4', event_class: 'unknown', session_id: 'n-s' });
      const before = await count(h);
      const answers: any[] = [];
      for (let i = 0; i < sent.length; i += 10) answers.push(...(await h.req('POST', '/v1/events', { events: sent.slice(i, i + 10) })).json.results);
      assert.equal(answers.length, sent.length);

      const tally: Record<string, number> = {};
      for (const [i, a] of answers.entries()) {
        const label = a.status ?? a.error.code;
        tally[label] = (tally[label] ?? 0) + 1;
        if (a.error) {
          assert.equal(a.error.code, 'QUITTANCE_ERR_EVENT_ID_CONFLICT', JSON.stringify(a));
          continue;
        }
        const stored = (await h.req('GET', `/v1/receipts/${a.receipt.receipt_id}`)).json.receipt;
        assert.equal(stored.body.event_id, (sent[i] as { event_id: string }).event_id);
        assert.equal(a.event_id, (sent[i] as { event_id: string }).event_id);
      }
      const unique = new Set(sent.map((e) => e.event_id)).size;
      assert.equal((tally['attached'] ?? 0) + (tally['queued'] ?? 0), unique, JSON.stringify(tally));
      // Each new event is one receipt (node or orphan.queued), each discarded duplicate two, plus each
      // recovery (node + orphan.recovered) caused along the way; duplicates of nodes and refusals none.
      const recoveries = answers.reduce((n, a) => n + (a.reconciliation?.recovered.length ?? 0), 0);
      assert.equal(await count(h) - before, unique + 2 * (tally['discarded_duplicate'] ?? 0) + 2 * recoveries, JSON.stringify(tally));
      assert.ok((tally['duplicate'] ?? 0) > 0 && (tally['discarded_duplicate'] ?? 0) > 0 && (tally['queued'] ?? 0) > 0, JSON.stringify(tally));
      assert.equal(tally['QUITTANCE_ERR_EVENT_ID_CONFLICT'], 2);

      // And every event id is accounted for: a DAG node, or a first-delivery orphan.
      const nodes = new Set((await h.req('GET', '/v1/sessions/n-s')).json.nodes.map((n: any) => n.event_id));
      const orphans = (await h.req('GET', '/v1/orphans?limit=1000')).json.orphans.filter((o: any) => o.duplicate_of === null);
      for (const id of new Set(sent.map((e) => e.event_id as string))) {
        assert.ok(nodes.has(id) || orphans.some((o: any) => o.event_id === id && o.state === 'queued'), id);
      }
    });
  });

  describe(`[${backend}] an orphan that fits many sessions`, () => {
    let h: Harness;
    // 130 open sessions with 256-character ids share a workspace: listing them all takes more than a 64 KiB body.
    const ids = (tag: string) => Array.from({ length: 130 }, (_, i) => `${tag}-${String(i).padStart(3, '0')}-`.padEnd(256, 'x'));
    const open = async (list: string[], workspaceRef: string) => {
      for (const id of list) assert.equal((await h.req('POST', '/v1/sessions', { session_id: id, owner: codex, workspace_ref: workspaceRef })).status, 201);
    };
    before(async () => {
      h = await harness({ backend, config: { sessions: { orphanTtlSeconds: 60 } } });
    });
    after(async () => h.close());

    test('is queued listing the first candidates and their number, not refused as an oversized body', async () => {
      const ws = 'urn:srcos:workspace:busy';
      const busy = ids('busy');
      await open(busy, ws);
      const q = await h.req('POST', '/v1/events', { event_id: 'busy-1', event_class: 'plugin', correlation: { workspace_ref: ws } });
      assert.equal(q.status, 202, JSON.stringify(q.json).slice(0, 300));
      assert.equal(q.json.orphan.candidates.length, 130);
      assert.equal(q.json.receipt.body.candidates_total, 130);
      assert.deepEqual(q.json.receipt.body.candidates, busy.slice(0, 32));
      assert.equal(q.json.receipt.body.document.sessionResolution.candidateSessionRefs.length, 32);
      assert.equal(validateDocument(q.json.receipt.body.document).valid, true);
    });

    test('with session ids of 4-byte characters too: queued, and quarantined, not refused as an oversized body', async () => {
      const ws = 'urn:srcos:workspace:wide';
      // 40 ids of 256 characters of 4 bytes each (1 KiB in UTF-8): 32 of them listed twice (the candidates and the document's refs) take 66 KB.
      const wide = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')}`.padEnd(2 + 2 * 254, '\u{20000}'));
      assert.equal(Buffer.byteLength(wide[0]!), 2 + 4 * 254);
      await open(wide, ws);
      const q = await h.req('POST', '/v1/events', { event_id: 'wide-1', event_class: 'plugin', correlation: { workspace_ref: ws } });
      assert.equal(q.status, 202, JSON.stringify(q.json).slice(0, 300));
      assert.equal(q.json.orphan.candidates.length, 40);
      assert.equal(q.json.receipt.body.candidates_total, 40);
      // As many as take the bytes of 32 ASCII ids of 256 characters: 8 of these.
      assert.deepEqual(q.json.receipt.body.candidates, wide.slice(0, 8));
      assert.equal(q.json.receipt.body.document.sessionResolution.candidateSessionRefs.length, 8);
      assert.equal(validateDocument(q.json.receipt.body.document).valid, true);
      const again = await h.req('POST', '/v1/events', { event_id: 'wide-1', event_class: 'plugin', correlation: { workspace_ref: ws } });
      assert.equal(again.status, 200, JSON.stringify(again.json).slice(0, 300));
      assert.equal(again.json.status, 'discarded_duplicate');
      h.clock.advance(61_000);
      assert.ok((await h.services.sessions.sweepOrphans()) >= 1);
      const [o] = (await h.req('GET', '/v1/orphans?state=quarantined&limit=1000')).json.orphans.filter((x: any) => x.event_id === 'wide-1');
      assert.ok(o, 'quarantined');

      // Ids of control characters: 1 byte each in UTF-8, 6 in a receipt's JSON (\u0001). Counted as the receipt holds them.
      const ctl = Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, '0')}`.padEnd(256, '\u0001'));
      await open(ctl, 'urn:srcos:workspace:ctl');
      const c = await h.req('POST', '/v1/events', { event_id: 'ctl-1', event_class: 'plugin', correlation: { workspace_ref: 'urn:srcos:workspace:ctl' } });
      assert.equal(c.status, 202, JSON.stringify(c.json).slice(0, 300));
      assert.equal(c.json.receipt.body.candidates_total, 40);
      assert.deepEqual(c.json.receipt.body.candidates, ctl.slice(0, 5));
    });

    test('gaining candidates while queued, it is still quarantined when its TTL passes', async () => {
      const ws = 'urn:srcos:workspace:later';
      const later = ids('later');
      // Queued when two sessions fit it (a small receipt), then every further open makes it more ambiguous.
      await open(later.slice(0, 2), ws);
      const q = await h.req('POST', '/v1/events', { event_id: 'busy-2', event_class: 'plugin', correlation: { workspace_ref: ws } });
      assert.equal(q.status, 202);
      assert.equal(q.json.orphan.candidates.length, 2);
      await open(later.slice(2), ws);
      h.clock.advance(61_000);
      assert.ok((await h.services.sessions.sweepOrphans()) >= 1);
      const [o] = (await h.req('GET', '/v1/orphans?state=quarantined')).json.orphans.filter((x: any) => x.event_id === 'busy-2');
      assert.equal(o.candidates.length, 130);
      assert.equal(o.document.sessionResolution.candidateSessionRefs.length, 32);
      const anomaly = (await h.req('GET', '/v1/anomalies?kind=orphan_quarantined')).json.anomalies.find((a: any) => a.body.event_id === 'busy-2');
      assert.equal(anomaly.body.candidates_total, 130);
      assert.match(anomaly.body.message, /fitted 130 sessions/);
    });
  });
}

/** Sweeps with a small batch size, as a server with orphanSweepBatchMax = batch would. */
async function harnessSweep(h: Harness, batch: number): Promise<number> {
  const config = resolveConfig({ sessions: { orphanTtlSeconds: 60, orphanSweepBatchMax: batch } });
  return new Sessions(new Ledger(h.services.store, config, h.clock)).sweepOrphans();
}

describe('the server sweeps orphans on its own', () => {
  test('a running server quarantines an expired orphan within its sweep interval', async () => {
    const tmp = tempDir();
    const clock = new ManualClock('2026-03-01T12:00:00.000Z');
    const services = createServices({ dataDir: tmp.dir, clock, config: { sessions: { orphanTtlSeconds: 5, orphanSweepIntervalMs: 50 } } });
    const t = await services.tenants.createTenant('a');
    const key = (await services.tenants.createKey(t.tenant_id, ['admin'])).api_key;
    const server = await startServer({ services, port: 0 });
    try {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const post = await fetch(`${server.url}/v1/events`, { method: 'POST', headers, body: JSON.stringify({ event_id: 'lost', event_class: 'plugin', session_id: 'nowhere' }) });
      assert.equal(post.status, 202);
      const quarantined = async () => ((await (await fetch(`${server.url}/v1/orphans?state=quarantined`, { headers })).json()) as { orphans: unknown[] }).orphans.length;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await quarantined(), 0, 'not before its TTL');
      clock.advance(5_000);
      const deadline = Date.now() + 5_000;
      while ((await quarantined()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      assert.equal(await quarantined(), 1);
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });

  test('the client SDK drives the seed case over real HTTP', async () => {
    const tmp = tempDir();
    const services = createServices({ dataDir: tmp.dir, clock: new ManualClock('2026-03-01T12:00:00.000Z') });
    const t = await services.tenants.createTenant('a');
    const key = (await services.tenants.createKey(t.tenant_id, ['admin'])).api_key;
    const server = await startServer({ services, port: 0 });
    try {
      const c = new QuittanceClient({ url: server.url, key });
      const turn = await c.reportEvent({ event_id: 'sdk-turn', event_class: 'agent_lifecycle', correlation: { conversation_id: 'sdk-conv' } });
      assert.equal(turn.status, 'queued');
      const batch = await c.reportEvents([
        { event_id: 'sdk-tool', event_class: 'runtime_lifecycle', parent_id: 'sdk-turn' },
        { event_id: 'sdk-bad', event_class: 'plugin', parent_id: 'a', correlation: { parent_id: 'b' } },
      ]);
      assert.deepEqual(batch.results.map((r) => r.statusCode), [202, 400]);
      await assert.rejects(c.openSession({ session_id: 'sdk-s', owners: [codex, other] }), (e: unknown) => e instanceof QuittanceClientError && e.code === 'QUITTANCE_ERR_AMBIGUOUS_SESSION_OWNERSHIP');
      const opened = await c.openSession({ session_id: 'sdk-s', owner: codex });
      assert.deepEqual(opened.reconciliation.recovered, []);
      const updated = await c.updateSession('sdk-s', { conversation_id: 'sdk-conv' });
      assert.deepEqual(updated.reconciliation.recovered.map((r) => r.event_id), ['sdk-turn', 'sdk-tool']);
      const dag = await c.session('sdk-s');
      assert.deepEqual(dag.edges.map((e) => [e.event_id, e.parent_id]), [['sdk-tool', 'sdk-turn']]);
      assert.equal((await c.orphans({ state: 'recovered' })).orphans.length, 2);
      assert.equal((await c.closeSession('sdk-s', { reason: 'done' })).status, 'closed');
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });
});
