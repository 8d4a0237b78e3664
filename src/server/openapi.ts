/**
 * What every route answers, for /openapi.json: its success statuses and their bodies, and the coded error every
 * route may answer (DESIGN §11). Fastify's route schemas describe requests only; these are added to the document
 * alone (`@fastify/swagger`'s transformObject), so replies are still serialised by JSON.stringify, never trimmed to
 * a schema. The ledger's own types (Receipt, Task, Stamp…) come from schemas/, the single source of truth, as
 * components; the SourceOS documents embedded in some answers are named and linked, not repeated.
 *
 * test/helpers.ts holds every answer of every harness request in the suite to this document, so a route that
 * answers a status or a key it does not declare fails the test that made it.
 */
import { errorSchema, inlineContractSchema } from './schemas.js';

type Schema = Record<string, unknown>;
interface Response { description: string; content?: Record<string, { schema: Schema }> }
interface Operation { responses?: Record<string, Response>; security?: unknown[] }

const ref = (name: keyof typeof COMPONENT_SOURCES | 'Error') => ({ $ref: `#/components/schemas/${name}` });
const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const time = { type: 'string', format: 'date-time' };
const nullable = (s: Schema) => ({ anyOf: [s, { type: 'null' }] });
const array = (items: Schema) => ({ type: 'array', items });
const cursor = { ...nullable(str), description: 'Pass back as `cursor` for the next page; null on the last page.' };
/** A SourceOS or engine view, described in prose: its shape is the named schema's, or the route's summary. */
const view = (description: string) => ({ type: 'object', description });

/** An object with exactly these keys: `required` always sent, `optional` sometimes. */
function obj(required: Record<string, Schema>, optional: Record<string, Schema> = {}): Schema {
  return { type: 'object', required: Object.keys(required), properties: { ...required, ...optional }, additionalProperties: false };
}

/** A page of a list route: `key` holds the items. */
const page = (key: string, items: Schema, extra: Record<string, Schema> = {}) => obj({ [key]: array(items), cursor, ...extra });

const COMPONENT_SOURCES = {
  Receipt: 'Receipt', Task: 'Task', Stamp: 'Stamp', TaskTombstone: 'TaskTombstone', LeaseClaimResponse: 'LeaseClaimResponse',
} as const;

/** Components the responses refer to: the ledger's types from schemas/, inlined, and the coded error. */
export function components(): Record<string, Schema> {
  const out: Record<string, Schema> = { Error: { ...errorSchema, description: 'Every 4xx and 5xx answer: a stable `code` (docs/errors.md), the HTTP reason and a message for people. Some codes add fields that say more (the conflicting receipt, the limit crossed); docs/errors.md names them.' } };
  for (const [name, file] of Object.entries(COMPONENT_SOURCES)) out[name] = inlineContractSchema(file);
  return out;
}

const json = (description: string, schema: Schema): Response => ({ description, content: { 'application/json': { schema } } });
const errorItem = obj({ statusCode: int, error: ref('Error') });
/** A batch route's per-item results: each item is its own answer (with its status code) or its own coded error. */
const results = (item: Schema) => obj({ results: array({ oneOf: [errorItem, item] }) });

/** A write that answers what it wrote (201) or, sent again, what it wrote before (200 `duplicate`). */
function written(what: string, body: (status: Schema) => Record<string, Schema>, optional: Record<string, Schema> = {}): Record<string, Response> {
  return {
    201: json(`${what}: written now`, obj({ status: { const: 'created' }, ...body({ const: 'created' }) }, optional)),
    200: json(`${what}: the same request sent before; nothing new written, the stored answer`, obj({ status: { const: 'duplicate' }, ...body({ const: 'duplicate' }) }, optional)),
  };
}

const receiptWrite = (what: string) => written(what, () => ({ receipt: ref('Receipt') }));

