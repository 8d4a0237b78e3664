/**
 * A request the schema refuses is told what is wrong: the name of a property or query parameter the route does not
 * take (a typo such as ?lmit=5 was "querystring must NOT have additional properties", naming nothing), and the
 * values an enum allows (?status=actve was "must be equal to one of the allowed values", listing none).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent, worker } from '../helpers.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] validation messages`, () => {
    test('an unknown property is named; an enum lists its values', async () => {
      const h = await harness({ backend });
      try {
        const cases: [string, string, unknown, string][] = [
          ['GET', '/v1/tasks?lmit=5', undefined, 'querystring has an unknown property "lmit"'],
          ['POST', '/v1/tasks', { type: 'x', priorty: 1 }, 'body has an unknown property "priorty"'],
          ['POST', '/v1/tasks', { type: 'x', requirements: { capability: [] } }, 'body/requirements has an unknown property "capability"'],
          ['POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, extra: 1 }, 'body has an unknown property "extra"'],
          ['GET', '/v1/tasks?status=actve', undefined, 'querystring/status must be one of "queued", '],
          ['GET', '/v1/receipts?principal_kind=robot&principal_id=x', undefined, 'querystring/principal_kind must be one of "agent", '],
          ['POST', '/v1/receipts', { type: 'task.assigned', from: { kind: 'robot', id: 'x' }, to: worker }, 'body/from/kind must be one of "agent", '],
        ];
        for (const [method, url, body, message] of cases) {
          const r = await h.req(method, url, body);
          assert.equal(r.status, 400, `${method} ${url}`);
          assert.equal(r.json.code, 'QUITTANCE_ERR_VALIDATION');
          assert.ok(r.json.message.includes(message), `${method} ${url}: ${r.json.message}`);
        }
        // The receipt types are a closed registry (a write of another type is a 422): filtering by a misspelt one
        // answered an empty page, as if there were no such receipts.
        const typo = await h.req('GET', '/v1/receipts?type=task.asigned');
        assert.equal(typo.status, 400);
        assert.ok(typo.json.message.includes('querystring/type must be one of "task.assigned", '), typo.json.message);
        assert.equal((await h.req('GET', '/v1/receipts?type=system.anomaly')).status, 200);
        // Anomaly kinds are the ledger's own (only it writes anomalies): a misspelt or empty kind answered an empty
        // page, as if there were no such anomalies.
        for (const kind of ['bogus', 'stale_lease_writes', '']) {
          const r = await h.req('GET', `/v1/anomalies?kind=${kind}`);
          assert.equal(r.status, 400, `kind=${kind}: ${JSON.stringify(r.json)}`);
          assert.ok(r.json.message.includes('querystring/kind must be one of "success_without_locatability", '), r.json.message);
          assert.ok(r.json.message.includes('"evidence_corrupt"'), r.json.message);
        }
        assert.equal((await h.req('GET', '/v1/anomalies?kind=stale_lease_write')).status, 200);
        const kindParam = (await h.req('GET', '/openapi.json', undefined, null)).json.paths['/v1/anomalies'].get.parameters.find((p: { name: string }) => p.name === 'kind');
        assert.ok(kindParam.schema.enum.includes('missing_tombstone'), 'OpenAPI lists the anomaly kinds');
        const spec = (await h.req('GET', '/openapi.json', undefined, null)).json;
        const typeParam = spec.paths['/v1/receipts'].get.parameters.find((p: { name: string }) => p.name === 'type');
        assert.ok(typeParam.schema.enum.includes('task.progress'), 'OpenAPI lists the receipt types');
        // An empty id (a path built from an unset variable) is a 400 on every route; on the receipt routes it was a
        // 404 "Receipt  does not exist".
        for (const [method, url] of [['GET', '/v1/receipts/'], ['POST', '/v1/receipts//ack'], ['GET', '/v1/tasks/']]) {
          const r = await h.req(method!, url!, method === 'POST' ? { from: worker } : undefined);
          assert.equal(r.status, 400, `${method} ${url}: ${JSON.stringify(r.json)}`);
          assert.ok(r.json.message.includes('params/id must NOT have fewer than 1 characters'), r.json.message);
        }
        // A filter no stored value can match (an empty one, from an unset variable; one longer than any id) is a 400,
        // not an empty page that reads as "the task has no receipts".
        for (const [url, where] of [['/v1/receipts?task_id=', 'querystring/task_id'], [`/v1/receipts?task_id=${'t'.repeat(257)}`, 'querystring/task_id'], ['/v1/tasks?type=', 'querystring/type']]) {
          const r = await h.req('GET', url!);
          assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.json)}`);
          assert.ok(r.json.message.includes(`${where} must NOT have`), r.json.message);
        }
        assert.equal((await h.req('GET', `/v1/receipts?task_id=${'t'.repeat(256)}`)).status, 200);
        const long = await h.req('GET', `/v1/tasks?${'q'.repeat(5000)}=1`);
        assert.equal(long.status, 400);
        assert.ok(long.json.message.length < 300, 'a long name is cut short');
        assert.deepEqual((await h.req('GET', '/v1/receipts')).json.receipts, []);
      } finally {
        await h.close();
      }
    });
  });
}
