/**
 * Contract validation figures: documents validated per second in process (target ≥ 100,000/s), and
 * `quittance validate` over a folder of 10,000 documents, measured as a whole process from start to exit
 * (target < 3 s). Prints nothing; returns the figures for bench/run.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadSchemas, schemasDir } from '../src/contracts/schemas.js';
import { validateDocument, validateDocuments } from '../src/contracts/validate.js';

const ROOT = join(schemasDir(), '..');

/** The valid-all-optional example of every SourceOS type: full-size documents, one of each kind. */
function baseDocuments(): Record<string, unknown>[] {
  return loadSchemas().sourceOsTypes.map((t) =>
    JSON.parse(readFileSync(join(ROOT, 'examples', t, 'valid-all-optional.json'), 'utf8')) as Record<string, unknown>);
}

/** n distinct valid documents cycling through the types; each has its own id and session, so none conflict. */
function generate(n: number): Record<string, unknown>[] {
  const bases = baseDocuments();
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const d = structuredClone(bases[i % bases.length]!);
    d['id'] = `${String(d['id'])}-${i}`;
    if (typeof d['sessionRef'] === 'string') d['sessionRef'] = `${d['sessionRef']}-${i}`;
    out.push(d);
  }
  return out;
}

/** Calls fn in rounds until at least minMs have passed; returns calls (times unitsPerCall) per second. */
function rate(fn: () => void, opts: { callsPerRound: number; minMs: number; warmups: number; unitsPerCall?: number }): number {
  const { callsPerRound, minMs, warmups, unitsPerCall = 1 } = opts;
  for (let i = 0; i < warmups; i++) fn(); // warm up: compile the schemas, let the JIT settle
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < callsPerRound; i++) fn();
    calls += callsPerRound;
    elapsed = performance.now() - start;
  }
  return Math.round(((calls * unitsPerCall) / elapsed) * 1000);
}

function timeCli(dir: string): { ms: number } {
  const args = [join(ROOT, 'bin', 'quittance.js'), 'validate', dir];
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`quittance validate exited ${String(r.status)}: ${r.stdout.slice(-500)}${r.stderr.slice(-500)}`);
  if (!r.stdout.includes('10000 documents in 10000 files: 10000 valid, 0 invalid')) throw new Error(`unexpected output: ${r.stdout.slice(-300)}`);
  return { ms: Math.round(ms) };
}

export async function benchContracts(): Promise<Record<string, number>> {
  const docs = generate(1000);
  let i = 0;
  const single = rate(() => {
    if (!validateDocument(docs[i++ % docs.length]).valid) throw new Error('generated document is invalid');
  }, { callsPerRound: 10_000, minMs: 1000, warmups: 5000 });

  const invalidDocs = docs.slice(0, 100).map((d) => ({ ...d, policyDecisionRef: 'not-a-urn', capturedAt: 'yesterday' }));
  let k = 0;
  const invalid = rate(() => {
    if (validateDocument(invalidDocs[k++ % invalidDocs.length]).valid) throw new Error('broken document passed');
  }, { callsPerRound: 10_000, minMs: 500, warmups: 2000 });

  const set = generate(10_000);
  const setRate = rate(() => {
    if (!validateDocuments(set).valid) throw new Error('generated set is invalid');
  }, { callsPerRound: 1, minMs: 1000, warmups: 2, unitsPerCall: set.length });

  const dir = mkdtempSync(join(tmpdir(), 'quittance-bench-contracts-'));
  try {
    set.forEach((d, n) => writeFileSync(join(dir, `doc-${String(n).padStart(5, '0')}.json`), JSON.stringify(d, null, 2)));
    const cli = timeCli(dir);
    return {
      contracts_validate_per_s: single,
      contracts_validate_invalid_per_s: invalid,
      contracts_validate_set_docs_per_s: setRate,
      contracts_cli_10k_docs_ms: cli.ms,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchContracts().then((figures) => {
    for (const [name, value] of Object.entries(figures)) process.stdout.write(`${name.padEnd(36)} ${value}\n`);
  });
}
