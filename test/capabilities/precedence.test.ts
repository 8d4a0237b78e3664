import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PRECEDENCE, REFUSAL_STATE, effectiveState, type NegotiationInput } from '../../src/capabilities/precedence.js';
import { EFFECTIVE_STATES, PLANE_STATUSES, type Plane, type PlaneStatus } from '../../src/capabilities/types.js';

type Reports = Partial<Record<Plane, PlaneStatus>>;

function run(required: Plane[], reports: Reports, extra: { optional?: Plane[]; requested?: boolean } = {}) {
  const input: NegotiationInput = {
    requiredPlanes: required,
    optionalPlanes: extra.optional ?? [],
    requested: extra.requested ?? false,
    reports: Object.fromEntries(Object.entries(reports).map(([p, status]) => [p, { status, reason: `${p} says ${status}` }])),
  };
  return effectiveState(input);
}

// The seed's stack: declared by config and ui; runtime, server and policy must agree; a plugin helps if present.
const SEED: Plane[] = ['runtime', 'server'];
const ok = { runtime: 'supported', server: 'supported', policy: 'supported' } as const;

/** [name, required planes, optional planes, reports, expected state, expected rule] */
const TABLE: [string, Plane[], Plane[], Reports, (typeof EFFECTIVE_STATES)[number], number][] = [
  // the seed: config + UI say enabled, the server rejects the capability
  ['seed: server unsupported while runtime and policy agree', SEED, ['plugin'], { runtime: 'supported', server: 'unsupported', policy: 'supported' }, 'unsupported_by_server', 3],
  ['seed: server unsupported before anyone else answered', SEED, [], { server: 'unsupported' }, 'unsupported_by_server', 3],
  // lifecycle before negotiation
  ['nothing reported', SEED, [], {}, 'declared', 7],
  ['only an optional plane reported', SEED, ['plugin'], { plugin: 'supported' }, 'negotiating', 8],
  ['one required plane pending', SEED, [], { runtime: 'supported', policy: 'supported' }, 'negotiating', 8],
  ['policy alone allowed, planes pending', SEED, [], { policy: 'supported' }, 'negotiating', 8],
  ['planes agree, policy pending', SEED, [], { runtime: 'supported', server: 'supported' }, 'available', 9],
  ['planes agree but one degrades, policy pending', SEED, [], { runtime: 'degraded', server: 'supported' }, 'available', 9],
  ['policy is the only required plane and has not decided', ['policy'], [], {}, 'declared', 7],
  ['policy is the only required plane and allows', ['policy'], [], { policy: 'supported' }, 'enabled', 11],
  // policy block beats everything
  ['policy blocks while every plane agrees', SEED, [], { ...ok, policy: 'blocked' }, 'blocked_by_policy', 1],
  ['policy blocks while the server refuses', SEED, [], { runtime: 'supported', server: 'unsupported', policy: 'blocked' }, 'blocked_by_policy', 1],
  ['policy blocks while a plane failed', SEED, [], { runtime: 'failed', server: 'supported', policy: 'blocked' }, 'blocked_by_policy', 1],
  ['policy blocks before any plane answered', SEED, [], { policy: 'blocked' }, 'blocked_by_policy', 1],
  ['a required plane enforces a block', SEED, [], { ...ok, server: 'blocked' }, 'blocked_by_policy', 1],
  ['an optional plane enforces a block', SEED, ['plugin'], { ...ok, plugin: 'blocked' }, 'blocked_by_policy', 1],
  ['policy has no rule for it (unsupported): deny by default', SEED, [], { ...ok, policy: 'unsupported' }, 'blocked_by_policy', 1],
  ['policy engine missing: deny by default', SEED, [], { ...ok, policy: 'missing' }, 'blocked_by_policy', 1],
  // failures
  ['a required plane failed', SEED, [], { ...ok, runtime: 'failed' }, 'failed', 2],
  ['the policy engine failed', SEED, [], { ...ok, policy: 'failed' }, 'failed', 2],
  ['failure beats refusal', SEED, [], { runtime: 'failed', server: 'unsupported', policy: 'supported' }, 'failed', 2],
  ['an optional plane failed: degraded, not failed', SEED, ['plugin'], { ...ok, plugin: 'failed' }, 'degraded', 10],
  // refusals, in order
  ['server missing', SEED, [], { ...ok, server: 'missing' }, 'unsupported_by_server', 3],
  ['runtime unsupported', SEED, [], { ...ok, runtime: 'unsupported' }, 'unsupported_by_runtime', 4],
  ['runtime missing', SEED, [], { ...ok, runtime: 'missing' }, 'unsupported_by_runtime', 4],
  ['server refusal beats runtime refusal', SEED, [], { runtime: 'unsupported', server: 'unsupported', policy: 'supported' }, 'unsupported_by_server', 3],
  ['transport counts as the local runtime', ['transport', 'server'], [], { transport: 'unsupported', server: 'supported', policy: 'supported' }, 'unsupported_by_runtime', 4],
  ['ui counts as the local runtime', ['ui', 'server'], [], { ui: 'missing', server: 'supported' }, 'unsupported_by_runtime', 4],
  ['required plugin missing', ['runtime', 'plugin'], [], { runtime: 'supported', plugin: 'missing', policy: 'supported' }, 'missing_plugin', 5],
  ['required plugin unsupported', ['runtime', 'plugin'], [], { runtime: 'supported', plugin: 'unsupported' }, 'missing_plugin', 5],
  ['required schema missing', ['runtime', 'schema'], [], { runtime: 'supported', schema: 'missing', policy: 'supported' }, 'missing_schema', 6],
  ['runtime refusal beats a missing plugin', ['runtime', 'plugin'], [], { runtime: 'unsupported', plugin: 'missing' }, 'unsupported_by_runtime', 4],
  ['missing plugin beats missing schema', ['plugin', 'schema'], [], { plugin: 'missing', schema: 'missing' }, 'missing_plugin', 5],
  ['a refusal is final even while other planes are pending', ['runtime', 'server', 'schema'], [], { schema: 'missing' }, 'missing_schema', 6],
  ['optional plugin missing: degraded, not missing_plugin', SEED, ['plugin'], { ...ok, plugin: 'missing' }, 'degraded', 10],
  ['optional plugin unsupported: degraded', SEED, ['plugin'], { ...ok, plugin: 'unsupported' }, 'degraded', 10],
  // degraded and enabled
  ['a required plane degrades', SEED, [], { ...ok, server: 'degraded' }, 'degraded', 10],
  ['an optional plane degrades', SEED, ['plugin'], { ...ok, plugin: 'degraded' }, 'degraded', 10],
  ['policy allows with conditions', SEED, [], { ...ok, policy: 'degraded' }, 'degraded', 10],
  ['every plane agrees', SEED, [], ok, 'enabled', 11],
  ['every plane agrees, the optional one too', SEED, ['plugin'], { ...ok, plugin: 'supported' }, 'enabled', 11],
  ['every plane agrees, the optional one never answered', SEED, ['plugin'], ok, 'enabled', 11],
  ['a plane outside the negotiation is ignored', SEED, [], { ...ok, schema: 'unsupported', ui: 'failed' }, 'enabled', 11],
  ['a plane both required and optional counts as required', SEED, ['server'], { ...ok, server: 'unsupported' }, 'unsupported_by_server', 3],
  ['listing policy as required changes nothing', ['runtime', 'server', 'policy'], [], { runtime: 'supported', server: 'supported' }, 'available', 9],
];

