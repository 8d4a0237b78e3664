import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compileAll } from '../../src/contracts/compile.js';
import { SCHEMA_ID_BASE, loadSchemas, readSchemaFiles, type JsonSchema } from '../../src/contracts/schemas.js';
import { ANOMALY_KINDS, RECEIPT_TYPES } from '../../src/ledger/registry.js';
import { ARTIFACT_KINDS, PRINCIPAL_KINDS } from '../../src/ledger/types.js';
import { ROOT } from './helpers.js';

const schemas = loadSchemas();

/** DESIGN §9's table, as data: the id prefix and the fields beyond the common ones of each SourceOS contract. */
const DESIGN_TABLE: Record<string, { prefix: string; required: string[]; optional: string[] }> = {
  CapabilityLedger: {
    prefix: 'urn:srcos:capability-ledger:',
    required: ['capabilityRef', 'declaredBy', 'negotiatedBy', 'effectiveState'],
    optional: ['sessionRef', 'agentMachineReceiptRef', 'stateReason', 'ownerRefs', 'conflictRefs', 'causalRefs'],
  },
  BrowserAutomationReceipt: {
    prefix: 'urn:srcos:receipt:browser-automation:',
    required: ['sessionRef', 'capabilityLedgerRef', 'ownerRef', 'transport', 'permissionScope', 'origin', 'userVisible', 'revocable', 'startedAt'],
    optional: ['controlledScope', 'revokedAt', 'terminalState', 'causalRefs'],
  },
  GitWorkspaceState: {
    prefix: 'urn:srcos:git-workspace-state:',
    required: ['sessionRef', 'capabilityLedgerRef', 'workspaceRef', 'state', 'severity', 'operation', 'actionability', 'pathEvidence', 'gitFacts'],
    optional: ['agentMachineReceiptRef', 'expectedNegativeState', 'causalRefs'],
  },
  OrphanEventReceipt: {
    prefix: 'urn:srcos:receipt:orphan-event:',
    required: ['eventRef', 'eventClass', 'observedAt', 'sessionResolution', 'ttl'],
    optional: ['rawEventDigest', 'correlationKeys', 'causalRefs'],
  },
  RuntimeInstallReceipt: {
    prefix: 'urn:srcos:receipt:runtime-install:',
    required: ['sessionRef', 'capabilityLedgerRef', 'runtimeRef', 'targetRef', 'platform', 'installState', 'manifest', 'artifacts', 'logMode', 'startedAt'],
    optional: ['finishedAt', 'rollbackRef', 'failureReason', 'runtimeName', 'runtimeVersion', 'agentMachineReceiptRef', 'causalRefs'],
  },
};
const COMMON_REQUIRED = ['id', 'type', 'specVersion', 'policyDecisionRef', 'evidenceRefs', 'capturedAt'];

/** Nested fields DESIGN §9 lists in braces; a trailing ? marks the optional ones. */
const DESIGN_NESTED: Record<string, Record<string, string[]>> = {
  BrowserAutomationReceipt: { controlledScope: ['windowRef', 'tabRef', 'urlOrigin', 'workspaceRef'] },
  GitWorkspaceState: {
    pathEvidence: ['pathDigest', 'redactedPathHint?', 'redaction', 'rawPathStored'],
    gitFacts: ['branch', 'headSha', 'remoteState', 'worktreeRootDigest', 'gitDirDigest', 'failureReason?', 'commandClass?'],
  },
  OrphanEventReceipt: {
    sessionResolution: ['state', 'candidateSessionRefs', 'recoveredSessionRef', 'recoveredDagNodeRef', 'reconciledAt', 'quarantinedAt'],
    ttl: ['expiresAt', 'expired'],
    correlationKeys: ['conversationId', 'parentId', 'workspaceRef', 'taskRef'],
  },
  RuntimeInstallReceipt: {
    manifest: ['manifestRef', 'manifestDigest', 'resolvedAt', 'bundleFormatVersion?'],
    'artifacts/items': ['artifactRef', 'digest', 'sizeBytes?', 'verificationState'],
  },
};

const sorted = (xs: Iterable<string>) => [...xs].sort();

test('the schema files are exactly the five SourceOS contracts and the ledger\'s own types', () => {
  assert.deepEqual(sorted(schemas.sourceOsTypes), sorted(Object.keys(DESIGN_TABLE)));
  assert.deepEqual(sorted(schemas.names.filter((n) => !schemas.sourceOsTypes.includes(n))), [
    'Anomaly', 'Artifact', 'DeliveryProof', 'LeaseClaimRequest', 'LeaseClaimResponse', 'Principal', 'Receipt', 'ReceiptInput',
    'Stamp', 'Task', 'TaskCreate', 'TaskTombstone',
  ]);
  assert.deepEqual(readdirSync(join(ROOT, 'schemas')).filter((f) => f.endsWith('.json')).sort(), schemas.names.map((n) => `${n}.schema.json`).sort());
});

/** Calls fn on every object schema inside s, with a readable location. */
function eachObjectSchema(s: JsonSchema, where: string, fn: (o: JsonSchema, where: string) => void): void {
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes('object')) fn(s, where);
  for (const [k, p] of Object.entries(s.properties ?? {})) eachObjectSchema(p, `${where}/${k}`, fn);
  if (s.items) eachObjectSchema(s.items, `${where}[]`, fn);
}

