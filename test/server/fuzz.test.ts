/**
 * "Bad input gets a clear, coded 4xx error and writes nothing", checked over the whole API at once. The operations
 * come from the app's own /openapi.json, so a new route is fuzzed the day it is added. For each one fast-check sends
 * requests built from its request schema and then broken (a field of the wrong type, out of range, missing or extra;
 * very long strings, deep nesting, 1e308, -0, huge integers, lone surrogates), arbitrary JSON, malformed text and
 * bytes, odd query strings and path parameters (random, malformed percent-encoding, or the ids of real objects so
 * handlers get past their "not found" checks). Every answer must be 2xx or 4xx; every 4xx must be the coded error
 * body; and a 4xx must leave the stores as they were (chain heads, receipt count, tasks, lease, stamp, session,
 * orphans, capabilities, automation sessions, contracts, keys, tenants), except for the refusals the design records
 * on purpose (RECORDED_REFUSALS), whose writes are checked to be exactly the records they announce. After each
 * operation's runs, both tenants' chains must still verify: whatever was accepted was stored as it was hashed.
 *
 * Runs per operation: QUITTANCE_FUZZ_RUNS (default 50: about 7 s on SQLite, 14 s on PostgreSQL). The seed is
 * fast-check's random one unless QUITTANCE_FUZZ_SEED is set; a failure prints the seed and the shrunk request (with
 * the name of the key it sent, not its secret) to replay it.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ERRORS, reasonPhrase, type ErrorCode } from '../../src/errors.js';
import type { Receipt } from '../../src/ledger/types.js';
import { BACKENDS, harness, agent, worker, type Harness } from '../helpers.js';
import { enabledCapability, startBody } from '../capabilities/support.js';
import { ROOT } from '../contracts/helpers.js';

const RUNS = Number(process.env['QUITTANCE_FUZZ_RUNS'] ?? 50);
const SEED = process.env['QUITTANCE_FUZZ_SEED'] === undefined ? undefined : Number(process.env['QUITTANCE_FUZZ_SEED']);

type Schema = Record<string, any>;

interface Operation {
  method: string;
  /** The OpenAPI path template, `/v1/tasks/{id}`. */
  path: string;
  params: { name: string; in: 'path' | 'query'; schema: Schema }[];
  body: Schema | undefined;
}

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** The tenant whose key it sends, if any: where a recorded refusal may write. */
  tenant?: 'A' | 'B';
}

/** What the setup created: real ids (by the collection a path parameter indexes), values by field name, seed bodies. */
interface World {
  /** Path prefix before a parameter (`/v1/tasks/`) → ids that exist there, in tenant a (and b's, which must 404). */
  ids: Map<string, string[]>;
  /** Body field name → real values (lease_token → the token of a live lease, ...). */
  values: Map<string, string[]>;
  /** `METHOD template` → bodies that were valid at setup, to be broken. */
  seeds: Map<string, unknown[]>;
  keys: { admin: string; read: string; otherTenant: string };
  tenantA: string;
  tenantB: string;
  leaseId: string;
  stampId: string;
  sessionId: string;
}

// ── request generation ──────────────────────────────────────────────────────────────────────────────────────

/** A JSON literal written as it is (numbers JSON.stringify cannot write: -0, 1e400, 30-digit integers; deep nests). */
class RawJson {
  constructor(readonly text: string) {}
}

