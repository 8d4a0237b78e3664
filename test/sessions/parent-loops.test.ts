import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, type Harness } from '../helpers.js';

const codex = { kind: 'agent', id: 'codex' } as const;

for (const backend of BACKENDS) {
  describe(`[${backend}] an event whose parent chain leads back to it`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend, config: { sessions: { eventDescendantsCheckedMax: 3 } } });
      await h.req('POST', '/v1/sessions', { session_id: 'loop-s', owner: codex, conversation_id: 'conv-loop' });
    });
    after(async () => h.close());
    const count = () => h.services.store.countReceipts(h.tenantId);
    const edges = async () => (await h.req('GET', '/v1/sessions/loop-s')).json.edges.map((e: any) => [e.event_id, e.parent_id]);

    test('two events naming each other: the second is a coded 400, nothing written, the DAG keeps no loop', async () => {
      const a = await h.req('POST', '/v1/events', { event_id: 'pa', event_class: 'plugin', session_id: 'loop-s', parent_id: 'pb' });
      assert.equal(a.status, 201);
      const before = await count();
      const b = await h.req('POST', '/v1/events', { event_id: 'pb', event_class: 'plugin', session_id: 'loop-s', parent_id: 'pa' });
      assert.equal(b.status, 400, JSON.stringify(b.json));
      assert.equal(b.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.match(b.json.message, /leads back to it/);
      assert.equal(await count(), before);
      assert.deepEqual(await edges(), [['pa', 'pb']]);
      // Nothing of pb was kept: sent again without the loop, it is a new event (not a conflict with a stored one).
      const fixed = await h.req('POST', '/v1/events', { event_id: 'pb', event_class: 'plugin', session_id: 'loop-s' });
      assert.equal(fixed.status, 201, JSON.stringify(fixed.json));
    });

    test('a loop through a queued orphan is refused too, and the orphan stays queued', async () => {
      const q = await h.req('POST', '/v1/events', { event_id: 'oa', event_class: 'plugin', parent_id: 'ob' });
      assert.equal(q.status, 202);
      const before = await count();
      const b = await h.req('POST', '/v1/events', { event_id: 'ob', event_class: 'plugin', session_id: 'loop-s', parent_id: 'oa' });
      assert.equal(b.status, 400, JSON.stringify(b.json));
      assert.equal(b.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.equal(await count(), before);
      const orphan = (await h.req('GET', '/v1/orphans')).json.orphans.find((o: any) => o.event_id === 'oa');
      assert.equal(orphan.state, 'queued');
    });

    test('in a batch, the event closing a longer loop is refused alone', async () => {
      const r = await h.req('POST', '/v1/events', {
        events: [
          { event_id: 'l1', event_class: 'plugin', session_id: 'loop-s', parent_id: 'l3' },
          { event_id: 'l2', event_class: 'plugin', session_id: 'loop-s', parent_id: 'l1' },
          { event_id: 'l3', event_class: 'plugin', session_id: 'loop-s', parent_id: 'l2' },
          { event_id: 'l4', event_class: 'plugin', session_id: 'loop-s', parent_id: 'l2' },
        ],
      });
      assert.deepEqual(r.json.results.map((x: any) => [x.statusCode, x.status ?? x.error.code]), [
        [201, 'attached'], [201, 'attached'], [400, 'QUITTANCE_ERR_VALIDATION'], [201, 'attached'],
      ]);
      assert.match(r.json.results[2].error.message, /"l3" → "l2" → "l1" → "l3"/);
    });

    test('a long chain arriving in order is taken whatever its depth: the check looks down from the new event, not up its chain', async () => {
      for (let n = 0; n < 40; n++) {
        const r = await h.req('POST', '/v1/events', { event_id: `d${n}`, event_class: 'plugin', session_id: 'loop-s', ...(n > 0 && { parent_id: `d${n - 1}` }) });
        assert.equal(r.status, 201, `d${n}: ${JSON.stringify(r.json)}`);
      }
    });

    test('an event that more than sessions.eventDescendantsCheckedMax earlier events descend from is a coded 400', async () => {
      // Four events received before their ancestor x0: x1 → x0, x2 → x1, x3 → x2, x4 → x3.
      for (let n = 1; n <= 4; n++) {
        const r = await h.req('POST', '/v1/events', { event_id: `x${n}`, event_class: 'plugin', session_id: 'loop-s', parent_id: `x${n - 1}` });
        assert.equal(r.status, 201, JSON.stringify(r.json));
      }
      const before = await count();
      const x0 = await h.req('POST', '/v1/events', { event_id: 'x0', event_class: 'plugin', session_id: 'loop-s', parent_id: 'd0' });
      assert.equal(x0.status, 400, JSON.stringify(x0.json));
      assert.equal(x0.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.match(x0.json.message, /more than the 3 events/);
      assert.equal(await count(), before);
      // Three descendants are within the bound: y0 is checked and taken.
      for (let n = 1; n <= 3; n++) assert.equal((await h.req('POST', '/v1/events', { event_id: `y${n}`, event_class: 'plugin', session_id: 'loop-s', parent_id: `y${n - 1}` })).status, 201);
      assert.equal((await h.req('POST', '/v1/events', { event_id: 'y0', event_class: 'plugin', session_id: 'loop-s', parent_id: 'd0' })).status, 201);
    });
  });
}