describe('capability precedence: the documented table', () => {
  for (const [name, required, optional, reports, state, rule] of TABLE) {
    test(`${name} → ${state}`, () => {
      const out = run(required, reports, { optional });
      assert.equal(out.state, state);
      assert.equal(out.rule, rule);
      assert.ok(PRECEDENCE.find((r) => r.rule === rule)!.states.includes(state), 'the rule that decided lists the state');
    });
  }

  test('a session request turns declared into requested, and only while nobody has answered', () => {
    assert.equal(run(SEED, {}, { requested: true }).state, 'requested');
    assert.equal(run(SEED, { runtime: 'supported' }, { requested: true }).state, 'negotiating');
  });

  test('the reason names the deciding planes and what they said', () => {
    const out = run(SEED, { runtime: 'supported', server: 'unsupported', policy: 'supported' });
    assert.deepEqual(out.planes, ['server']);
    assert.match(out.reason, /server reported unsupported \(server says unsupported\)/);
    assert.deepEqual(run(SEED, { runtime: 'supported' }).planes, ['server']);
  });

  test('every effective state is reachable and named by exactly one rule', () => {
    const named = PRECEDENCE.flatMap((r) => r.states);
    assert.deepEqual([...named].sort(), [...EFFECTIVE_STATES].sort());
    const reached = new Set(TABLE.map((row) => row[4]));
    reached.add('requested');
    assert.deepEqual([...reached].sort(), [...EFFECTIVE_STATES].sort());
  });
});