function toJsonText(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  if (typeof v === 'object' && v !== null) return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const nested = (depth: number, open: string, close: string, inner = '1') => new RawJson(open.repeat(depth) + inner + close.repeat(depth));

/** Values no schema field wants: edge numbers, lone surrogates, long strings, deep nesting, odd dates. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    new RawJson('1e308'), new RawJson('-1e308'), new RawJson('1e400'), new RawJson('-0'), new RawJson('-0.0'), new RawJson('4.9e-324'),
    new RawJson('123456789012345678901234567890'), new RawJson('-9007199254740993'), new RawJson('1.5'), new RawJson('1E2'),
    -1, 0, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.1,
    '', ' ', '\ud800', 'a\udfffb', '\udc00\ud800', '\u2028\u2029', '\ufeff', '😀'.repeat(300), '..', '../../etc/passwd', '%00', '\\u0000',
    'notadate', '2026-13-45T99:99:99Z', '0000-00-00T00:00:00Z', 'urn:', 'sha256:', 'sha256:' + 'g'.repeat(64),
    true, false, null, [], {}, [[]], { '': '' }, { __proto__: 1 }, { constructor: { prototype: 1 } },
  ),
  fc.constantFrom(5_000, 70_000, 300_000).map((n) => 'x'.repeat(n)),
  fc.constantFrom(64, 1_000, 20_000).chain((d) => fc.constantFrom(nested(d, '[', ']'), nested(d, '{"a":', '}'))),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }),
);

const keyName = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', '', ' ', '\ud800', 'a.b', '$ref'), fc.string({ maxLength: 12 }));

function mergeSchemas(parts: Schema[]): Schema {
  const out: Schema = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (k === 'properties') out['properties'] = { ...out['properties'], ...v };
      else if (k === 'required') out['required'] = [...(out['required'] ?? []), ...v];
      else out[k] = v;
    }
  }
  return out;
}

function stringFor(s: Schema): fc.Arbitrary<string> {
  if (typeof s['pattern'] === 'string') {
    try {
      const re = new RegExp(s['pattern'], 'u');
      const max = s['maxLength'] ?? 200;
      return fc.stringMatching(re).filter((x) => x.length <= max && x.length >= (s['minLength'] ?? 0));
    } catch {
      // A pattern fast-check cannot generate from: plain strings (the schema will mostly refuse them).
    }
  }
  if (s['format'] === 'date-time') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  const bounds = { minLength: s['minLength'] ?? 0, maxLength: Math.min(s['maxLength'] ?? 24, 24) };
  // Now and then a code unit no store can keep as text (a lone surrogate, NUL) in an otherwise well-shaped request.
  const unstorable = fc.tuple(fc.string({ ...bounds, maxLength: Math.max(0, bounds.maxLength - 1) }), fc.constantFrom('\ud800', '\udfff', '\u0000'), fc.nat())
    .map(([text, c, at]) => { const i = at % (text.length + 1); return text.slice(0, i) + c + text.slice(i); });
  return fc.oneof({ weight: 6, arbitrary: fc.string(bounds) }, { weight: 1, arbitrary: unstorable });
}

/** A value shaped like `s` (mostly valid), with real ids where the field's name has some. */
function shaped(s: Schema | undefined, name: string, w: World, depth = 0): fc.Arbitrary<unknown> {
  if (s === undefined || depth > 5) return fc.jsonValue({ maxDepth: 2 });
  const own = shapedOwn(s, w, depth);
  const real = w.values.get(name);
  return real ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...real) }, { weight: 3, arbitrary: own }) : own;
}

function shapedOwn(s: Schema, w: World, depth: number): fc.Arbitrary<unknown> {
  if ('const' in s) return fc.constant(s['const']);
  if (Array.isArray(s['enum'])) return fc.constantFrom(...(s['enum'] as unknown[]));
  if (Array.isArray(s['allOf'])) {
    const { allOf, ...rest } = s;
    return shapedOwn(mergeSchemas([rest, ...(allOf as Schema[])]), w, depth);
  }
  for (const k of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(s[k])) {
      const { [k]: alternatives, ...rest } = s;
      return fc.oneof(...(alternatives as Schema[]).map((a) => shapedOwn(mergeSchemas([rest, a]), w, depth)));
    }
  }
  if (s['if'] !== undefined) {
    const { if: _if, then, else: otherwise, ...rest } = s;
    return fc.oneof(...[then, otherwise].filter(Boolean).map((b) => shapedOwn(mergeSchemas([rest, b as Schema]), w, depth)));
  }
  const types = Array.isArray(s['type']) ? (s['type'] as string[]) : s['type'] !== undefined ? [s['type'] as string] : s['properties'] ? ['object'] : [];
  if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map((t) => shapedType(t, s, w, depth)));
}

