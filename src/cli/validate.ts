/**
 * `quittance validate FILE|DIR ... [--schema TYPE] [--json]`: checks contract documents against schemas/.
 * Directories are walked for *.json (example expectation files, *.expect.json, are skipped); a file holding a JSON
 * array is a set of documents. Everything named is validated together, so one session claimed by two owners in
 * two different files is caught. Exit code: 0 all valid, 1 some invalid, 2 unreadable input (missing file, bad
 * JSON) or bad usage.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock, type Clock } from '../clock.js';
import { isSchemaName, loadSchemas } from '../contracts/schemas.js';
import { pointerToken } from '../contracts/messages.js';
import { validateDocuments, type ContractError, type ValidationResult } from '../contracts/validate.js';
import { DuplicateKeyError, assertNoDuplicateKeys } from '../ledger/strict-json.js';

export const VALIDATE_USAGE = `Usage: quittance validate FILE|DIR ... [--schema TYPE] [--json]

Checks contract documents against the JSON Schemas in schemas/ and the semantic rules (DESIGN §9).
A SourceOS document names its schema in "type"; the ledger's own objects (Receipt, Task, ...) need --schema.
Directories are searched for *.json (skipping *.expect.json); a file holding a JSON array is a set of documents.
All documents are checked together: one session claimed by two owners anywhere among them is an error.

  --schema TYPE   check every document against this schema
  --json          print one JSON object (results per document) instead of text

Exit status: 0 all valid, 1 some invalid, 2 unreadable input (missing file, bad JSON) or bad usage.
`;

export interface ValidateIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Whether stderr is a terminal: the progress bar is drawn only there. */
  isTTY: boolean;
}

/** One document to check: where it came from and, for a file holding an array, its index there. */
interface Entry {
  file: string;
  index: number | null;
  doc: unknown;
  /** Set when the file could be parsed but not trusted (duplicate keys): the entry is invalid without validation. */
  preError?: ContractError;
}

interface Unreadable {
  file: string;
  error: string;
}

type Status = 'valid' | 'invalid' | 'unreadable';

interface OutputResult {
  file: string;
  index?: number;
  status: Status;
  type: string | null;
  errors: ContractError[];
}

function entryName(e: { file: string; index: number | null }): string {
  return e.index === null ? e.file : `${e.file}[${e.index}]`;
}

/**
 * Files named on the command line, with directories expanded (sorted, so output is stable). Each folder is walked
 * once, by its real path: a symlink back up the tree (`loop -> .`) or a second name for a folder (`latest -> v2`)
 * would otherwise have its documents read again under every name, until ELOOP, and the run end in exit 2.
 */
function collectFiles(paths: readonly string[], unreadable: Unreadable[]): string[] {
  const files: string[] = [];
  const walked = new Set<string>();
  const walk = (dir: string): void => {
    let names: string[];
    try {
      const real = realpathSync(dir);
      if (walked.has(real)) return;
      walked.add(real);
      names = readdirSync(dir).sort();
    } catch (e) {
      unreadable.push({ file: dir, error: (e as Error).message });
      return;
    }
    for (const name of names) {
      const full = join(dir, name);
      let isDir: boolean;
      try {
        isDir = statSync(full).isDirectory();
      } catch (e) {
        unreadable.push({ file: full, error: (e as Error).message });
        continue;
      }
      if (isDir) {
        if (!name.startsWith('.') && name !== 'node_modules') walk(full);
      } else if (name.endsWith('.json') && !name.endsWith('.expect.json')) {
        files.push(full);
      }
    }
  };
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      unreadable.push({ file: p, error: (e as Error).message });
      continue;
    }
    if (isDir) walk(p);
    else files.push(p);
  }
  return files;
}

/** Reads and parses one file into entries; a file that cannot be read or parsed becomes an Unreadable (false). */
function readEntries(file: string, entries: Entry[], unreadable: Unreadable[]): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    unreadable.push({ file, error: (e as Error).message });
    return false;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    unreadable.push({ file, error: `not valid JSON: ${(e as Error).message}` });
    return false;
  }
  try {
    assertNoDuplicateKeys(text);
  } catch (e) {
    if (!(e instanceof DuplicateKeyError)) throw e;
    // Valid JSON, but with no single meaning: invalid as a whole, never read as either value.
    const at = e.path === '/' ? '' : e.path;
    entries.push({
      file, index: null, doc: value,
      preError: { path: `${at}/${pointerToken(e.key)}`, keyword: 'duplicateKey', message: 'appears twice in one object: a document with duplicate keys has no single meaning' },
    });
    return true;
  }
  if (Array.isArray(value)) value.forEach((doc, index) => entries.push({ file, index, doc }));
  else entries.push({ file, index: null, doc: value });
  return true;
}

