/**
 * The ledger's own schemas (schemas/Task.schema.json, ...) held to the live API, on every backend: what a request
 * schema calls valid, its route accepts; what the server answers validates against the response schemas, with the
 * project's own validator. The schemas had drifted from the routes (worker vs worker_id, a `to` the route refused,
 * fields the server sends that Task and Stamp forbade); this keeps them together.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { validateDocument } from '../../src/contracts/validate.js';
import { inlineContractSchema } from '../../src/server/schemas.js';
import { BACKENDS, harness, agent, worker, artifact, type Harness } from '../helpers.js';
import { examplesOf, type Example } from './helpers.js';

/** Keywords that only annotate a schema; the constraints are everything else. */
const ANNOTATIONS = new Set(['description', 'title', '$comment', 'examples']);

/** A schema's constraints only, `required` sorted, so a contract schema and a route schema compare as data. */
function constraints(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(constraints);
  if (typeof s !== 'object' || s === null) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (ANNOTATIONS.has(k)) continue;
    if (k === 'required' && Array.isArray(v)) out[k] = [...v].sort();
    // Property names are data, not keywords: a property called `description` is compared like any other.
    else if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as object).map(([p, x]) => [p, constraints(x)]));
    else out[k] = constraints(v);
  }
  return out;
}

/** The request schemas, with the route that takes them. */
const REQUEST_ROUTES: Record<string, string> = { TaskCreate: '/v1/tasks', LeaseClaimRequest: '/v1/leases/claim' };

/**
 * Invalid examples of a request schema the route accepts on purpose, and why. Anything else the schema refuses,
 * the route must refuse too.
 */
const ROUTE_RELAXES: Record<string, string> = {
  'ReceiptInput/invalid-duplicate-parents.json': 'parents are a set: the ledger folds a repeated id (src/server/schemas.ts)',
};

const valid = (ex: Example) => ex.kind === 'valid';
const invalid = (ex: Example) => ex.kind === 'invalid';

