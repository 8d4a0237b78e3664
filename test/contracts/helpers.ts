/** Shared by the contract tests: where the package lives and how to read the examples. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { schemasDir } from '../../src/contracts/schemas.js';

/** The package root (where schemas/, examples/ and src/ are). */
export const ROOT = dirname(schemasDir());
export const EXAMPLES = join(ROOT, 'examples');

export interface ExpectedError {
  /** Index of the document within a file holding an array of documents. */
  document?: number;
  path: string;
  keyword: string;
}

export interface Expectation {
  /** The rule the example breaks, in words. */
  breaks: string;
  /** The semantic rule's id, when a semantic rule (not the schema) is what it breaks. */
  rule?: string;
  errors: ExpectedError[];
}

export interface Example {
  type: string;
  file: string;
  kind: 'valid' | 'invalid';
  /** The file's content: one document, or an array of documents validated together. */
  content: unknown;
  expect?: Expectation;
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function exampleTypes(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

export function examplesOf(type: string): Example[] {
  const dir = join(EXAMPLES, type);
  const out: Example[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json') || file.endsWith('.expect.json')) continue;
    const kind = file.startsWith('valid-') ? 'valid' : file.startsWith('invalid-') ? 'invalid' : undefined;
    if (kind === undefined) throw new Error(`examples/${type}/${file}: example files are named valid-*.json or invalid-*.json`);
    const ex: Example = { type, file, kind, content: readJson(join(dir, file)) };
    if (kind === 'invalid') ex.expect = readJson(join(dir, file.replace(/\.json$/, '.expect.json'))) as Expectation;
    out.push(ex);
  }
  return out;
}

export function allExamples(): Example[] {
  return exampleTypes().flatMap(examplesOf);
}
