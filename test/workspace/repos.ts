/**
 * Real repositories for the workspace tests, made with the `git` CLI in temp folders. Git runs with no system or
 * global config, so the developer's own settings (default branch, hooks, signing) cannot change what is built.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';

const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: devNull,
  GIT_AUTHOR_NAME: 'Quittance Test',
  GIT_AUTHOR_EMAIL: 'test@quittance.invalid',
  GIT_COMMITTER_NAME: 'Quittance Test',
  GIT_COMMITTER_EMAIL: 'test@quittance.invalid',
  GIT_TERMINAL_PROMPT: '0',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** A fresh temp folder, canonical (so it compares equal to what the classifier resolves, e.g. on macOS). */
export function tempRoot(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'quittance-ws-')));
}

/** Removes a temp root, first giving back any permission a test took away. */
export function removeTempRoot(root: string): void {
  const restore = (dir: string): void => {
    try {
      chmodSync(dir, 0o755);
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) restore(join(dir, e.name));
    } catch {
      // best effort: rmSync below reports what is left
    }
  };
  restore(root);
  rmSync(root, { recursive: true, force: true });
}

export interface RepoOptions {
  commits?: number;
  remote?: boolean;
}

export const REMOTE_URL = 'https://example.invalid/quittance/repo.git';

/** `git init` + commits + (by default) an `origin` remote. */
export function initRepo(dir: string, options: RepoOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q');
  for (let i = 0; i < (options.commits ?? 1); i++) {
    writeFileSync(join(dir, 'file.txt'), `version ${i}\n`);
    git(dir, 'add', 'file.txt');
    git(dir, 'commit', '-q', '-m', `commit ${i}`);
  }
  if (options.remote ?? true) git(dir, 'remote', 'add', 'origin', REMOTE_URL);
  return dir;
}

/** True when this process can list a folder whose mode is 000 (root, or a capability like CAP_DAC_OVERRIDE). */
export function canReadThroughChmod000(root: string): boolean {
  const probe = join(root, 'chmod-probe');
  mkdirSync(probe);
  writeFileSync(join(probe, 'f'), 'x');
  chmodSync(probe, 0o000);
  try {
    readdirSync(probe);
    return true;
  } catch {
    return false;
  } finally {
    chmodSync(probe, 0o755);
    rmSync(probe, { recursive: true, force: true });
  }
}
