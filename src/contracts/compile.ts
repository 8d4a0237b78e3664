/**
 * One Ajv instance for the contract schemas, created on first use. Each schema is compiled the first time a
 * document of its type is validated and then reused for the life of the process: compiling is the slow part
 * (milliseconds), validating the fast one (microseconds).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { loadSchemas } from './schemas.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

function instance(): Ajv2020 {
  if (ajv) return ajv;
  const a = new Ajv2020({
    // Report every problem of a document at once, so one run of `quittance validate` lists them all.
    allErrors: true,
    // strict: an unknown keyword or format in a schema is a bug in the schema, caught when it compiles.
    strict: true,
    // SourceOS nullables are written ["string", "null"].
    allowUnionTypes: true,
    // Messages are written by ./messages.ts from the error's keyword and params; Ajv need not build its own.
    messages: false,
  });
  addFormats(a);
  for (const schema of loadSchemas().byName.values()) a.addSchema(schema);
  return (ajv = a);
}

/** The compiled validator of a type, or undefined when there is no schema of that name. */
export function compiledValidator(name: string): ValidateFunction | undefined {
  const hit = compiled.get(name);
  if (hit) return hit;
  const schema = loadSchemas().byName.get(name);
  if (!schema) return undefined;
  const v = instance().getSchema(schema.$id!);
  if (!v) throw new Error(`schema ${name} did not compile`);
  compiled.set(name, v);
  return v;
}

/** Compiles every schema now (e.g. at server start, so the first request does not pay for it). */
export function compileAll(): void {
  for (const name of loadSchemas().names) compiledValidator(name);
}