function shapedType(type: string, s: Schema, w: World, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'object': {
      const props = (s['properties'] ?? {}) as Record<string, Schema>;
      const names = Object.keys(props);
      if (names.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const n of names) model[n] = shaped(props[n], n, w, depth + 1);
      return fc.record(model, { requiredKeys: ((s['required'] ?? []) as string[]).filter((n) => names.includes(n)) });
    }
    case 'array': {
      const min = Math.min(s['minItems'] ?? 0, 3);
      return fc.array(shaped(s['items'] as Schema | undefined, '', w, depth + 1), { minLength: min, maxLength: Math.max(min, Math.min(s['maxItems'] ?? 3, 3)) });
    }
    case 'string':
      return stringFor(s);
    case 'integer':
      return fc.integer({ min: Math.max(s['minimum'] ?? -1e6, -1e9), max: Math.min(s['maximum'] ?? 1e6, 1e9) });
    case 'number':
      return fc.double({ min: Math.max(s['minimum'] ?? -1e6, -1e9), max: Math.min(s['maximum'] ?? 1e6, 1e9), noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

type Mutation = { kind: 'replace' | 'delete' | 'extra'; pick: number; value: unknown; key: string; nested: boolean };

/** Breaks one field of an object (top level, or one level down): wrong value, removed, or an extra key. */
function mutate(base: unknown, m: Mutation): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return m.value;
  const copy: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  const keys = Object.keys(copy);
  let target = copy;
  if (m.nested && keys.length > 0) {
    const k = keys[m.pick % keys.length]!;
    const inner = copy[k];
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
      target = { ...(inner as Record<string, unknown>) };
      copy[k] = target;
    }
  }
  const tk = Object.keys(target);
  const key = tk.length > 0 ? tk[m.pick % tk.length]! : m.key;
  if (m.kind === 'delete') delete target[key];
  else if (m.kind === 'replace') target[key] = m.value;
  else Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('replace', 'replace', 'delete', 'extra'),
  pick: fc.nat(),
  value: oddValue,
  key: keyName,
  nested: fc.boolean(),
});

/** Text that is not the JSON it claims to be, or is JSON the strict parser must refuse. */
const malformedText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '{', '}', '[1,]', '{"a":1,}', '{"a":1,"a":2}', '{"a":{"b":1,"b":1}}', '\ufeff{}', '{} {}', '{}x', 'nul', 'tru', 'NaN', 'Infinity',
    '"unterminated', '{"a":"\\x"}', '{"a":"\\u12"}', '01', '-', '1e', '{\'a\':1}', '{a:1}', '/* c */{}', '[' + ']'.repeat(3), ' ', '\n',
    '{"a":"\\ud800"}', '{"\\ud800":1}', '{"__proto__":{"x":1}}', '{"a":"\\u0000"}', '\u0000',
  ),
  fc.constantFrom(10_000, 200_000).map((n) => '['.repeat(n)),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

