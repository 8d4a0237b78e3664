/**
 * Generates src/contracts/types.ts from schemas/*.schema.json, so the TypeScript types cannot say something the
 * schemas do not. It understands the subset of JSON Schema the contract schemas use and refuses any other
 * keyword, rather than silently producing a type looser or stricter than the schema.
 *
 *   npx tsc -p . && node dist/src/contracts/codegen.js --write    regenerate src/contracts/types.ts
 *   node dist/src/contracts/codegen.js --check                      exit 1 when it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSchemaFiles, schemasDir, type JsonSchema, type SchemaSet } from './schemas.js';

/** Keywords that shape the generated type. */
const SHAPE = new Set(['$ref', 'type', 'const', 'enum', 'properties', 'required', 'additionalProperties', 'items']);
/** Keywords that only annotate or narrow a value within its TypeScript type (a pattern is still a string). */
const NARROWING = new Set([
  '$schema', '$id', '$comment', 'title', 'description', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly',
  'pattern', 'format', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'multipleOf', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties',
]);

const HEADER = `/**
 * TypeScript types of the contract schemas. GENERATED from schemas/*.schema.json by src/contracts/codegen.ts:
 * do not edit by hand. After changing a schema run
 *   npx tsc -p . && node dist/src/contracts/codegen.js --write
 * test/contracts/types.test.ts fails while this file and the schemas disagree.
 */
`;

function literal(v: unknown): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`codegen: cannot express ${JSON.stringify(v)} as a literal type`);
}

function jsdoc(text: string, indent: string): string {
  return `${indent}/** ${text.replace(/\*\//g, '*\\/')} */\n`;
}

function refName(ref: string, where: string): string {
  const m = /^([A-Za-z][A-Za-z0-9]*)\.schema\.json$/.exec(ref);
  if (!m) throw new Error(`${where}: codegen only follows $refs to sibling schema files, not ${ref}`);
  return m[1]!;
}

function checkKeywords(s: JsonSchema, where: string): void {
  for (const k of Object.keys(s)) {
    if (!SHAPE.has(k) && !NARROWING.has(k)) throw new Error(`${where}: codegen does not understand the keyword ${k}`);
  }
}

function render(s: JsonSchema, indent: string, where: string): string {
  checkKeywords(s, where);
  if (s.$ref !== undefined) return refName(s.$ref, where);
  if (s.const !== undefined) return literal(s.const);
  if (s.enum !== undefined) return s.enum.map(literal).join(' | ');
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  if (types.length === 0) return 'unknown';
  const parts = types.map((t) => single(t, s, indent, where));
  return [...new Set(parts)].join(' | ');
}

function single(t: string, s: JsonSchema, indent: string, where: string): string {
  switch (t) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      const item = s.items === undefined ? 'unknown' : render(s.items, indent, `${where}/items`);
      return item.includes(' | ') && !item.startsWith('{') ? `(${item})[]` : `${item}[]`;
    }
    case 'object':
      return objectType(s, indent, where);
    default:
      throw new Error(`${where}: unknown JSON type ${t}`);
  }
}

function objectType(s: JsonSchema, indent: string, where: string): string {
  const props = s.properties ?? {};
  const keys = Object.keys(props);
  const extra = s.additionalProperties;
  if (extra !== undefined && typeof extra !== 'boolean') {
    throw new Error(`${where}: codegen supports additionalProperties true or false only`);
  }
  const open = extra !== false;
  if (keys.length === 0) return open ? 'Record<string, unknown>' : 'Record<string, never>';
  const inner = indent + '  ';
  let out = '{\n';
  for (const k of keys) {
    const p = props[k]!;
    if (p.description) out += jsdoc(p.description, inner);
    const name = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : literal(k);
    const optional = s.required?.includes(k) ? '' : '?';
    out += `${inner}${name}${optional}: ${render(p, inner, `${where}/properties/${k}`)};\n`;
  }
  if (open) out += `${inner}[key: string]: unknown;\n`;
  return out + indent + '}';
}

/** The full text of src/contracts/types.ts for a set of schemas. Deterministic: same schemas, same bytes. */
export function generateTypes(set: SchemaSet): string {
  let out = HEADER;
  for (const name of set.names) {
    const s = set.byName.get(name)!;
    const where = `schemas/${name}.schema.json`;
    checkKeywords(s, where);
    if (s.type !== 'object') throw new Error(`${where}: a contract schema must describe an object`);
    out += '\n';
    if (s.description) out += jsdoc(s.description, '');
    out += `export interface ${name} ${objectType(s, '', where)}\n`;
  }
  const ledger = set.names.filter((n) => !set.sourceOsTypes.includes(n));
  out += '\n/** Every contract type, by schema name. */\nexport interface ContractTypeMap {\n';
  for (const name of set.names) out += `  ${name}: ${name};\n`;
  out += '}\n\nexport type ContractTypeName = keyof ContractTypeMap;\n';
  out += '\n/** The SourceOS interchange documents: each names its own schema in `type`. */\n';
  out += `export type SourceOsDocument = ${set.sourceOsTypes.join(' | ')};\n`;
  out += `\nexport const SOURCEOS_TYPE_NAMES = [${set.sourceOsTypes.map(literal).join(', ')}] as const;\n`;
  out += `\n/** The ledger's own types: they carry no type discriminator, so a validator must be told which schema to use. */\n`;
  out += `export const LEDGER_TYPE_NAMES = [${ledger.map(literal).join(', ')}] as const;\n`;
  return out;
}

/** Where the generated file lives in a source checkout: src/contracts/types.ts beside the schemas/ folder. */
export function typesFilePath(dir: string = schemasDir()): string {
  return join(dirname(dir), 'src', 'contracts', 'types.ts');
}

function main(argv: string[]): number {
  const dir = schemasDir();
  const text = generateTypes(readSchemaFiles(dir));
  const target = typesFilePath(dir);
  if (argv.includes('--write')) {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${target}\n`);
    return 0;
  }
  if (argv.includes('--check')) {
    const same = readFileSync(target, 'utf8') === text;
    process.stdout.write(same ? `${target} is up to date\n` : `${target} is out of date: run with --write\n`);
    return same ? 0 : 1;
  }
  process.stdout.write(text);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