test('conventions: 2020-12, title = type, $id under the schema base, a description on every property, additionalProperties stated on every declared object', () => {
  for (const name of schemas.names) {
    const s = schemas.byName.get(name)!;
    assert.equal(s['$schema'], 'https://json-schema.org/draft/2020-12/schema', name);
    assert.equal(s.title, name);
    assert.equal(s.$id, `${SCHEMA_ID_BASE}${name}.schema.json`);
    assert.ok(typeof s.description === 'string' && s.description.length > 20, `${name} has a description`);
    eachObjectSchema(s, name, (o, where) => {
      // Free-form objects (body, payload, target) declare no properties; every other object states its openness.
      if (o.properties) assert.equal(typeof o.additionalProperties, 'boolean', `${where} states additionalProperties`);
      for (const [k, p] of Object.entries(o.properties ?? {})) {
        assert.ok(typeof p.description === 'string' && p.description.length > 5, `${where}/${k} has a description`);
      }
      for (const r of o.required ?? []) assert.ok(o.properties?.[r], `${where}: required ${r} is a declared property`);
    });
  }
});

test('only Artifact, Anomaly and DeliveryProof.proof accept keys beyond their schema', () => {
  const open: string[] = [];
  for (const name of schemas.names) {
    eachObjectSchema(schemas.byName.get(name)!, name, (o, where) => {
      if (o.additionalProperties !== false && o.properties && Object.keys(o.properties).length > 0) open.push(where);
    });
  }
  assert.deepEqual(open.sort(), ['Anomaly', 'Artifact', 'DeliveryProof/proof']);
});

test('SourceOS contracts follow DESIGN §9 field for field', () => {
  for (const [type, row] of Object.entries(DESIGN_TABLE)) {
    const s = schemas.byName.get(type)!;
    const props = s.properties!;
    assert.deepEqual(props['type'], { type: 'string', const: type, description: props['type']!.description });
    assert.ok((props['id']!['pattern'] as string).startsWith(`^${row.prefix}`), `${type} id prefix`);
    assert.match('0.1.0', new RegExp(props['specVersion']!['pattern'] as string, 'u'));
    assert.doesNotMatch('0.1', new RegExp(props['specVersion']!['pattern'] as string, 'u'));
    assert.equal(props['policyDecisionRef']!['pattern'], '^urn:srcos:decision:\\S+$');
    assert.equal(props['capturedAt']!['format'], 'date-time');
    assert.deepEqual(sorted(s.required!), sorted([...COMMON_REQUIRED, ...row.required]), `${type} required`);
    assert.deepEqual(sorted(Object.keys(props)), sorted([...COMMON_REQUIRED, ...row.required, ...row.optional]), `${type} properties`);
    for (const [field, inner] of Object.entries(DESIGN_NESTED[type] ?? {})) {
      const [name, items] = field.split('/');
      const o = items ? props[name!]!.items! : props[name!]!;
      assert.deepEqual(sorted(Object.keys(o.properties!)), sorted(inner.map((f) => f.replace('?', ''))), `${type}.${field} properties`);
      assert.deepEqual(sorted(o.required!), sorted(inner.filter((f) => !f.endsWith('?'))), `${type}.${field} required`);
    }
  }
  // Fields DESIGN gives a fixed value.
  assert.equal(schemas.byName.get('GitWorkspaceState')!.properties!['pathEvidence']!.properties!['rawPathStored']!.const, false);
  assert.equal(schemas.byName.get('BrowserAutomationReceipt')!.properties!['userVisible']!.const, true);
  assert.equal(schemas.byName.get('BrowserAutomationReceipt')!.properties!['revocable']!.const, true);
});

test('every timestamp is a date-time; nullable fields are written ["t","null"]', () => {
  for (const name of schemas.names) {
    eachObjectSchema(schemas.byName.get(name)!, name, (o, where) => {
      for (const [k, p] of Object.entries(o.properties ?? {})) {
        if (/(At|_at)$/.test(k) || k === 'timestamp' || k === 'at') {
          assert.equal(p['format'], 'date-time', `${where}/${k}`);
        }
        if (Array.isArray(p.type)) assert.ok(p.type.length >= 2, `${where}/${k}`);
        if (p.type === 'null') assert.fail(`${where}/${k} is only null`);
      }
    });
  }
});

test('the schemas compile under Ajv strict mode, each one on its own as well', () => {
  compileAll();
  const set = readSchemaFiles();
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, validateFormats: false });
  for (const s of set.byName.values()) ajv.addSchema(s);
  for (const name of set.names) assert.ok(ajv.getSchema(set.byName.get(name)!.$id!), name);
});

test('ledger schemas agree with the ledger\'s registry and constants', () => {
  const receiptType = new RegExp(schemas.byName.get('ReceiptInput')!.properties!['type']!['pattern'] as string, 'u');
  for (const t of Object.keys(RECEIPT_TYPES)) assert.match(t, receiptType);
  assert.equal(schemas.byName.get('Receipt')!.properties!['type']!['pattern'], receiptType.source);
  const kind = new RegExp(schemas.byName.get('Anomaly')!.properties!['kind']!['pattern'] as string, 'u');
  for (const k of Object.keys(ANOMALY_KINDS)) {
    assert.match(k, kind);
    assert.ok(schemas.byName.get('Anomaly')!.description!.includes(k), `Anomaly documents ${k}`);
  }
  assert.deepEqual(schemas.byName.get('Principal')!.properties!['kind']!.enum, [...PRINCIPAL_KINDS]);
  assert.deepEqual(schemas.byName.get('Artifact')!.properties!['kind']!.enum, [...ARTIFACT_KINDS]);
  assert.equal(schemas.byName.get('ReceiptInput')!.properties!['parents']!['maxItems'], 10);
  assert.equal(schemas.byName.get('ReceiptInput')!.properties!['artifacts']!['maxItems'], 100);
});