/** POST /v1/receipts and its batch items: 201 new, 200 already there, 202 stored but closing nothing (DESIGN §2.4). */
const appended = {
  ...receiptWrite('Receipt appended'),
  202: json('Stored, but a success without artifacts or delivery_proof closes nothing (LOCATABILITY_MISSING, lenient mode)',
    obj({ status: { const: 'not_discharged' }, code: { const: 'LOCATABILITY_MISSING' }, message: str, receipt: ref('Receipt') }, { anomaly: ref('Receipt') })),
};

/** A batch item answered as its single route would be: any of those bodies, with the status code it would have had. */
function batchItem(answers: Record<string, Response>): Schema {
  return {
    oneOf: Object.values(answers).map((r) => {
      const s = r.content!['application/json']!.schema as { required: string[]; properties: Schema };
      return { ...s, required: ['statusCode', ...s.required], properties: { statusCode: int, ...s.properties } };
    }),
  };
}

const taskWrite = written('Task created', () => ({ task: ref('Task'), receipt: ref('Receipt') }));
/** A completion, alone or in a batch: a success without a locatable product is stored and closes nothing (202). */
const completed = { ...receiptWrite('task.completed appended'), 202: appended[202] };
const stampAnswer = (what: string) => written(what, () => ({ stamp: ref('Stamp'), token: { type: 'string', description: 'Compact JWS (EdDSA)' }, receipt: ref('Receipt') }));

const introspection = obj({ active: bool }, {
  token_type: { const: 'stamp' }, state: { enum: ['active', 'tombstoned', 'ambiguous'] }, iss: str, sub: str, jti: str, stamp_id: str, tenant: str,
  task: str, scope: str, iat: int, exp: int, gen: int, status: obj({ idx: int }), task_id: str, lease: str, worker: str, outcome: str,
  inactive_reason: { enum: ['invalid_token', 'unknown_key', 'unknown_stamp', 'tombstoned', 'ambiguous', 'expired', 'superseded_generation', 'unknown_generation'] },
  event_receipt_id: str,
});

const sessionAnswer = (statuses: string[]) => obj({ status: { enum: statuses }, session: view('The session (sessions engine view)'), receipt: nullable(ref('Receipt')), reconciliation: view('What attaching the session reconciled: orphans recovered, receipts written') });
const automationAnswer = obj({ status: { enum: ['ended', 'duplicate'] }, session: view('The automation session (BrowserAutomationReceipt view)'), receipt: ref('Receipt') });
const eventAnswer = {
  oneOf: [
    obj({ status: { const: 'attached' }, event_id: str, session_id: str, matched: array(str), receipt: ref('Receipt'), reconciliation: view('What attaching reconciled') }),
    obj({ status: { const: 'queued' }, event_id: str, orphan: view('The orphan (OrphanEventReceipt view)'), receipt: ref('Receipt') }),
    obj({ status: { const: 'duplicate' }, event_id: str, session_id: str, receipt: ref('Receipt') }),
    obj({ status: { const: 'discarded_duplicate' }, event_id: str, orphan: view('The orphan the repeat was discarded into'), receipt: ref('Receipt'), queued_receipt: ref('Receipt'), duplicate_of: obj({ orphan_id: str, state: str }) }),
  ],
};

const capabilityAnswer = (optional: Record<string, Schema> = {}) => obj({ capability: view('The capability with its planes and CapabilityLedger record') }, { receipt: ref('Receipt'), ...optional });

/**
 * Success answers by `METHOD /path` (OpenAPI path syntax). Every route is here: an operation without a success
 * fails test/server/openapi-responses.test.ts.
 */