for (const backend of BACKENDS) {
  describe(`[${backend}] the ledger's schemas describe the live API`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ backend });
    });
    after(async () => h.close());

    /** Validates a live document against a ledger schema with the project's validator; says what drifted. */
    const conforms = (schema: string, doc: unknown, what: string) => {
      const r = validateDocument(doc, { schema });
      assert.deepEqual(r.errors, [], `${what} does not validate against ${schema}: ${JSON.stringify(doc)}`);
    };
    let tenants = 0;
    /** A fresh tenant's key, so idempotency keys and queued tasks of one example do not meet another's. */
    const fresh = async () => (await h.newTenant(`live-${tenants++}`)).key;

    /** A task.assigned obligation: what a terminator in an example closes, in place of the example's made-up ids. */
    const obligation = async (key: string) => {
      const r = await h.req('POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: {} }, key);
      assert.equal(r.status, 201, JSON.stringify(r.json));
      return r.json.receipt.receipt_id as string;
    };

    test('each request schema states exactly the constraints of its route (OpenAPI)', async () => {
      const api = (await h.req('GET', '/openapi.json', undefined, null)).json;
      for (const [name, path] of Object.entries(REQUEST_ROUTES)) {
        const route = api.paths[path].post.requestBody.content['application/json'].schema;
        assert.deepEqual(constraints(inlineContractSchema(name)), constraints(route), `schemas/${name}.schema.json vs POST ${path}`);
      }
    });

    test('the valid examples of each request schema use every property it declares, so each is sent to the route', () => {
      for (const name of [...Object.keys(REQUEST_ROUTES), 'ReceiptInput']) {
        const used = new Set(examplesOf(name).filter(valid).flatMap((ex) => Object.keys(ex.content as object)));
        const declared = Object.keys(inlineContractSchema(name).properties!);
        assert.deepEqual(declared.filter((p) => !used.has(p)), [], `examples/${name}: no valid example uses these`);
      }
    });

    test('every valid TaskCreate example is accepted by POST /v1/tasks; the task it creates is a Task', async () => {
      for (const ex of examplesOf('TaskCreate').filter(valid)) {
        const key = await fresh();
        const r = await h.req('POST', '/v1/tasks', ex.content, key);
        assert.equal(r.status, 201, `TaskCreate/${ex.file}: ${JSON.stringify(r.json)}`);
        conforms('Task', r.json.task, `POST /v1/tasks answer to ${ex.file}`);
        conforms('Receipt', r.json.receipt, `POST /v1/tasks receipt for ${ex.file}`);
        const got = await h.req('GET', `/v1/tasks/${encodeURIComponent(r.json.task.task_id)}`, undefined, key);
        conforms('Task', got.json.task, `GET /v1/tasks/{id} after ${ex.file}`);
        for (const rc of got.json.receipts) conforms('Receipt', rc, `a receipt of task ${ex.file}`);
      }
    });

    test('every valid LeaseClaimRequest example is accepted by POST /v1/leases/claim, which answers a LeaseClaimResponse', async () => {
      const exs = examplesOf('LeaseClaimRequest').filter(valid);
      assert.ok(exs.length >= 2);
      for (const ex of exs) {
        const key = await fresh();
        // A task any of the examples may take, so the answer holds a grant and not only [].
        const task = { ...examplesOf('TaskCreate').find((e) => e.file === 'valid-minimal.json')!.content as object };
        assert.equal((await h.req('POST', '/v1/tasks', task, key)).status, 201);
        const r = await h.req('POST', '/v1/leases/claim', ex.content, key);
        assert.equal(r.status, 200, `LeaseClaimRequest/${ex.file}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.leases.length, 1, `LeaseClaimRequest/${ex.file} claims the queued task`);
        conforms('LeaseClaimResponse', r.json, `POST /v1/leases/claim answer to ${ex.file}`);
      }
    });

    test('every valid ReceiptInput, Principal, Artifact and DeliveryProof example is accepted by POST /v1/receipts', async () => {
      const key = await fresh();
      const append = async (doc: Record<string, unknown>, what: string) => {
        const r = await h.req('POST', '/v1/receipts', doc, key);
        assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.json)}`);
        conforms('Receipt', r.json.receipt, `the receipt stored for ${what}`);
      };
      for (const ex of examplesOf('ReceiptInput').filter(valid)) {
        const doc = { ...(ex.content as Record<string, unknown>) };
        // Parents must be receipts of this ledger: the example's made-up ids become a real open obligation's.
        if (Array.isArray(doc['parents'])) doc['parents'] = await Promise.all(doc['parents'].map(() => obligation(key)));
        await append(doc, `ReceiptInput/${ex.file}`);
      }
      const base = { type: 'task.progress', from: agent, to: worker };
      for (const ex of examplesOf('Principal').filter(valid)) await append({ ...base, from: ex.content }, `Principal/${ex.file} as from`);
      for (const ex of examplesOf('Artifact').filter(valid)) await append({ ...base, artifacts: [ex.content] }, `Artifact/${ex.file} in artifacts`);
      for (const ex of examplesOf('DeliveryProof').filter(valid)) await append({ ...base, delivery_proof: ex.content }, `DeliveryProof/${ex.file} as delivery_proof`);
    });

    test('what a request schema refuses, its route refuses (4xx), but for the relaxations named here', async () => {
      const key = await fresh();
      const refused = async (url: string, doc: unknown, what: string) => {
        const r = await h.req('POST', url, doc, key);
        if (ROUTE_RELAXES[what] !== undefined) return;
        assert.ok(r.status >= 400 && r.status < 500, `${what} is accepted by POST ${url}: ${r.status} ${JSON.stringify(r.json)}`);
      };
      for (const [name, url] of Object.entries({ ...REQUEST_ROUTES, ReceiptInput: '/v1/receipts' })) {
        for (const ex of examplesOf(name).filter(invalid)) await refused(url, ex.content, `${name}/${ex.file}`);
      }
      const base = { type: 'task.progress', from: agent, to: worker };
      for (const ex of examplesOf('Principal').filter(invalid)) await refused('/v1/receipts', { ...base, from: ex.content }, `Principal/${ex.file}`);
      for (const ex of examplesOf('Artifact').filter(invalid)) await refused('/v1/receipts', { ...base, artifacts: [ex.content] }, `Artifact/${ex.file}`);
      for (const ex of examplesOf('DeliveryProof').filter(invalid)) await refused('/v1/receipts', { ...base, delivery_proof: ex.content }, `DeliveryProof/${ex.file}`);
    });

    test('the server\'s answers validate against Task, LeaseClaimResponse, Stamp, TaskTombstone, Anomaly and Receipt', async () => {
      // Through a task's life (queued to succeeded, by reference to failed), stamps' (lease and standalone, active,
      // rotated, tombstoned, ambiguous, late) and the anomalies they raise.
      const key = await fresh();
      const req = (method: string, url: string, body?: unknown) => h.req(method, url, body, key);
      const task = async (id: string, what: string) => {
        const r = await req('GET', `/v1/tasks/${id}`);
        assert.equal(r.status, 200);
        conforms('Task', r.json.task, what);
        return r.json.task;
      };
      const stamp = async (id: string, what: string) => {
        const r = await req('GET', `/v1/stamps/${id}`);
        assert.equal(r.status, 200);
        conforms('Stamp', r.json.stamp, what);
        for (const rc of r.json.history) conforms('Receipt', rc, `${what}: history`);
        return r.json.stamp;
      };

      // A task with every field a creator may set, claimed, started and completed.
      const created = await req('POST', '/v1/tasks', {
        task_id: 'task-live-1', type: 'render.pdf', payload: { report: 'q1' }, requirements: { capabilities: ['pdf', 'pdf'] }, priority: 5,
        idempotency_key: 'q1', max_attempts: 3, max_lease_expiries: 2, retry_backoff_seconds: 0.5, delay_seconds: 0, created_by: agent, assign_to: worker,
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      await task('task-live-1', 'a queued task');
      const claim = await req('POST', '/v1/leases/claim', { worker_id: 'w1', capabilities: ['pdf'], accept_types: ['render.pdf'], max_tasks: 5, lease_ttl_seconds: 60 });
      assert.equal(claim.json.leases.length, 1);
      conforms('LeaseClaimResponse', claim.json, 'a claim with a payload');
      const lease = claim.json.leases[0];
      const proof = { lease_id: lease.lease_id, lease_token: lease.lease_token };
      const leased = await stamp(lease.stamp.stamp_id, 'a lease stamp');
      assert.equal(leased.lease_id, lease.lease_id, 'the optional task_id, lease_id and worker are exercised');
      await task('task-live-1', 'a leased task');
      assert.equal((await req('POST', '/v1/tasks/task-live-1/start', proof)).status, 201);
      await task('task-live-1', 'a running task');
      const done = await req('POST', '/v1/tasks/task-live-1/complete', { ...proof, artifacts: [artifact], result_summary: 'ok' });
      assert.equal(done.status, 201);
      conforms('Receipt', done.json.receipt, 'task.completed');
      assert.equal((await task('task-live-1', 'a succeeded task')).status, 'succeeded');
      assert.equal((await stamp(lease.stamp.stamp_id, 'a tombstoned lease stamp')).state, 'tombstoned');

      // The longest task_id a creator may choose: the ledger's own key of its task.assigned is longer than a producer's may be.
      const long = await req('POST', '/v1/tasks', { task_id: 't'.repeat(256), type: 'render.pdf', delay_seconds: 3600 });
      assert.equal(long.status, 201);
      conforms('Receipt', long.json.receipt, 'the task.assigned of a task with a 256-character id');
      conforms('Task', long.json.task, 'a task with a 256-character id, not yet eligible');

      // By reference: the grant carries payload_ref; a final failure leaves an outcome with the error and an anomaly.
      const byRef = await req('POST', '/v1/tasks', { task_id: 'task-live-2', type: 'ocr', payload_ref: `sha256:${'c'.repeat(64)}`, max_attempts: 1 });
      assert.equal(byRef.status, 201);
      await task('task-live-2', 'a task by reference');
      const claim2 = await req('POST', '/v1/leases/claim', { worker_id: 'w2' });
      assert.equal(claim2.json.leases.length, 1);
      conforms('LeaseClaimResponse', claim2.json, 'a claim by reference');
      const l2 = claim2.json.leases[0];
      const failed = await req('POST', '/v1/tasks/task-live-2/fail', {
        lease_id: l2.lease_id, lease_token: l2.lease_token, error: { code: 'E_OCR' }, retryable: true,
      });
      assert.equal(failed.status, 201, JSON.stringify(failed.json));
      assert.equal((await task('task-live-2', 'a failed task')).status, 'failed');
      conforms('LeaseClaimResponse', (await req('POST', '/v1/leases/claim', { worker_id: 'w3' })).json, 'a claim with nothing eligible');

      // A standalone stamp: minted, tombstoned by its subject with a reason; the same tombstone again.
      const minted = await req('POST', '/v1/stamps', { subject: agent, task_ref: 'ext-job-77', scope: ['task:write', 'evidence:put'], ttl_seconds: 30 });
      assert.equal(minted.status, 201);
      conforms('Stamp', minted.json.stamp, 'POST /v1/stamps answer');
      conforms('Receipt', minted.json.receipt, 'stamp.minted');
      const sid = minted.json.stamp.stamp_id;
      await stamp(sid, 'an active standalone stamp');
      const rotated = await req('POST', `/v1/stamps/${sid}/rotate`, {});
      assert.equal(rotated.status, 201);
      conforms('Stamp', rotated.json.stamp, 'POST /v1/stamps/{id}/rotate answer');
      const tomb = await req('POST', `/v1/stamps/${sid}/tombstone`, { outcome: 'completed', reason: 'done' });
      assert.equal(tomb.status, 201);
      conforms('TaskTombstone', tomb.json.tombstone, 'POST /v1/stamps/{id}/tombstone answer');
      const again = await req('POST', `/v1/stamps/${sid}/tombstone`, { outcome: 'completed', reason: 'done' });
      assert.equal(again.status, 200);
      conforms('TaskTombstone', again.json.tombstone, 'the same tombstone again');
      await stamp(sid, 'a tombstoned standalone stamp');

      // A stamp whose TTL passes: ambiguous, a missing_tombstone anomaly, then a late tombstone by the gate.
      const short = await req('POST', '/v1/stamps', { subject: worker, task_ref: 'ext-job-78', scope: [], ttl_seconds: 1 });
      h.clock.advance(2000);
      assert.equal(await h.services.stamps.sweepStamps(), 1);
      assert.equal((await stamp(short.json.stamp.stamp_id, 'an ambiguous stamp')).state, 'ambiguous');
      const late = await req('POST', `/v1/stamps/${short.json.stamp.stamp_id}/tombstone`, { outcome: 'crashed', closed_by: 'operator', reason: 'host lost' });
      assert.equal(late.json.tombstone.late, true);
      conforms('TaskTombstone', late.json.tombstone, 'a late tombstone');
      await stamp(short.json.stamp.stamp_id, 'a late-tombstoned stamp');

      // A success without a product: stored, closes nothing, raises an anomaly.
      const parent = await obligation(key);
      const bare = await req('POST', '/v1/receipts', { type: 'task.completed', from: worker, to: agent, parents: [parent] });
      assert.equal(bare.status, 202);
      conforms('Anomaly', bare.json.anomaly.body, 'success_without_locatability');

      // Open obligations carry delivered_at once served.
      const open = await req('GET', '/v1/obligations/open');
      assert.ok(open.json.open_obligations.length > 0);
      for (const rc of open.json.open_obligations) conforms('Receipt', rc, 'an open obligation');
      for (const rc of (await req('GET', '/v1/obligations/open')).json.open_obligations) conforms('Receipt', rc, 'an obligation served again');

      // Everything the ledger wrote: each receipt, each anomaly body, each tombstone body.
      const anomalies = (await req('GET', '/v1/anomalies')).json.anomalies;
      const kinds = new Set(anomalies.map((a: { body: { kind: string } }) => a.body.kind));
      assert.deepEqual(kinds, new Set(['max_attempts_exceeded', 'missing_tombstone', 'success_without_locatability']));
      for (const a of anomalies) conforms('Anomaly', a.body, `a ${a.body.kind} anomaly`);
      const all = (await req('GET', '/v1/receipts?limit=1000')).json.receipts;
      for (const rc of all) conforms('Receipt', rc, `a ${rc.type} receipt`);
      const tombstones = all.filter((rc: { type: string }) => rc.type === 'stamp.tombstoned');
      assert.equal(tombstones.length, 4);
      for (const rc of tombstones) conforms('TaskTombstone', rc.body, `a stamp.tombstoned body (${rc.body.outcome})`);
    });
  });
}
