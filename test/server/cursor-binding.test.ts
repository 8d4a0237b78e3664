/**
 * A cursor continues the listing it came from. Before, cursors were bare seqs: the cursor of /v1/receipts was taken
 * by /v1/obligations/open, one of ?status=queued by ?status=failed, one of task A's trace by task B's, each silently
 * skipping whatever came before that seq in the other listing. Now a cursor is bound to its list, path parameters
 * and filters (not to limit), and any other use is a coded 400.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, agent, worker, type Harness } from '../helpers.js';

type Param = { name: string; in: string; description?: string };
type Spec = { paths: Record<string, Record<string, { parameters?: Param[] }>> };

describe('cursors are bound to their listing', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    for (let i = 0; i < 6; i++) {
      assert.equal((await h.req('POST', '/v1/tasks', { task_id: `t${i}`, type: i % 2 === 0 ? 'even' : 'odd' })).status, 201);
      assert.equal((await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: { i } })).status, 201);
    }
  });
  after(async () => h.close());

  const mismatch = (r: { status: number; json: { code: string; message: string } }, listing: string) => {
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.code, 'QUITTANCE_ERR_CURSOR_MISMATCH');
    assert.ok(r.json.message.includes(`than ${JSON.stringify(listing)}`), r.json.message);
  };

  test('a cursor pages its own listing to the end, whatever the page size', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let limit = 1;
    do {
      const r = await h.req('GET', `/v1/tasks?type=even&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      seen.push(...r.json.tasks.map((t: { task_id: string }) => t.task_id));
      cursor = r.json.cursor;
      limit = 2;
    } while (cursor !== null);
    assert.deepEqual(seen, ['t0', 't2', 't4']);
    // The open obligations and their deprecated alias are one list.
    const open = await h.req('GET', '/v1/obligations/open?limit=2');
    const viaAlias = await h.req('GET', `/v1/bootstrap?limit=2&cursor=${encodeURIComponent(open.json.cursor)}`);
    assert.equal(viaAlias.status, 200);
    assert.equal(viaAlias.json.open_obligations[0].seq, open.json.open_obligations[1].seq + 1);
    // HEAD takes the cursor as GET does.
    const head = await h.app.inject({ method: 'HEAD', url: `/v1/obligations/open?limit=2&cursor=${encodeURIComponent(open.json.cursor)}`, headers: { authorization: `Bearer ${h.key}` } });
    assert.equal(head.statusCode, 200);
  });

  test('another list, other filters or another path parameter refuse it', async () => {
    const tasks = (await h.req('GET', '/v1/tasks?status=queued&limit=2')).json.cursor as string;
    const c = encodeURIComponent(tasks);
    mismatch(await h.req('GET', `/v1/tasks?status=failed&limit=2&cursor=${c}`), '/v1/tasks?status=failed');
    mismatch(await h.req('GET', `/v1/tasks?cursor=${c}`), '/v1/tasks');
    mismatch(await h.req('GET', `/v1/receipts?cursor=${c}`), '/v1/receipts');
    mismatch(await h.req('GET', `/v1/obligations/open?cursor=${c}`), '/v1/obligations/open');
    const receipts = encodeURIComponent((await h.req('GET', '/v1/receipts?limit=1')).json.cursor);
    mismatch(await h.req('GET', `/v1/obligations/open?cursor=${receipts}`), '/v1/obligations/open');
    assert.equal((await h.req('GET', `/v1/receipts?limit=3&cursor=${receipts}`)).status, 200);
    const open = encodeURIComponent((await h.req('GET', '/v1/obligations/open?limit=1')).json.cursor);
    mismatch(await h.req('GET', `/v1/obligations/open?principal_kind=worker&principal_id=w1&cursor=${open}`), '/v1/obligations/open?principal_kind=worker&principal_id=w1');

    // One task's trace is not another's.
    for (let i = 0; i < 3; i++) await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, task_id: 't0', body: { n: i } });
    const trace = (await h.req('GET', '/v1/tasks/t0?limit=1')).json.cursor as string;
    assert.equal((await h.req('GET', `/v1/tasks/t0?limit=1&cursor=${encodeURIComponent(trace)}`)).status, 200);
    mismatch(await h.req('GET', `/v1/tasks/t1?limit=1&cursor=${encodeURIComponent(trace)}`), '/v1/tasks/t1');
  });

  test('every paging route refuses a cursor of another listing', async () => {
    const foreign = encodeURIComponent((await h.req('GET', '/v1/receipts?limit=1')).json.cursor);
    const spec = (await h.req('GET', '/openapi.json', undefined, null)).json as Spec;
    const checked: string[] = [];
    for (const [path, ops] of Object.entries(spec.paths)) {
      if (!ops['get']?.parameters?.some((p) => p.in === 'query' && p.name === 'cursor') || path === '/v1/receipts') continue;
      const param = ops['get']!.parameters!.find((p) => p.in === 'query' && p.name === 'cursor')!;
      assert.match(param.description ?? '', /QUITTANCE_ERR_CURSOR_MISMATCH/, `${path}: the OpenAPI document says what a cursor is`);
      const url = path.replace('{ref}', encodeURIComponent('urn:srcos:capability:x@1')).replace(/\{[^}]+\}/g, 'x');
      mismatch(await h.req('GET', `${url}?cursor=${foreign}`), url);
      checked.push(path);
    }
    for (const path of ['/v1/tasks', '/v1/tasks/{id}', '/v1/obligations/open', '/v1/anomalies', '/v1/orphans', '/v1/sessions/{id}', '/v1/investigations', '/v1/stamps/{id}', '/v1/capabilities', '/v1/capabilities/{ref}', '/v1/contracts', '/v1/automation/sessions']) {
      assert.ok(checked.includes(path), path);
    }
  });

  test('a cursor given out before cursors were bound is still taken; a malformed tag is not a cursor', async () => {
    const bound = (await h.req('GET', '/v1/tasks?limit=2')).json.cursor as string;
    const bare = bound.slice(bound.indexOf('.') + 1);
    assert.ok(bare.length > 0 && !bare.includes('.'), bound);
    const r = await h.req('GET', `/v1/tasks?cursor=${bare}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.tasks[0].task_id, 't2');
    assert.deepEqual(r.json.tasks, (await h.req('GET', `/v1/tasks?cursor=${encodeURIComponent(bound)}`)).json.tasks);
    const bad = await h.req('GET', '/v1/tasks?cursor=ab.c2VxOjI');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'QUITTANCE_ERR_INVALID_CURSOR');
  });
});
