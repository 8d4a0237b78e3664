/**
 * Git workspace classification throughput, in process, on real repositories made with the `git` CLI.
 *
 * "Warm" means the classifier has seen the path before and the repository's files have settled (older than the
 * racy window), which is the state of any checkout nobody is committing to this very second: each classification
 * then costs a handful of stat calls and no file reads. "Racy" measures a repository written to within the window,
 * whose small files are re-read on every classification. Every classification stats the filesystem, so a HEAD
 * change is always seen (test/workspace/cache.test.ts proves it); nothing here trades correctness for speed.
 *
 * Run alone: `node dist/bench/workspace.js`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkspaceClassifier, buildGitWorkspaceState, type ClassifyOptions } from '../src/workspace/index.js';
import { git, initRepo, removeTempRoot, tempRoot } from '../test/workspace/repos.js';

const RACY_WINDOW_MS = 2000;

function rate(fn: () => void, ms: number): number {
  for (let i = 0; i < 2000; i++) fn(); // JIT warm-up
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  let n = 0;
  let elapsed = 0n;
  do {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return Math.round(n / (Number(elapsed) / 1e9));
}

function classifyRate(c: WorkspaceClassifier, path: string, ms: number, options?: ClassifyOptions): number {
  return rate(() => c.classify(path, options), ms);
}

export async function benchWorkspace(msPerFigure = 1000): Promise<Record<string, number>> {
  const root = tempRoot();
  try {
    const repo = initRepo(join(root, 'repo'), { commits: 3 });
    mkdirSync(join(repo, 'src', 'lib', 'deep'), { recursive: true });
    const wt = join(root, 'linked');
    git(repo, 'worktree', 'add', '-q', '-b', 'feature', wt);
    const bare = join(root, 'bare.git');
    git(root, 'clone', '-q', '--bare', repo, bare);
    const plain = join(root, 'plain', 'folder');
    mkdirSync(plain, { recursive: true });

    const figures: Record<string, number> = {};
    const c = new WorkspaceClassifier({ homeDir: null, racyWindowMs: RACY_WINDOW_MS });

    // The repositories were written a moment ago: this is the racy case, files re-read every time.
    figures['racy (just written) repo root (classifications/s)'] = classifyRate(c, repo, msPerFigure);

    const cold = process.hrtime.bigint();
    const coldRuns = 200;
    for (let i = 0; i < coldRuns; i++) new WorkspaceClassifier({ homeDir: null }).classify(join(repo, 'src'));
    figures['cold classifier, first classification (µs)'] = Math.round(Number(process.hrtime.bigint() - cold) / 1e3 / coldRuns);

    // Let the files settle past the racy window, as any checkout not being written to right now has.
    await new Promise((resolve) => setTimeout(resolve, RACY_WINDOW_MS + 200));

    figures['warm repo root (classifications/s)'] = classifyRate(c, repo, msPerFigure);
    figures['warm folder 3 levels down (classifications/s)'] = classifyRate(c, join(repo, 'src', 'lib', 'deep'), msPerFigure);
    figures['warm linked worktree (classifications/s)'] = classifyRate(c, wt, msPerFigure);
    figures['warm bare repository (classifications/s)'] = classifyRate(c, bare, msPerFigure);
    figures['warm not a repository (classifications/s)'] = classifyRate(c, plain, msPerFigure);
    figures['warm repo root, agent command (classifications/s)'] = classifyRate(c, repo, msPerFigure, {
      operation: 'agent_requested_command',
      commandClass: 'status',
    });

    const facts = c.classify(repo);
    const refs = {
      id: 'bench-1',
      sessionRef: 'urn:srcos:session:bench',
      capabilityLedgerRef: 'urn:srcos:capability-ledger:bench',
      workspaceRef: 'urn:srcos:workspace:bench',
      policyDecisionRef: 'urn:srcos:decision:bench',
      evidenceRefs: [],
      capturedAt: '2026-01-01T00:00:00Z',
    };
    figures['classify + build GitWorkspaceState document (per s)'] = rate(
      () => buildGitWorkspaceState(c.classify(repo), refs),
      msPerFigure,
    );
    figures['build document only (per s)'] = rate(() => buildGitWorkspaceState(facts, refs), msPerFigure);
    return figures;
  } finally {
    removeTempRoot(root);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await benchWorkspace();
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(width)}  ${v}`);
}
