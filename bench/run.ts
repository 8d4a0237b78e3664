/**
 * `npm run bench [-- NAME ...]`: prints figures, never gates anything. NAME is a key of SUITES below; without names
 * every suite but `compare` runs. `npm run bench -- --compare` runs the comparison with graphile-worker and pg-boss.
 */
import { benchAppend } from './append.js';
import { benchCalibrate } from './calibrate.js';
import { benchObligations } from './obligations.js';
import { benchTasks } from './tasks.js';
import { benchWorkspace } from './workspace.js';
import { benchContracts } from './contracts.js';
import { benchCapabilities } from './capabilities.js';
import { benchStamps } from './stamps.js';
import { benchStore } from './store.js';
import type { Figures } from './lib.js';

const SUITES: Record<string, () => Promise<Figures>> = {
  // First: what a bare Node HTTP server reaches on this machine today, to read the other figures against.
  calibrate: () => benchCalibrate(),
  stamps: () => benchStamps(),
  append: () => benchAppend(),
  obligations: () => benchObligations(),
  tasks: () => benchTasks(),
  // The same lifecycle in process: CPU per task and the WAL pages each task and commit write (noise-free).
  store: () => benchStore(),
  workspace: () => benchWorkspace(),
  contracts: () => benchContracts(),
  capabilities: () => benchCapabilities(),
  postgres: () => import('./postgres.js').then((m) => m.benchPostgres()),
  // Needs PostgreSQL: round trips per claim and per complete.
  roundtrips: () => import('./pg-roundtrips.js').then((m) => m.benchRoundTrips()),
  // Needs PostgreSQL and the graphile-worker / pg-boss devDependencies: run it with `npm run bench -- --compare`.
  compare: () => import('./compare.js').then((m) => m.benchCompare()),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = process.argv.includes('--compare') ? ['compare', ...wanted] : wanted.length ? wanted : Object.keys(SUITES).filter((n) => n !== 'compare' && n !== 'roundtrips');
console.log(`Quittance benchmarks on ${process.version}, ${(await import('node:os')).cpus().length} cores\n`);
for (const name of names) {
  const suite = SUITES[name];
  if (!suite) {
    console.error(`unknown bench ${name} (known: ${Object.keys(SUITES).join(', ')})`);
    process.exitCode = 2;
    continue;
  }
  const started = Date.now();
  const figures = await suite();
  console.log(`== ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(width)}  ${v}`);
  console.log('');
}