/** Percent-encodes text the way a client would, lone surrogates included (as their raw UTF-8-like bytes). */
function encode(v: string): string {
  let out = '';
  for (const ch of v) {
    try {
      out += encodeURIComponent(ch);
    } catch {
      const c = ch.charCodeAt(0);
      out += `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
    }
  }
  return out;
}

/** Path segments and query values as they go on the wire: some well encoded, some malformed on purpose. */
const oddSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('%', '%zz', '%E0%A4', '%ED%A0%80', '%C0%AF', '%FF', '..', '.', 'a%2Fb', '%20', '%00', '+', '%2B', 'x'.repeat(5_000), '-1', '0', '1e308', 'null'),
  fc.string({ unit: 'binary', maxLength: 30 }).map(encode),
);

function pathValue(op: Operation, name: string, schema: Schema, w: World): fc.Arbitrary<string> {
  const prefix = op.path.slice(0, op.path.indexOf(`{${name}}`));
  const real = w.ids.get(prefix) ?? [...w.ids.values()].flat();
  const options: fc.Arbitrary<string>[] = [fc.constantFrom(...real).map(encode), fc.constantFrom(...real).map(encode), oddSegment];
  if (Array.isArray(schema['enum'])) options.push(fc.constantFrom(...(schema['enum'] as string[])));
  return fc.oneof(...options);
}

const queryValue = (schema: Schema): fc.Arbitrary<string> => fc.oneof(
  fc.constantFrom('-1', '0', 'abc', '1.5', '1e308', '99999999999999999999', '', 'garbage', 'notadate', '2026-02-30T25:00:00Z', 'true', '%', '%zz', '%ED%A0%80'),
  ...(Array.isArray(schema['enum']) ? [fc.constantFrom(...(schema['enum'] as string[])).map(encode)] : []),
  shapedOwn(schema, { ids: new Map(), values: new Map(), seeds: new Map() } as unknown as World, 0).map((v) => encode(String(v))),
  oddSegment,
);

function queryArb(op: Operation): fc.Arbitrary<string> {
  const params = op.params.filter((p) => p.in === 'query');
  const pairs = fc.tuple(
    // A parameter absent, given once, or given twice (limit=1&limit=2 reaches the handler as an array).
    ...params.map((p) => fc.option(
      fc.array(queryValue(p.schema), { minLength: 1, maxLength: 2 }).map((vs) => vs.map((v) => `${encode(p.name)}=${v}`).join('&')),
      { freq: 2 },
    )),
    fc.option(fc.tuple(keyName, oddSegment).map(([k, v]) => `${encode(k)}=${v}`), { freq: 6 }),
  );
  return pairs.map((ps) => {
    const q = ps.filter((x): x is string => x !== null).join('&');
    return q === '' ? '' : `?${q}`;
  });
}

function payloadArb(op: Operation, w: World): fc.Arbitrary<{ payload?: string | Buffer; contentType?: string }> {
  const json = (v: fc.Arbitrary<unknown>) => v.map((x) => ({ payload: toJsonText(x), contentType: 'application/json' }));
  const seeds = w.seeds.get(`${op.method} ${op.path}`) ?? [];
  const base = op.body ? fc.oneof(shaped(op.body, '', w), ...(seeds.length > 0 ? [fc.constantFrom(...seeds)] : [])) : fc.constant<unknown>({});
  return fc.oneof(
    { weight: 2, arbitrary: json(base) },
    { weight: 6, arbitrary: json(fc.tuple(base, mutation, fc.option(mutation)).map(([b, m1, m2]) => (m2 ? mutate(mutate(b, m1), m2) : mutate(b, m1)))) },
    { weight: 2, arbitrary: json(fc.oneof(fc.anything({ maxDepth: 3 }).map((x) => JSON.parse(JSON.stringify(x ?? null) ?? 'null')), oddValue)) },
    { weight: 2, arbitrary: malformedText.map((t) => ({ payload: t, contentType: 'application/json' })) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constant({ payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), contentType: 'application/json' }),
        fc.constant({ payload: Buffer.from([0xed, 0xa0, 0x80]), contentType: 'application/json; charset=utf-8' }),
        fc.constant({ payload: '{}', contentType: 'text/plain' }),
        fc.constant({ payload: '{}', contentType: 'application/json; charset=latin1' }),
        fc.constant({ payload: '', contentType: 'application/json' }),
        fc.constant({ payload: '{}', contentType: 'application/x-www-form-urlencoded' }),
        fc.constant({}),
      ),
    },
  );
}

function requestArb(op: Operation, w: World): fc.Arbitrary<Request> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const path = fc.tuple(...pathParams.map((p) => pathValue(op, p.name, p.schema, w))).map((vals) => {
    let url = op.path;
    pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, vals[i]!)));
    return url;
  });
  const key = fc.oneof(
    { weight: 12, arbitrary: fc.constant<string | null>(w.keys.admin) },
    { weight: 1, arbitrary: fc.constantFrom<string | null>(w.keys.read, w.keys.otherTenant, null, 'garbage', `${w.keys.admin}x`) },
  );
  const body: fc.Arbitrary<{ payload?: string | Buffer; contentType?: string }> = op.method === 'GET' ? fc.constant({}) : payloadArb(op, w);
  return fc.tuple(path, queryArb(op), key, body).map(([p, q, k, b]) => {
    const rq: Request = {
      method: op.method,
      url: p + q,
      headers: { ...(k !== null && { authorization: `Bearer ${k}` }), ...(b.contentType !== undefined && { 'content-type': b.contentType }) },
      ...(b.payload !== undefined && { payload: b.payload }),
      ...((k === w.keys.admin || k === w.keys.read) && { tenant: 'A' as const }),
      ...(k === w.keys.otherTenant && { tenant: 'B' as const }),
    };
    // fast-check prints a counterexample with this: short, and with the key's name instead of its secret.
    return Object.assign(rq, { [fc.toStringMethod]: () => describeRequest(rq, k === null ? 'no key' : Object.entries(w.keys).find(([, v]) => v === k)?.[0] ?? k) });
  });
}

// ── what must hold ───────────────────────────────────────────────────────────────────────────────────────────

/** Everything a request could have written, read from the store directly (committed data). */
async function snapshot(h: Harness, w: World): Promise<Record<string, string>> {
  const st = h.services.store;
  const a = w.tenantA;
  const parts = await Promise.all([
    st.chainHeadOf(a), st.chainHeadOf(w.tenantB), st.countReceipts(),
    st.listTasks(a, { after_seq: 0, limit: 1000 }), st.lease(a, w.leaseId), st.stamps.stamp(a, w.stampId), st.sessions.session(a, w.sessionId),
    st.sessions.orphans(a, { after_seq: 0, limit: 1000 }), st.capabilities.listCapabilities(a, { limit: 1000 }),
    st.automation.listAutomationSessions(a, { after_seq: 0, limit: 1000 }), st.contracts.listContracts(a, { after_seq: 0, limit: 1000 }),
    st.listApiKeys(a), st.listTenants(),
  ]);
  const names = ['headA', 'headB', 'receipts', 'tasks', 'lease', 'stamp', 'session', 'orphans', 'capabilities', 'automation', 'contracts', 'keys', 'tenants'];
  return Object.fromEntries(names.map((n, i) => [n, JSON.stringify(parts[i])]));
}

/**
 * Refusals the design records on purpose: the refusal is evidence (DESIGN §5, §8). Each may change only the
 * named parts, and every receipt it adds must be one it is allowed to add.
 */
const RECORDED_REFUSALS: Partial<Record<ErrorCode, { parts: string[]; allowed(r: Receipt, body: any): boolean }>> = {
  // A write under a lease that does not hold the task leaves a stale_lease_write anomaly (in the caller's tenant).
  QUITTANCE_ERR_LEASE_LOST: { parts: ['head', 'receipts'], allowed: (r) => r.type === 'system.anomaly' && r.body['kind'] === 'stale_lease_write' },
  // A denied start or action is recorded as a BrowserAutomationReceipt (and an action after revocation as an anomaly).
  QUITTANCE_ERR_AUTOMATION_START_DENIED: { parts: ['head', 'receipts', 'automation'], allowed: (r, b) => r.receipt_id === b.receipt?.receipt_id },
  QUITTANCE_ERR_AUTOMATION_ACTION_DENIED: {
    parts: ['head', 'receipts', 'automation'],
    allowed: (r, b) => r.receipt_id === b.receipt?.receipt_id || r.receipt_id === b.anomaly?.receipt_id,
  },
};

function assertCodedError(status: number, body: any, what: string): void {
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `${what}: error body is not an object: ${JSON.stringify(body)}`);
  assert.equal(body.statusCode, status, `${what}: statusCode`);
  assert.match(String(body.code), /^QUITTANCE_ERR_[A-Z_]+$/, `${what}: code`);
  assert.ok(body.code in ERRORS, `${what}: ${body.code} is not in the registry`);
  assert.equal(ERRORS[body.code as ErrorCode].status, status, `${what}: ${body.code} is registered with another status`);
  assert.equal(body.error, reasonPhrase(status), `${what}: error`);
  assert.ok(typeof body.message === 'string' && body.message.length > 0, `${what}: message`);
}

function describeRequest(rq: Request, key?: string): string {
  const cut = (t: string) => (t.length > 300 ? `${t.slice(0, 300)}… (${t.length} chars)` : t);
  const p = rq.payload === undefined ? '' : Buffer.isBuffer(rq.payload) ? ` <bytes ${rq.payload.toString('hex')}>` : ` ${cut(rq.payload)}`;
  const k = key === undefined ? '' : ` key: ${key}`;
  return `${rq.method} ${rq.url.length > 300 ? `${rq.url.slice(0, 300)}…` : rq.url} [${rq.headers['content-type'] ?? 'no content-type'}${k}]${p}`;
}

/** Sends one request and checks the contract; `state` carries the last snapshot between requests. */
async function check(h: Harness, w: World, rq: Request, state: { last?: Record<string, string> }): Promise<void> {
  const before = state.last ?? (await snapshot(h, w));
  state.last = undefined;
  const res = await h.app.inject({ method: rq.method as 'GET', url: rq.url, headers: rq.headers, ...(rq.payload !== undefined && { payload: rq.payload }) });
  const what = `${describeRequest(rq)} → ${res.statusCode} ${res.body.slice(0, 500)}`;
  assert.ok(res.statusCode < 500, `server error on client input: ${what}`);
  assert.ok((res.statusCode >= 200 && res.statusCode < 300) || (res.statusCode >= 400 && res.statusCode < 500), `unexpected status: ${what}`);
  if (res.statusCode < 400) return;
  let body: any;
  assert.doesNotThrow(() => (body = JSON.parse(res.body)), `error body is not JSON: ${what}`);
  assertCodedError(res.statusCode, body, what);
  const after = await snapshot(h, w);
  const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
  if (changed.length === 0) {
    state.last = after;
    return;
  }
  const recorded = RECORDED_REFUSALS[body.code as ErrorCode];
  assert.ok(recorded && rq.tenant, `a ${res.statusCode} wrote something (${changed.join(', ')}): ${what}`);
  // Only in the caller's tenant; the per-tenant parts of the snapshot are tenant a's.
  const parts = recorded.parts.map((p) => (p === 'head' ? `head${rq.tenant}` : p)).filter((p) => rq.tenant === 'A' || !['automation'].includes(p));
  assert.deepEqual(changed.filter((k) => !parts.includes(k)), [], `a recorded ${body.code} changed more than it records: ${what}`);
  const from = (JSON.parse(before[`head${rq.tenant}`]!) as { seq: number }).seq;
  const added = await h.services.store.listReceipts(rq.tenant === 'A' ? w.tenantA : w.tenantB, { after_seq: from, limit: 100 });
  assert.ok(added.length > 0, `${body.code} changed ${changed.join(', ')} without a receipt: ${what}`);
  for (const r of added) assert.ok(recorded.allowed(r, body), `${body.code} wrote ${r.type} ${JSON.stringify(r.body)}: ${what}`);
}

// ── the world the requests run in ────────────────────────────────────────────────────────────────────────────

function operations(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).filter((p: any) => p.in === 'path' || p.in === 'query').map((p: any) => ({ name: p.name, in: p.in, schema: p.schema ?? {} })),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops;
}

async function ok(h: Harness, method: string, url: string, body: unknown, seeds: Map<string, unknown[]>, template = url, key?: string): Promise<any> {
  const r = await h.req(method, url, body, key);
  assert.ok(r.status >= 200 && r.status < 300, `setup ${method} ${url}: ${r.status} ${JSON.stringify(r.json)}`);
  if (key === undefined) seeds.set(`${method} ${template}`, [...(seeds.get(`${method} ${template}`) ?? []), body]);
  return r.json;
}

async function buildWorld(h: Harness): Promise<World> {
  const seeds = new Map<string, unknown[]>();
  const b = await h.newTenant('b');
  // A read-only key of tenant a itself: its writes must be 403 and write nothing.
  const readKey = (await h.services.tenants.createKey(h.tenantId, ['read'])).api_key;

  const assigned = await ok(h, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker, body: { job: 1 } }, seeds);
  await ok(h, 'POST', '/v1/receipts/batch', { receipts: [{ type: 'task.progress', from: worker, to: agent, parents: [assigned.receipt.receipt_id] }] }, seeds);
  await ok(h, 'POST', '/v1/obligations/check-terminator', { parent_receipt_id: assigned.receipt.receipt_id, terminator_type: 'task.completed' }, seeds);
  const task = await ok(h, 'POST', '/v1/tasks', { type: 'render', payload: { page: 1 }, priority: 1 }, seeds);
  await ok(h, 'POST', '/v1/tasks/batch', { tasks: [{ type: 'claimable', task_id: 'claim-me' }] }, seeds);
  const [lease] = (await ok(h, 'POST', '/v1/leases/claim', { worker_id: 'w1', accept_types: ['claimable'], max_tasks: 1, lease_ttl_seconds: 600 }, seeds)).leases;
  const proof = { lease_id: lease.lease_id, lease_token: lease.lease_token };
  await ok(h, 'POST', `/v1/tasks/${lease.task_id}/start`, proof, seeds, '/v1/tasks/{id}/start');
  await ok(h, 'POST', `/v1/tasks/${lease.task_id}/progress`, { ...proof, progress: { pct: 10 } }, seeds, '/v1/tasks/{id}/progress');
  await ok(h, 'POST', '/v1/leases/renew', proof, seeds);
  const stamp = await ok(h, 'POST', '/v1/stamps', { subject: worker, task_ref: 't-1', scope: ['read'], ttl_seconds: 3600 }, seeds);
  await ok(h, 'POST', '/v1/stamps/introspect', { token: stamp.token }, seeds);
  await ok(h, 'POST', `/v1/stamps/${stamp.stamp.stamp_id}/events`, { action: 'read', outcome: 'executed' }, seeds, '/v1/stamps/{id}/events');
  await ok(h, 'POST', '/v1/sessions', { session_id: 's-1', owner: agent, conversation_id: 'c-1' }, seeds);
  await ok(h, 'POST', '/v1/events', { event_id: 'e-1', event_class: 'agent_lifecycle', session_id: 's-1' }, seeds);
  await ok(h, 'POST', '/v1/events', { event_id: 'e-orphan', event_class: 'unknown', correlation: { conversation_id: 'c-none' } }, seeds);
  const capability = await enabledCapability(h);
  const automation = await ok(h, 'POST', '/v1/automation/sessions', startBody(), seeds);
  await ok(h, 'POST', `/v1/automation/sessions/${automation.session.automationId}/actions`, { action: 'click' }, seeds, '/v1/automation/sessions/{id}/actions');
  const contractDoc = JSON.parse(readFileSync(join(ROOT, 'examples', 'CapabilityLedger', 'valid-minimal.json'), 'utf8'));
  const contract = await ok(h, 'POST', '/v1/contracts', contractDoc, seeds);
  seeds.set('POST /v1/contracts/validate', [contractDoc, [contractDoc]]);
  const evidence = await h.app.inject({ method: 'POST', url: '/v1/evidence', headers: { authorization: `Bearer ${h.key}`, 'content-type': 'text/plain' }, payload: 'fuzz evidence' });
  assert.equal(evidence.statusCode, 201, evidence.body);
  const install = await ok(h, 'POST', '/v1/runtime-installs', {
    runtimeRef: 'urn:srcos:runtime:agent-runtime@0.4.0', targetRef: 'urn:srcos:target:laptop-ada', platform: 'darwin-arm64', installState: 'installing',
    manifest: { files: ['bin/agent'] },
    artifacts: [{ artifactRef: 'urn:srcos:artifact:agent-runtime-0.4.0.tar.zst', digest: 'sha256:' + '6'.repeat(64), sizeBytes: 48211337, verificationState: 'verified' }],
    sessionRef: 'urn:srcos:session:setup-0301', capabilityLedgerRef: 'urn:srcos:capability-ledger:runtime-install-0301', policyDecisionRef: 'urn:srcos:decision:allow-installs-7',
  }, seeds);
  const schemas = (await h.req('GET', '/v1/schemas')).json.schemas.map((s: { type: string }) => s.type);

  // Tenant b's objects: from tenant a, every one of them must be "not found" and must stay untouched.
  const bReceipt = await ok(h, 'POST', '/v1/receipts', { type: 'task.assigned', from: agent, to: worker }, seeds, undefined, b.key);
  const bTask = await ok(h, 'POST', '/v1/tasks', { type: 'render' }, seeds, undefined, b.key);
  const bStamp = await ok(h, 'POST', '/v1/stamps', { subject: worker, task_ref: 't-b', scope: ['read'], ttl_seconds: 3600 }, seeds, undefined, b.key);

  const receiptIds = [assigned.receipt.receipt_id, task.receipt.receipt_id, bReceipt.receipt.receipt_id];
  const ids = new Map<string, string[]>([
    ['/v1/receipts/', receiptIds],
    ['/v1/tasks/', [task.task.task_id, lease.task_id, bTask.task.task_id]],
    ['/v1/stamps/', [stamp.stamp.stamp_id, bStamp.stamp.stamp_id]],
    ['/v1/sessions/', ['s-1']],
    ['/v1/automation/sessions/', [automation.session.automationId]],
    ['/v1/capabilities/', [capability.capabilityRef]],
    ['/v1/contracts/', [contract.contract?.id ?? contractDoc.id]],
    ['/v1/evidence/', [JSON.parse(evidence.body).digest]],
    ['/v1/runtime-installs/', [install.install_id]],
    ['/v1/schemas/', schemas],
  ]);
  const values = new Map<string, string[]>([
    ['lease_id', [lease.lease_id]], ['lease_token', [lease.lease_token]], ['task_id', [task.task.task_id, lease.task_id, bTask.task.task_id]],
    ['parent_receipt_id', receiptIds], ['parents', receiptIds], ['token', [stamp.token, bStamp.token]], ['stamp_id', [stamp.stamp.stamp_id]],
    ['session_id', ['s-1']], ['parent_id', ['e-1']], ['event_id', ['e-1', 'e-orphan']], ['conversation_id', ['c-1', 'c-none']],
    ['capabilityRef', [capability.capabilityRef]], ['sessionRef', [automation.session.sessionRef]], ['worker_id', ['w1']],
  ]);
  return {
    ids, values, seeds, keys: { admin: h.key, read: readKey, otherTenant: b.key },
    tenantA: h.tenantId, tenantB: b.tenantId, leaseId: lease.lease_id, stampId: stamp.stamp.stamp_id, sessionId: 's-1',
  };
}

for (const backend of BACKENDS) {
  describe(`[${backend}] API fuzz: bad input gets a coded 4xx and writes nothing`, () => {
    let h: Harness;
    let w: World;
    before(async () => {
      h = await harness({ backend });
      w = await buildWorld(h);
    });
    after(async () => h.close());

    test('every operation of /openapi.json, with generated paths, queries and bodies', async (t) => {
      const doc = await h.req('GET', '/openapi.json');
      assert.equal(doc.status, 200);
      const ops = operations(doc.json);
      // The enumeration itself must work: these are a few of the routes it has to find.
      for (const must of ['POST /v1/receipts', 'GET /v1/tasks/{id}', 'POST /v1/stamps/{id}/tombstone', 'PATCH /v1/sessions/{id}', 'POST /v1/capabilities/{ref}/planes/{plane}']) {
        assert.ok(ops.some((o) => `${o.method} ${o.path}` === must), `${must} missing from /openapi.json`);
      }
      const state: { last?: Record<string, string> } = {};
      for (const op of ops) {
        await t.test(`${op.method} ${op.path}`, async () => {
          await fc.assert(fc.asyncProperty(requestArb(op, w), (rq) => check(h, w, rq, state)), { numRuns: RUNS, includeErrorInReport: true, ...(SEED !== undefined && { seed: SEED }) });
          // What was accepted must be stored as it was hashed: both tenants' chains still verify. (A lone surrogate in
          // an id was once accepted with a 201 and broke the chain; the 4xx checks above could not see that.)
          for (const tenant of [w.tenantA, w.tenantB]) {
            const v = await h.services.ledger.verify(tenant);
            assert.ok(v.ok, `after ${op.method} ${op.path}, tenant ${tenant === w.tenantA ? 'a' : 'b'}'s chain does not verify: ${JSON.stringify(v)}`);
          }
        });
      }
    });
  });
}
