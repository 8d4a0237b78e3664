/**
 * Request schemas of the HTTP routes (JSON Schema 2020-12). The ledger's shapes come from schemas/, the single
 * source of truth (DESIGN §9), through the contracts loader: each is inlined (its `$ref`s to sibling schemas
 * replaced by those schemas) so the route validator compiles it on its own and the OpenAPI document shows it whole.
 */
import { loadSchemas, type JsonSchema } from '../contracts/schemas.js';
import { PRINCIPAL_KINDS } from '../ledger/types.js';

/** Keywords that only annotate: next to a `$ref` they describe the reference without changing what it accepts. */
const ANNOTATIONS = new Set(['description', 'title', '$comment', 'examples', 'deprecated']);

/**
 * A copy of the contract schema `name` with every `$ref` to a sibling schema (`"Principal.schema.json"`) replaced
 * by that schema, and without `$id` and `$schema`, so compiling it twice (two routes) cannot clash on an id.
 */
export function inlineContractSchema(name: string): JsonSchema {
  const byName = loadSchemas().byName;
  const inline = (node: unknown, seen: readonly string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => inline(n, seen));
    if (typeof node !== 'object' || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (k !== '$ref' && k !== '$id' && k !== '$schema') out[k] = inline(v, seen);
    const ref = (node as JsonSchema).$ref;
    if (ref === undefined) return out;
    const target = /^([A-Za-z]+)\.schema\.json$/.exec(ref)?.[1];
    if (target === undefined || !byName.has(target) || seen.includes(target)) {
      // A packaging bug (the schemas only refer to each other by file name, without cycles): fail loudly at start.
      throw new Error(`schemas/${name}.schema.json: cannot inline $ref ${JSON.stringify(ref)}`);
    }
    const resolved = inline(byName.get(target), [...seen, target]) as Record<string, unknown>;
    // 2020-12 applies a $ref together with its siblings: annotations may simply override, anything else is kept
    // as a conjunction.
    return Object.keys(out).every((k) => ANNOTATIONS.has(k)) ? { ...resolved, ...out } : { ...out, allOf: [resolved] };
  };
  return inline(byName.get(name) ?? schemaMissing(name), [name]) as JsonSchema;
}

function schemaMissing(name: string): never {
  throw new Error(`schemas/${name}.schema.json is missing`);
}

export const principalSchema = inlineContractSchema('Principal');
export const artifactSchema = inlineContractSchema('Artifact');
export const deliveryProofSchema = inlineContractSchema('DeliveryProof');

/**
 * schemas/ReceiptInput.schema.json, less four constraints the ledger enforces itself after parsing (DESIGN §2
 * rule 1), with coded errors that say why and with the limits of the configuration (the file states the defaults):
 * - `type.pattern`: an unknown type is QUITTANCE_ERR_UNKNOWN_RECEIPT_TYPE (422), in a batch for that item only,
 *   not a 400 for the whole request;
 * - `parents.maxItems`, `artifacts.maxItems`: limits.parentsMax / limits.artifactsMax, answered with
 *   QUITTANCE_ERR_TOO_MANY_PARENTS / QUITTANCE_ERR_TOO_MANY_ARTIFACTS ("contracts, not chat");
 * - `parents.uniqueItems`: parents are a set, so a repeated id is folded (same hash, same receipt), not refused.
 */
export const receiptInputSchema: JsonSchema = (() => {
  const s = inlineContractSchema('ReceiptInput');
  const p = s.properties!;
  delete p['type']!['pattern'];
  delete p['parents']!['maxItems'];
  delete p['parents']!['uniqueItems'];
  delete p['artifacts']!['maxItems'];
  return s;
})();

/**
 * The start of a pattern for ids a caller chooses that become a URL path segment (/v1/tasks/{id},
 * /v1/sessions/{id}): not "." or "..". Every HTTP client resolves those (%2E%2E too) before sending, so a task or
 * session with such an id could be created but never read, completed or closed.
 */
export const NOT_DOT_SEGMENT = '^(?!\\.\\.?$)';

/** What a list route's `cursor` is, as the OpenAPI document says it. */
export const CURSOR_DESCRIPTION = 'The cursor of the previous page of this listing: the same path and filters (limit may change). Another listing\'s cursor is 400 QUITTANCE_ERR_CURSOR_MISMATCH';

/**
 * `cursor` and `limit` of a list route. `limit` goes up to the configured largest page (a larger one is a 400, so
 * the caller learns the bound instead of silently getting fewer per page); the OpenAPI document shows the bound
 * and the page size used when the caller names none.
 */
export function pageQuery(page: { pageSizeDefault: number; pageSizeMax: number }, defaultSize = page.pageSizeDefault) {
  return {
    cursor: { type: 'string', maxLength: 64, description: CURSOR_DESCRIPTION },
    limit: { type: 'integer', minimum: 1, maximum: page.pageSizeMax, description: `Page size: ${Math.min(defaultSize, page.pageSizeMax)} when not given, at most ${page.pageSizeMax}` },
  } as const;
}

export const principalQuery = {
  principal_kind: { enum: [...PRINCIPAL_KINDS] },
  principal_id: { type: 'string', minLength: 1, maxLength: 256 },
} as const;

export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } },
} as const;
