import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { QuittanceError } from '../errors.js';
import { locate } from '../ledger/strict-json.js';
import { quotedShort } from './errors.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * Route schemas are JSON Schema 2020-12, the same dialect as schemas/. Bodies are validated as sent (no coercion,
 * no silent removal of unknown keys: an unknown key is an error). Query strings and params arrive as text, so
 * there numbers and booleans are coerced.
 */
export function installValidation(app: FastifyInstance): void {
  const body = addFormats(new Ajv2020({ allErrors: false, strict: false, coerceTypes: false, removeAdditional: false, useDefaults: true }));
  const text = addFormats(new Ajv2020({ allErrors: false, strict: false, coerceTypes: 'array', removeAdditional: false, useDefaults: true }));
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return body.compile(schema);
    return decimalIntegersOnly(schema as TextSchema, text.compile(schema));
  });
  // A route that takes no query parameters says so: `?limit=5` on /v1/ledger/verify, or a typo on
  // /v1/receipts/{id}, was silently ignored there, while the list routes refused a parameter they do not take.
  app.addHook('onRoute', (route) => {
    if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NO_QUERY };
  });
}

const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

type TextSchema = { properties?: Record<string, { type?: unknown }> };
type TextValidator = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null | undefined };

/** An integer as a query string or path segment writes it: decimal digits, an optional minus sign before them. */
const DECIMAL_INTEGER = /^-?[0-9]+$/;

/**
 * Ajv's coercion reads text as JavaScript's Number() does, so `limit=0x10`, `limit=1e1`, `limit=%202` (a leading
 * space) and `limit=0b11` were served as pages of 16, 10, 2 and 3. An integer of a query string or path is its
 * decimal digits and nothing else: other text is refused, as any other text that is not an integer is.
 */
function decimalIntegersOnly(schema: TextSchema, validate: TextValidator): TextValidator {
  const integers = Object.entries(schema.properties ?? {}).filter(([, p]) => p.type === 'integer').map(([name]) => name);
  if (integers.length === 0) return validate;
  const checked: TextValidator = (data) => {
    if (typeof data === 'object' && data !== null) {
      for (const name of integers) {
        const v = (data as Record<string, unknown>)[name];
        if (typeof v === 'string' && !DECIMAL_INTEGER.test(v)) {
          checked.errors = [{ instancePath: `/${name}`, schemaPath: `#/properties/${name}/type`, keyword: 'type', params: { type: 'integer' }, message: 'must be an integer in decimal digits' }];
          return false;
        }
      }
    }
    const ok = validate(data);
    checked.errors = validate.errors;
    return ok;
  };
  return checked;
}

/**
 * U+0000 is refused in every string of a request (body, path parameters, query), keys included, with one coded 400
 * before any handler runs. PostgreSQL text cannot hold it while SQLite can, so without this rule an id with a NUL
 * was stored on one backend and refused on the other; refused here, both answer alike. Free-form JSON (receipt
 * bodies, task payloads) is stored as canonical JSON text, where a NUL is the escape `\u0000`, so both backends
 * could keep it; it is refused all the same: one rule with no list of "id-like" fields to keep up to date, and no
 * string that a NUL-terminated consumer, a jsonb column or a log line would cut short. Binary content belongs in
 * the evidence store (POST /v1/evidence takes raw bytes and is not JSON-parsed).
 */
export function installNulRefusal(app: FastifyInstance): void {
  // Callback style: it runs on every request and almost always finds nothing, so no promise per request.
  app.addHook('preValidation', (request, _reply, done) => {
    // Parameters and query arrive percent-encoded: no `%00` in the URL, no NUL in them.
    if (!request.url.includes('%00') && !request.url.includes('\0')) return done();
    const where = stringLocation(request.params, 'params', hasNul) ?? stringLocation(request.query, 'querystring', hasNul);
    done(where === undefined ? undefined : new QuittanceError('QUITTANCE_ERR_NUL_CHARACTER', [where]));
  });
}

export function hasNul(s: string): boolean {
  return s.includes('\0');
}

/** Where the first string or key that is `bad` is in `value`, as `root` followed by a JSON Pointer, or undefined. */
export function stringLocation(value: unknown, root: string, bad: (s: string) => boolean): string | undefined {
  return locate(value, root, (v) => typeof v === 'string' && bad(v), bad);
}

/**
 * A request body sent with a Content-Encoding (gzip, br, …) is refused before it is read: the server does not
 * decode bodies, so the evidence route stored the compressed bytes as the blob (a digest of bytes the client never
 * meant) and a JSON route refused them as text that is not UTF-8. `identity` means no encoding and passes.
 */
export function installContentEncodingRefusal(app: FastifyInstance): void {
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding === undefined || encoding.trim().toLowerCase() === 'identity' || encoding.trim() === '') return done(null, payload);
    // Only a body is encoded: a request without one (a GET a proxy tagged) has nothing to refuse.
    const body = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
    if (!body) return done(null, payload);
    done(new QuittanceError('QUITTANCE_ERR_UNSUPPORTED_CONTENT_ENCODING', [quotedShort(encoding)]), payload);
  });
}
