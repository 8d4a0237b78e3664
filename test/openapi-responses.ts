/**
 * Holds an answer of the API to what /openapi.json says the route answers: its status is listed (exactly, or by
 * its class, 4XX/5XX), its content type is one the status lists, and a JSON body validates against that status's
 * schema. test/helpers.ts runs it on every harness request, so the whole suite checks the document.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

interface MediaType { schema?: unknown }
interface ResponseDoc { content?: Record<string, MediaType> }
interface OpenApiDoc { paths: Record<string, Record<string, { responses?: Record<string, ResponseDoc> }>> }

const DOC_ID = 'https://quittance.dev/openapi.json';

/** JSON Pointer token escaping (RFC 6901), then URI fragment escaping. */
const pointer = (...tokens: string[]) => tokens.map((t) => encodeURIComponent(t.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

export class ResponseChecker {
  private readonly ajv: Ajv2020;
  private readonly routes: { path: string; match: RegExp }[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: OpenApiDoc) {
    this.ajv = new Ajv2020({ strict: false, allowUnionTypes: true, allErrors: false });
    addFormats(this.ajv);
    this.ajv.addSchema({ ...doc, $id: DOC_ID });
    // Static segments before parameters, so /v1/tasks/batch is not read as /v1/tasks/{id}.
    this.routes = Object.keys(doc.paths)
      .map((path) => ({ path, match: new RegExp('^' + path.split('/').map((seg) => (/^\{.+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$') }))
      .sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
  }

  /** What is wrong with this answer, by the document; undefined when nothing is. */
  check(method: string, url: string, status: number, contentType: string | undefined, body: string): string | undefined {
    const path = url.split('?')[0]!;
    const verb = (method === 'HEAD' ? 'GET' : method).toLowerCase();
    // An operation the document gives no success (a route a test adds for itself; test/server/openapi-responses.test.ts
    // refuses one among the API's own) is checked as an unknown one.
    const described = (p: string) => Object.keys(this.doc.paths[p]![verb]?.responses ?? {}).some((c) => c.startsWith('2'));
    const route = this.routes.find((r) => r.match.test(path) && described(r.path));
    const op = route && this.doc.paths[route.path]![verb];
    // Not a documented operation (an unknown path or method, /openapi.json itself): only the error shape is known.
    if (!op) return status >= 400 ? this.validate(`${method} ${path}`, status, body, pointer('components', 'schemas', 'Error')) : undefined;
    const where = `${method} ${route!.path}`;
    const responses = op.responses ?? {};
    const key = String(status) in responses ? String(status) : `${String(status)[0]}XX`;
    const response = responses[key];
    if (!response) return `${where} answered ${status}, which /openapi.json does not list (it lists ${Object.keys(responses).join(', ')})`;
    if (method === 'HEAD' || !response.content) return undefined;
    const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const mediaKey = media in response.content ? media : '*/*' in response.content ? '*/*' : undefined;
    if (mediaKey === undefined) return `${where} answered ${status} as ${media || 'no content type'}, /openapi.json lists ${Object.keys(response.content).join(', ')}`;
    if (!/^application\/([a-z.+-]+\+)?json$/.test(mediaKey)) return undefined;
    return this.validate(`${where} ${status}`, status, body, pointer('paths', route!.path, verb, 'responses', key, 'content', mediaKey, 'schema'));
  }

  private validate(where: string, _status: number, body: string, schemaPointer: string): string | undefined {
    let v = this.compiled.get(schemaPointer);
    if (!v) {
      v = this.ajv.getSchema(`${DOC_ID}#/${schemaPointer}`);
      if (!v) return `${where}: /openapi.json has no schema at #/${decodeURIComponent(schemaPointer)}`;
      this.compiled.set(schemaPointer, v);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return `${where}: the body is not JSON: ${body.slice(0, 200)}`;
    }
    if (v(json)) return undefined;
    return `${where}: the body does not match /openapi.json: ${this.ajv.errorsText(v.errors, { separator: '; ' })}\n${body.slice(0, 2000)}`;
  }
}
