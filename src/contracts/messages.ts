/**
 * Turns Ajv's errors into contract errors: a JSON Pointer to the offending value (for `required` and
 * `additionalProperties`, to the missing or extra property itself), a message a person can act on, and the
 * JSON Schema keyword that failed.
 */
import type { ErrorObject } from 'ajv';

export interface ContractError {
  /** JSON Pointer (RFC 6901) into the document; "" is the document itself. */
  path: string;
  message: string;
  /** The JSON Schema keyword that failed (required, pattern, ...) or the name of a semantic rule (requiredWhen, ...). */
  keyword: string;
}

/** Escapes one reference token of a JSON Pointer. */
export function pointerToken(key: string | number): string {
  const s = String(key);
  return s.includes('~') || s.includes('/') ? s.replace(/~/g, '~0').replace(/\//g, '~1') : s;
}

const FORMAT_HINTS: Record<string, string> = {
  'date-time': 'an RFC 3339 date-time with a time zone, e.g. 2026-05-06T04:31:00Z',
  uuid: 'a UUID',
};

function quote(v: unknown): string {
  return JSON.stringify(v);
}

function one(e: ErrorObject): ContractError {
  const p = e.params as Record<string, unknown>;
  const at = e.instancePath;
  switch (e.keyword) {
    case 'required':
      return { path: `${at}/${pointerToken(p['missingProperty'] as string)}`, keyword: 'required', message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${at}/${pointerToken(p['additionalProperty'] as string)}`,
        keyword: 'additionalProperties',
        message: 'is not allowed: the schema has no such property',
      };
    case 'type':
      return { path: at, keyword: 'type', message: `must be ${String(p['type']).split(',').join(' or ')}` };
    case 'const':
      return { path: at, keyword: 'const', message: `must be ${quote(p['allowedValue'])}` };
    case 'enum':
      return { path: at, keyword: 'enum', message: `must be one of ${(p['allowedValues'] as unknown[]).map(quote).join(', ')}` };
    case 'pattern':
      return { path: at, keyword: 'pattern', message: `must match ${String(p['pattern'])}` };
    case 'format': {
      const f = String(p['format']);
      return { path: at, keyword: 'format', message: `must be ${FORMAT_HINTS[f] ?? `a valid ${f}`}` };
    }
    case 'minItems':
      return { path: at, keyword: e.keyword, message: `must have at least ${String(p['limit'])} item${p['limit'] === 1 ? '' : 's'}` };
    case 'maxItems':
      return { path: at, keyword: e.keyword, message: `must have at most ${String(p['limit'])} items` };
    case 'uniqueItems':
      return { path: at, keyword: e.keyword, message: `must not repeat an item (items ${String(p['j'])} and ${String(p['i'])} are equal)` };
    case 'minLength':
      return { path: at, keyword: e.keyword, message: `must be at least ${String(p['limit'])} character${p['limit'] === 1 ? '' : 's'} long` };
    case 'maxLength':
      return { path: at, keyword: e.keyword, message: `must be at most ${String(p['limit'])} characters long` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path: at, keyword: e.keyword, message: `must be ${String(p['comparison'])} ${String(p['limit'])}` };
    default:
      return { path: at, keyword: e.keyword, message: `fails ${e.keyword} ${quote(p)}` };
  }
}

/**
 * Ajv errors → contract errors. A value of the wrong JSON type also fails the other keywords at its place
 * (a number where an enum string belongs fails both `type` and `enum`); only the type error is kept there.
 */
export function fromAjvErrors(errors: readonly ErrorObject[]): ContractError[] {
  let typeAt: Set<string> | undefined;
  for (const e of errors) if (e.keyword === 'type') (typeAt ??= new Set()).add(e.instancePath);
  const out: ContractError[] = [];
  for (const e of errors) {
    if (typeAt && e.keyword !== 'type' && e.keyword !== 'required' && e.keyword !== 'additionalProperties' && typeAt.has(e.instancePath)) continue;
    out.push(one(e));
  }
  return out;
}
