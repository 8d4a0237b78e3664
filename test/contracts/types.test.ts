import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateTypes, typesFilePath } from '../../src/contracts/codegen.js';
import { readSchemaFiles, type JsonSchema, type SchemaSet } from '../../src/contracts/schemas.js';
import type * as Contracts from '../../src/contracts/types.js';
import { LEDGER_TYPE_NAMES, SOURCEOS_TYPE_NAMES } from '../../src/contracts/types.js';
import type * as Ledger from '../../src/ledger/types.js';
import type { ClaimInput, Grant, TaskCreateInput } from '../../src/tasks/engine.js';
import type { StampView, Tombstone } from '../../src/stamps/types.js';

test('src/contracts/types.ts is exactly what the schemas generate (regenerate: node dist/src/contracts/codegen.js --write)', () => {
  const expected = generateTypes(readSchemaFiles());
  const actual = readFileSync(typesFilePath(), 'utf8');
  assert.equal(actual, expected);
});

test('the generated name lists match the schema files', () => {
  const set = readSchemaFiles();
  assert.deepEqual([...SOURCEOS_TYPE_NAMES], [...set.sourceOsTypes]);
  assert.deepEqual([...LEDGER_TYPE_NAMES, ...SOURCEOS_TYPE_NAMES].sort(), [...set.names].sort());
});

function one(name: string, schema: JsonSchema): SchemaSet {
  return { names: [name], byName: new Map([[name, schema]]), sourceOsTypes: [] };
}

test('codegen renders required, optional, nullable, enums, const, arrays, $refs and open objects', () => {
  const text = generateTypes(one('Thing', {
    type: 'object', description: 'A thing.', required: ['a', 'b'], additionalProperties: false,
    properties: {
      a: { type: 'string', const: 'Thing', description: 'Const.' },
      b: { type: ['string', 'null'], format: 'date-time', description: 'Nullable.' },
      c: { type: 'array', items: { type: ['integer', 'null'] }, description: 'Array of a union.' },
      d: { type: ['string', 'null'], enum: ['x', "it's", null], description: 'Nullable enum.' },
      e: { $ref: 'Principal.schema.json', description: 'A ref.' },
      f: { type: 'object', description: 'Open.', required: ['g'], additionalProperties: true, properties: { g: { type: 'boolean', description: 'G.' } } },
      h: { type: 'object', description: 'Free-form.' },
    },
  }));
  assert.ok(text.includes(`/** A thing. */
export interface Thing {
  /** Const. */
  a: 'Thing';
  /** Nullable. */
  b: string | null;
  /** Array of a union. */
  c?: (number | null)[];
  /** Nullable enum. */
  d?: 'x' | 'it\\'s' | null;
  /** A ref. */
  e?: Principal;
  /** Open. */
  f?: {
    /** G. */
    g: boolean;
    [key: string]: unknown;
  };
  /** Free-form. */
  h?: Record<string, unknown>;
}
`), text);
});

test('codegen refuses keywords it cannot express rather than guessing', () => {
  const base = { type: 'object', additionalProperties: false, required: [], description: 'x' };
  assert.throws(() => generateTypes(one('T', { ...base, properties: { a: { oneOf: [{ type: 'string' }, { type: 'integer' }] } } })), /does not understand the keyword oneOf/);
  assert.throws(() => generateTypes(one('T', { ...base, properties: { a: { $ref: 'https://elsewhere.test/x.json' } } })), /only follows \$refs to sibling schema files/);
  assert.throws(() => generateTypes(one('T', { ...base, if: { required: ['a'] }, then: { required: ['b'] }, properties: {} })), /keyword if/);
  assert.throws(() => generateTypes(one('T', { ...base, properties: { a: { type: 'object', additionalProperties: { type: 'string' } } } })), /additionalProperties true or false/);
});

// ── compile-time: the ledger's hand-written types (src/ledger/types.ts) and the schema-generated ones agree. ──
// If either side changes alone, `tsc` fails right here, naming the type that drifted. Equal is exact (an added
// optional property fails it); DeliveryProof.proof is open on both sides ({request_id?, ...} plus any keys in the
// schema, Record<string, unknown> in the ledger), so for it mutual assignability is the test.
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree = {
  Principal: true satisfies Equal<Contracts.Principal, Ledger.Principal>,
  Artifact: true satisfies Equal<Contracts.Artifact, Ledger.Artifact>,
  DeliveryProof: true satisfies Equal<Omit<Contracts.DeliveryProof, 'proof'>, Omit<Ledger.DeliveryProof, 'proof'>>,
  'DeliveryProof.proof': true satisfies Same<Contracts.DeliveryProof['proof'], Ledger.DeliveryProof['proof']>,
  ReceiptInput: true satisfies Equal<Omit<Contracts.ReceiptInput, 'delivery_proof'>, Omit<Ledger.ReceiptInput, 'delivery_proof'>>,
  'ReceiptInput.delivery_proof': true satisfies Same<Contracts.ReceiptInput['delivery_proof'], Ledger.ReceiptInput['delivery_proof']>,
  Receipt: true satisfies Equal<Omit<Contracts.Receipt, 'delivery_proof'>, Omit<Ledger.Receipt, 'delivery_proof'>>,
  'Receipt.delivery_proof': true satisfies Same<Contracts.Receipt['delivery_proof'], Ledger.Receipt['delivery_proof']>,
};

// The server's own request and response types, beside the schemas of what the routes take and answer. A claim's
// grant has its stamp optional in the engine (it runs without stamps in unit tests); the server always mints one.
const serverAgrees = {
  TaskCreate: true satisfies Equal<Contracts.TaskCreate, TaskCreateInput>,
  LeaseClaimRequest: true satisfies Equal<Contracts.LeaseClaimRequest, ClaimInput>,
  'LeaseClaimResponse.leases': true satisfies Equal<Contracts.LeaseClaimResponse['leases'][number], Required<Grant>>,
  Stamp: true satisfies Equal<Contracts.Stamp, StampView>,
  TaskTombstone: true satisfies Equal<Contracts.TaskTombstone, Tombstone>,
};

test('the ledger\'s own TypeScript types agree with the schemas (checked by the compiler)', () => {
  assert.deepEqual(Object.values(agree), Object.values(agree).map(() => true));
  assert.deepEqual(Object.keys(agree).filter((k) => !k.includes('.')).sort(), ['Artifact', 'DeliveryProof', 'Principal', 'Receipt', 'ReceiptInput']);
  assert.deepEqual(Object.values(serverAgrees), Object.values(serverAgrees).map(() => true));
});