const SUCCESS: Record<string, Record<string, Response>> = {
  // receipts (#2)
  'POST /v1/receipts': appended,
  'POST /v1/receipts/batch': { 200: json('One result per receipt, in order; the batch is one transaction', results(batchItem(appended))) },
  'GET /v1/receipts': { 200: json('Receipts, oldest first', page('receipts', ref('Receipt'))) },
  'GET /v1/receipts/{id}': { 200: json('The receipt', obj({ receipt: ref('Receipt') })) },
  'POST /v1/receipts/{id}/ack': receiptWrite('receipt.acknowledged appended'),
  'GET /v1/obligations/open': { 200: json('Open obligations, oldest first (fetching them closes nothing)', page('open_obligations', ref('Receipt'))) },
  'GET /v1/bootstrap': { 200: json('Deprecated alias of GET /v1/obligations/open', page('open_obligations', ref('Receipt'))) },
  'POST /v1/obligations/check-terminator': {
    200: json('Whether the parent is an open obligation and what may close it', obj(
      { parent_receipt_id: str, type: str, is_obligation: bool, open: bool, legal_terminators: array(str), closed_by: nullable(str), closed_at: nullable(time), closed_only_by: nullable(str) },
      { terminator_type: str, would_close: bool },
    )),
  },
  'GET /v1/anomalies': { 200: json('system.anomaly receipts, oldest first', page('anomalies', ref('Receipt'))) },
  'GET /v1/ledger/verify': {
    200: json("The chain check of the caller's tenant: ok, or the first bad seq and why", obj({ tenant_id: str, ok: bool, receipts: int, head_seq: int }, { first_bad_seq: int, reason: str })),
  },
  'GET /v1/health': { 200: json('The server and its store answer', obj({ status: { const: 'ok' }, backend: { enum: ['sqlite', 'postgres'] }, schema_version: int })) },

  // tasks and leases (#3)
  'POST /v1/tasks': taskWrite,
  'POST /v1/tasks/batch': { 200: json('One result per task, in order', results(batchItem(taskWrite))) },
  'GET /v1/tasks': { 200: json('Tasks in queue order', page('tasks', ref('Task'))) },
  'GET /v1/tasks/{id}': { 200: json('The task and a page of its receipts (its trace)', page('receipts', ref('Receipt'), { task: ref('Task') })) },
  'POST /v1/tasks/{id}/cancel': receiptWrite('task.canceled appended'),
  'POST /v1/leases/claim': { 200: json('The leases granted (none when nothing matches)', ref('LeaseClaimResponse')) },
  'POST /v1/leases/renew': {
    200: json('The lease extended (or this renewal, sent again, answered as it was)', obj(
      { status: { enum: ['renewed', 'duplicate'] }, lease_id: str, expires_at: time, renewals: int, renewals_left: int, renewable_until: time, lease_ttl_seconds_max: int },
    )),
  },
  'POST /v1/tasks/{id}/start': receiptWrite('task.started appended'),
  'POST /v1/tasks/{id}/progress': receiptWrite('task.progress appended'),
  'POST /v1/tasks/{id}/complete': completed,
  'POST /v1/tasks/complete-batch': {
    200: json('One result per completion, in order', results(batchItem(completed))),
  },
  'POST /v1/tasks/{id}/fail': receiptWrite('task.failed appended (and the retry or the end it leads to)'),
  'POST /v1/tasks/{id}/release': receiptWrite('lease.released appended; the task is queued again, no attempt spent'),

  // stamps (#4)
  'GET /.well-known/jwks.json': { 200: json('Public keys that verify stamp tokens and status lists', obj({ keys: array({ type: 'object', required: ['kty', 'crv', 'x', 'kid', 'alg', 'use'] }) })) },
  'POST /v1/stamps': stampAnswer('Stamp minted'),
  'POST /v1/stamps/introspect': { 200: json('RFC 7662: `{active: false}` for anything not an active stamp of the caller', introspection) },
  'GET /v1/stamps/status': {
    200: { description: "The caller's signed status list (a JWT, `typ` statuslist+jwt)", content: { 'application/statuslist+jwt': { schema: str } } },
  },
  'GET /v1/stamps/{id}': { 200: json('The stamp and a page of its history', page('history', ref('Receipt'), { stamp: ref('Stamp') })) },
  'POST /v1/stamps/{id}/tombstone': written('Stamp tombstoned', () => ({ tombstone: ref('TaskTombstone'), receipt: ref('Receipt') })),
  'POST /v1/stamps/{id}/events': receiptWrite('stamp.event appended'),
  'POST /v1/stamps/{id}/rotate': stampAnswer('Next generation issued; the previous one is invalid'),
  'GET /v1/investigations': { 200: json('Stamps whose TTL ran out with no tombstone, with their last known events', page('investigations', view('An ambiguous stamp and its last events'))) },

  // capabilities, automation, sessions, contracts, evidence, runtime installs, workspace
  'POST /v1/capabilities': {
    201: json('Capability declared', capabilityAnswer()),
    200: json('Capability already declared alike; nothing written', capabilityAnswer()),
  },
  'GET /v1/capabilities': { 200: json('Capabilities', page('capabilities', view('A capability summary'))) },
  'GET /v1/capabilities/{ref}': { 200: json('The capability and a page of its history', page('history', view('A negotiation event'), { capability: view('The capability') })) },
  'POST /v1/capabilities/{ref}/planes/{plane}': { 200: json('The plane report taken (changed) or already known', capabilityAnswer({ changed: bool })) },
  'POST /v1/capabilities/{ref}/observations': {
    200: json('The observation recorded, with a split-brain anomaly when a surface disagrees', obj({ observation: view('The observation'), splitBrain: bool, effectiveState: str }, { anomaly: ref('Receipt') })),
  },
  'POST /v1/automation/sessions': {
    201: json('Automation session started', obj({ session: view('The automation session (BrowserAutomationReceipt view)'), receipt: ref('Receipt') })),
    200: json('The same session started before', obj({ session: view('The automation session'), receipt: ref('Receipt') })),
  },
  'GET /v1/automation/sessions': { 200: json('Automation sessions', page('sessions', view('An automation session'))) },
  'GET /v1/automation/sessions/{id}': { 200: json('The automation session', obj({ session: view('The automation session') })) },
  'POST /v1/automation/sessions/{id}/revoke': { 200: json('Session revoked', automationAnswer) },
  'POST /v1/automation/sessions/{id}/actions': { 201: json('Action recorded as executed', obj({ outcome: { const: 'executed' }, receipt: ref('Receipt') })) },
  'POST /v1/automation/sessions/{id}/complete': { 200: json('Session completed', automationAnswer) },
  'POST /v1/automation/sessions/{id}/fail': { 200: json('Session failed', automationAnswer) },
  'POST /v1/sessions': {
    201: json('Session opened', sessionAnswer(['created'])),
    200: json('The same session opened before', sessionAnswer(['existing'])),
  },
  'GET /v1/sessions/{id}': {
    200: json('The session and a page of its DAG', page('nodes', view('An event of the session, with its receipt'), {
      session: view('The session'),
      edges: array(obj({ event_id: str, parent_id: str, receipt_id: nullable(str), parent_receipt_id: nullable(str), parent_session_id: nullable(str) })),
    })),
  },
  'PATCH /v1/sessions/{id}': { 200: json('Keys added, or nothing new', sessionAnswer(['updated', 'unchanged'])) },
  'POST /v1/sessions/{id}/close': {
    201: json('Session closed', sessionAnswer(['closed'])),
    200: json('The session was closed before', sessionAnswer(['already_closed'])),
  },
  'POST /v1/events': {
    201: json('Event attached to its one matching session', eventAnswer),
    202: json('Event queued as an orphan (no single matching session yet)', eventAnswer),
    200: json('The event sent before (or a batch: one result per event)', { oneOf: [eventAnswer, results({ type: 'object', required: ['statusCode', 'status'] })] }),
  },
  'GET /v1/orphans': { 200: json('Orphan events', page('orphans', view('An orphan event'))) },
  'POST /v1/contracts/validate': { 200: json('Validation results, one per document', obj({ valid: bool, summary: { type: 'object' }, results: array({ type: 'object' }) })) },
  'POST /v1/contracts': {
    201: json('Contract document stored', obj({ status: { const: 'created' }, contract: view('The document as stored'), receipt: ref('Receipt') })),
    200: json('The same document stored before', obj({ status: { const: 'duplicate' }, contract: view('The document as stored'), receipt: ref('Receipt') })),
  },
  'GET /v1/contracts': { 200: json('Stored contract documents', page('contracts', view('A stored contract document'))) },
  'GET /v1/contracts/{urn}': { 200: json('The stored document and its receipt', obj({ contract: view('The document as stored'), receipt: ref('Receipt') })) },
  'GET /v1/schemas': { 200: json('The contract schemas', obj({ schemas: array({ type: 'object' }) })) },
  'GET /v1/schemas/{type}': { 200: { description: 'The JSON Schema (2020-12)', content: { 'application/schema+json': { schema: { type: 'object' } } } } },
  'POST /v1/evidence': {
    201: json('Evidence stored, addressed by its digest', obj({ digest: str, size_bytes: int })),
    200: json('The same bytes were stored before', obj({ digest: str, size_bytes: int })),
  },
  'GET /v1/evidence/{digest}': {
    200: { description: 'The stored bytes, with the content type they were stored with', content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
    304: { description: 'If-None-Match named the blob\'s ETag ("sha256:…"): the caller holds these bytes already; no body' },
  },
  'POST /v1/runtime-installs': {
    201: json('Runtime install recorded', obj({ unchanged: { const: false }, install_id: str, manifest: view('The manifest as recorded'), receipt: ref('Receipt') })),
    200: json('The same install recorded before', obj({ unchanged: { const: true }, install_id: str, manifest: view('The manifest as recorded'), receipt: ref('Receipt') })),
  },
  'GET /v1/runtime-installs/{id}': {
    200: json('The install and its receipts', obj({ install_id: str, runtime_ref: str, target_ref: str, install_state: str, manifest_digest: str, links: int, receipts: array(ref('Receipt')) })),
  },
  'POST /v1/workspace/git-state': { 201: json('Git workspace state recorded', obj({ receipt: ref('Receipt'), document: view('The GitWorkspaceState document') })) },
};

const error = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });
const REFUSED_KEYED = error('Refused: bad input, no key or a key without the scope, not found, a conflict; the code says which');
const REFUSED_PUBLIC = error('Refused: bad input, not found; the code says which');
const NOT_ANSWERED = error('Not answered: 503 QUITTANCE_ERR_STORE_UNAVAILABLE or QUITTANCE_ERR_SERVER_CLOSING may be sent again; 500 is a bug');

/**
 * The document's operations with their responses filled in: each route's successes and a coded error for 4xx and
 * 5xx. A route this module does not describe gets the errors only (test/server/openapi-responses.test.ts fails on
 * an operation without a success, so none ships that way; a test's own ad-hoc route does not stop the document).
 */
export function withResponses<D extends { paths?: Record<string, Record<string, Operation>>; components?: Record<string, unknown> }>(doc: D): D {
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      const success = SUCCESS[`${method.toUpperCase()} ${path}`];
      // A public route (security: []) takes no key, so no 401 or 403 for want of one.
      const keyed = op.security === undefined || op.security.length > 0;
      op.responses = { ...(success ?? {}), '4XX': keyed ? REFUSED_KEYED : REFUSED_PUBLIC, '5XX': NOT_ANSWERED };
    }
  }
  const existing = (doc.components?.['schemas'] ?? {}) as Record<string, unknown>;
  return { ...doc, components: { ...doc.components, schemas: { ...existing, ...components() } } };
}
