/**
 * The OpenAPI document describes the error body every operation may answer. Before, each operation listed only its
 * 200 "Default Response", so a client generated from /openapi.json knew neither the shape of an error nor its code.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { harness, type Harness } from '../helpers.js';

type Response = { description: string; content?: Record<string, { schema: { $ref?: string } }> };
type Spec = { paths: Record<string, Record<string, { responses: Record<string, Response> }>>; components: { schemas: Record<string, object> } };

describe('OpenAPI error responses', () => {
  let h: Harness;
  let spec: Spec;
  before(async () => {
    h = await harness();
    spec = (await h.req('GET', '/openapi.json', undefined, null)).json as Spec;
  });
  after(async () => h.close());

  test('every operation answers 4XX and 5XX with the Error schema', () => {
    let operations = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const range of ['4XX', '5XX']) {
          const r = op.responses[range];
          assert.ok(r, `${method} ${path}: ${range}`);
          assert.equal(r.content?.['application/json']?.schema.$ref, '#/components/schemas/Error', `${method} ${path}: ${range}`);
        }
        operations++;
      }
    }
    assert.ok(operations > 50, `${operations} operations`);
    // The success answer is still there.
    assert.ok(spec.paths['/v1/tasks']!['get']!.responses['200']);
  });

  test('the Error schema holds the bodies the server answers', async () => {
    const validate = new Ajv2020({ strict: false }).compile(spec.components.schemas['Error']!);
    // Declared, never enabled: starting a session on it is refused and recorded.
    assert.equal((await h.req('POST', '/v1/capabilities', { capabilityRef: 'urn:srcos:capability:browser@1', declaredBy: ['runtime'], requiredPlanes: ['runtime'] })).status, 201);
    const answers = [
      await h.req('GET', '/v1/tasks?limit=0'),
      await h.req('GET', '/v1/tasks', undefined, null),
      await h.req('GET', '/v1/tasks/missing'),
      await h.req('DELETE', '/v1/tasks'),
      await h.req('GET', '/v1/nothing'),
      await h.req('POST', '/v1/automation/sessions', {
        sessionRef: 'urn:srcos:session:s1', ownerRef: 'urn:srcos:agent:a1', capabilityRef: 'urn:srcos:capability:browser@1',
        transport: 'cdp', permissionScope: ['navigate'], origin: 'local',
      }),
    ];
    // A refusal that is recorded: 403 with the denied session and its receipt besides the four keys.
    const denied = answers[answers.length - 1]!;
    assert.equal(denied.status, 403, JSON.stringify(denied.json));
    assert.ok(denied.json.receipt, 'details beside the four keys');
    for (const a of answers) {
      assert.ok(a.status >= 400, JSON.stringify(a.json));
      assert.ok(validate(a.json), `${JSON.stringify(a.json)}: ${JSON.stringify(validate.errors)}`);
    }
  });
});