describe('capability precedence: every combination of reports', () => {
  // Required runtime, server, plugin, schema; optional transport; policy. Each: unreported or one of six statuses.
  const required: Plane[] = ['plugin', 'runtime', 'schema', 'server'];
  const optional: Plane[] = ['transport'];
  const planes: Plane[] = [...required, ...optional, 'policy'];
  const values: (PlaneStatus | undefined)[] = [undefined, ...PLANE_STATUSES];
  const rank: Record<string, number> = { server: 0, runtime: 1, plugin: 2, schema: 3 };

  test('the result agrees with the spec stated plane by plane (7^6 = 117,649 combinations)', () => {
    const counts = new Map<string, number>();
    const idx = planes.map(() => 0);
    for (;;) {
      const reports: Reports = {};
      planes.forEach((p, i) => {
        const v = values[idx[i]!];
        if (v !== undefined) reports[p] = v;
      });
      const got = run(required, reports, { optional }).state;
      counts.set(got, (counts.get(got) ?? 0) + 1);

      const st = (p: Plane) => reports[p];
      const refused = (s: PlaneStatus | undefined) => s === 'unsupported' || s === 'missing';
      const block = planes.some((p) => st(p) === 'blocked') || refused(st('policy'));
      const fail = [...required, 'policy' as const].some((p) => st(p) === 'failed');
      const refusing = required.filter((p) => refused(st(p))).sort((a, b) => rank[a]! - rank[b]!);
      const none = planes.every((p) => st(p) === undefined);
      const pending = required.some((p) => st(p) === undefined);
      const allSupported = required.every((p) => st(p) === 'supported') && st('policy') === 'supported' && (st('transport') ?? 'supported') === 'supported';
      const ctx = JSON.stringify(reports);

      if (block) assert.equal(got, 'blocked_by_policy', ctx);
      else if (fail) assert.equal(got, 'failed', ctx);
      else if (refusing.length > 0) assert.equal(got, REFUSAL_STATE[refusing[0] as 'server'], ctx);
      else if (none) assert.equal(got, 'declared', ctx);
      else if (pending) assert.equal(got, 'negotiating', ctx);
      else if (st('policy') === undefined) assert.equal(got, 'available', ctx);
      else assert.equal(got, allSupported ? 'enabled' : 'degraded', ctx);
      assert.equal(got === 'enabled', allSupported && !block, `enabled only when every plane and policy agree: ${ctx}`);

      let i = 0;
      while (i < idx.length && ++idx[i]! === values.length) idx[i++] = 0;
      if (i === idx.length) break;
    }
    // Every state but requested (needs a session) occurs.
    assert.deepEqual([...counts.keys()].sort(), EFFECTIVE_STATES.filter((s) => s !== 'requested').sort());
  });
});
