/**
 * The contract schemas: `schemas/<Type>.schema.json` at the package root, JSON Schema 2020-12, one file per type.
 * They are the single source of truth: the validator compiles them, src/contracts/types.ts is generated from
 * them, and the HTTP layer serves them. Read from disk once, on first use.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuittanceError } from '../errors.js';

/** Base of every schema's `$id`; schemas refer to each other relative to it (`"$ref": "Principal.schema.json"`). */
export const SCHEMA_ID_BASE = 'https://quittance.dev/schemas/';
export const SCHEMA_FILE_SUFFIX = '.schema.json';

/** A JSON Schema object as stored in schemas/. Only the keys Quittance reads are typed. */
export interface JsonSchema {
  $id?: string;
  $ref?: string;
  title?: string;
  description?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  [keyword: string]: unknown;
}

export interface SchemaSet {
  /** Every type name, sorted. */
  readonly names: readonly string[];
  readonly byName: ReadonlyMap<string, JsonSchema>;
  /**
   * The SourceOS interchange contracts: the types whose `type` property is the constant type name, so a
   * document names its own schema. The ledger's own types (Receipt, Task, ...) carry no such discriminator.
   */
  readonly sourceOsTypes: readonly string[];
}

let cached: SchemaSet | undefined;

/** The package's schemas/ folder, found from this module's place (src/contracts or dist/src/contracts). */
export function schemasDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const candidate = join(dir, 'schemas');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('quittance: cannot find the schemas/ folder of the package (broken install?)');
}

/** Reads every schema file in `dir`. Pure of caching, for tools (codegen, tests) that want a fresh read. */
export function readSchemaFiles(dir: string = schemasDir()): SchemaSet {
  const byName = new Map<string, JsonSchema>();
  const files = readdirSync(dir).filter((f) => f.endsWith(SCHEMA_FILE_SUFFIX)).sort();
  for (const file of files) {
    const name = file.slice(0, -SCHEMA_FILE_SUFFIX.length);
    const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as JsonSchema;
    // A mismatch here is a packaging bug, not bad user input: fail loudly.
    if (schema.title !== name) throw new Error(`schemas/${file}: title ${JSON.stringify(schema.title)} must equal the file's type name`);
    if (schema.$id !== SCHEMA_ID_BASE + file) throw new Error(`schemas/${file}: $id must be ${SCHEMA_ID_BASE + file}`);
    byName.set(name, schema);
  }
  const names = [...byName.keys()];
  const sourceOsTypes = names.filter((n) => byName.get(n)!.properties?.['type']?.const === n);
  return Object.freeze({ names: Object.freeze(names), byName, sourceOsTypes: Object.freeze(sourceOsTypes) });
}

/** The package's schemas, read once and cached for the life of the process. */
export function loadSchemas(): SchemaSet {
  return (cached ??= readSchemaFiles());
}

export function isSchemaName(name: string): boolean {
  return loadSchemas().byName.has(name);
}

/** One schema by type name; a coded 404-style error for a name that is not one (GET /v1/schemas/{Type}, --schema). */
export function schemaByName(name: string): JsonSchema {
  const s = loadSchemas().byName.get(name);
  if (!s) throw new QuittanceError('QUITTANCE_ERR_SCHEMA_NOT_FOUND', [JSON.stringify(name), loadSchemas().names.join(', ')]);
  return s;
}