/** A progress bar on stderr, drawn only on a terminal and only once the run has taken longer than a second. */
function progressBar(io: ValidateIo, clock: Clock, total: number): { tick(done: number): void; end(): void } {
  const started = clock.now();
  let drawnAt = -Infinity;
  let shown = false;
  const draw = (done: number): void => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const fill = Math.round(pct * 0.3);
    io.stderr.write(`\rvalidating [${'#'.repeat(fill)}${'.'.repeat(30 - fill)}] ${pct}% ${done}/${total} files`);
    shown = true;
  };
  return {
    tick(done) {
      if (!io.isTTY) return;
      const now = clock.now();
      // Redraw at most ten times a second: drawing per file would cost more than validating it.
      if (now - started < 1000 || now - drawnAt < 100) return;
      drawnAt = now;
      draw(done);
    },
    end() {
      if (!shown) return;
      draw(total);
      io.stderr.write('\n');
    },
  };
}

function humanLine(name: string, e: ContractError): string {
  return `${name}: ${e.path === '' ? '' : `${e.path}: `}${e.message} (${e.keyword})\n`;
}

export async function runValidate(argv: string[], io: ValidateIo, clock: Clock = systemClock): Promise<number> {
  let values: { schema?: string | undefined; json?: boolean | undefined; help?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { schema: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.stderr.write(`quittance validate: ${(e as Error).message}\n\n${VALIDATE_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(VALIDATE_USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    io.stderr.write(`quittance validate: name at least one FILE or DIR\n\n${VALIDATE_USAGE}`);
    return 2;
  }
  if (values.schema !== undefined && !isSchemaName(values.schema)) {
    io.stderr.write(`quittance validate: no schema named ${JSON.stringify(values.schema)} (schemas: ${loadSchemas().names.join(', ')})\n`);
    return 2;
  }

  const unreadable: Unreadable[] = [];
  const files = collectFiles(positionals, unreadable);
  const entries: Entry[] = [];
  const bar = progressBar(io, clock, files.length);
  let readable = 0;
  for (let i = 0; i < files.length; i++) {
    if (readEntries(files[i]!, entries, unreadable)) readable++;
    bar.tick(i + 1);
  }

  const checked = entries.filter((e) => e.preError === undefined);
  const names = checked.map(entryName);
  const set = validateDocuments(checked.map((e) => e.doc), values.schema === undefined ? { names } : { names, schema: values.schema });
  bar.end();

  const results = new Map<Entry, ValidationResult>();
  checked.forEach((e, i) => results.set(e, set.results[i]!));
  const out: OutputResult[] = entries.map((e) => {
    const r = results.get(e) ?? { valid: false, type: null, errors: [e.preError!] };
    const o: OutputResult = { file: e.file, status: r.valid ? 'valid' : 'invalid', type: r.type, errors: r.errors };
    if (e.index !== null) o.index = e.index;
    return o;
  });
  for (const u of unreadable) out.push({ file: u.file, status: 'unreadable', type: null, errors: [{ path: '', keyword: 'unreadable', message: u.error }] });

  const invalid = out.filter((r) => r.status === 'invalid').length;
  const summary = {
    /** Files read and parsed; the unreadable ones are counted apart. */
    files: readable,
    documents: entries.length,
    valid: entries.length - invalid,
    invalid,
    unreadable: unreadable.length,
  };
  const code = unreadable.length > 0 ? 2 : invalid > 0 ? 1 : 0;

  if (values.json) {
    io.stdout.write(JSON.stringify({ valid: code === 0, summary, results: out }) + '\n');
    return code;
  }
  let text = '';
  for (const r of out) {
    if (r.status === 'valid') continue;
    const name = r.index === undefined ? r.file : `${r.file}[${r.index}]`;
    if (r.status === 'unreadable') text += `${name}: unreadable: ${r.errors[0]!.message}\n`;
    else for (const e of r.errors) text += humanLine(name, e);
  }
  text += `${summary.documents} document${summary.documents === 1 ? '' : 's'} in ${summary.files} file${summary.files === 1 ? '' : 's'}: `
    + `${summary.valid} valid, ${summary.invalid} invalid`
    + (summary.unreadable > 0 ? `, ${summary.unreadable} unreadable` : '') + '\n';
  io.stdout.write(text);
  return code;
}
