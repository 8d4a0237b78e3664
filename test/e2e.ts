import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { main } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/io.js';
import { freePort } from './helpers.js';

/** The repository root (dist/test/e2e.js → ../..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'quittance.js');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** The admin key printed on first start (undefined on a restart). */
  adminKey: string | undefined;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Servers still running. When a test file times out, the test runner ends its process with SIGTERM, so the kills
 * its tests would have done never run, and a child outlives its parent: these are killed when this process exits
 * or is told to, so a failed run leaves no server behind sweeping a database.
 */
const running = new Set<ChildProcess>();
let reaperInstalled = false;

function reapOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (reaperInstalled) return;
  reaperInstalled = true;
  const reap = () => {
    for (const c of running) c.kill('SIGKILL');
  };
  process.once('exit', reap);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      reap();
      process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
    });
  }
}

/** Starts `quittance serve` as a real child process and waits until it listens. `dataDir` may be a postgres:// URL. */
export async function spawnServer(dataDir: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const where = /^postgres(ql)?:\/\//.test(dataDir) ? ['--db', dataDir] : ['--data', dataDir];
  const child = spawn(process.execPath, [BIN, 'serve', ...where, '--port', String(port), ...extraArgs], {
    env: { ...process.env, QUITTANCE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  reapOnExit(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 15_000);
    const check = () => {
      if (out.includes('Quittance listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const key = /\n\s+(qk_\S+)\n/.exec(out)?.[1];
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    adminKey: key,
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Runs the CLI in process with captured output. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    isTTY: false,
    env: { ...env },
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

export async function api(url: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
