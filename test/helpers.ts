import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ManualClock, systemClock, type Clock } from '../src/clock.js';
import type { ConfigInput } from '../src/config.js';
import { buildApp, createServices, type Services } from '../src/server/index.js';
import type { Principal } from '../src/ledger/types.js';
import { QuittanceClient } from '../src/client/client.js';
import { openTestPostgresStore } from './pg.js';
import { ResponseChecker } from './openapi-responses.js';

export function tempDir(prefix = 'quittance-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Response {
  status: number;
  json: any;
  headers: Record<string, unknown>;
}

export interface Harness {
  services: Services;
  app: FastifyInstance;
  clock: ManualClock;
  dir: string;
  /** Admin key of tenant "a". */
  key: string;
  tenantId: string;
  req(method: string, url: string, body?: unknown, key?: string | null): Promise<Response>;
  /** Sends raw text as the JSON body (for malformed or duplicate-key documents). */
  raw(method: string, url: string, text: string, key?: string): Promise<Response>;
  newTenant(name: string, scopes?: ('read' | 'write' | 'admin')[]): Promise<{ tenantId: string; key: string }>;
  close(): Promise<void>;
}

export type Backend = 'sqlite' | 'postgres';

/** Built from the first harness's /openapi.json: the documented responses do not depend on the configuration. */
let responseChecker: ResponseChecker | undefined;

/**
 * The backends every store- and API-level test runs against: SQLite always, PostgreSQL when scripts/run-tests.js
 * found it reachable (QUITTANCE_TEST_PG=1).
 */
export const BACKENDS: Backend[] = ['sqlite', ...(process.env['QUITTANCE_TEST_PG'] === '1' ? ['postgres' as const] : [])];

/** A real app on a fresh store (SQLite in a temp folder, or a fresh PostgreSQL schema), driven through inject. */
export async function harness(options: { config?: ConfigInput; clock?: Clock; backend?: Backend } = {}): Promise<Harness> {
  const tmp = tempDir();
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock('2026-03-01T12:00:00.000Z');
  const store = options.backend === 'postgres' ? await openTestPostgresStore() : undefined;
  const services = createServices({ dataDir: tmp.dir, clock, ...(store && { store }), ...(options.config && { config: options.config }) });
  const app = await buildApp(services);
  const newTenant = async (name: string, scopes: ('read' | 'write' | 'admin')[] = ['admin']) => {
    const t = await services.tenants.createTenant(name);
    const k = await services.tenants.createKey(t.tenant_id, scopes);
    return { tenantId: t.tenant_id, key: k.api_key };
  };
  const a = await newTenant('a');
  const send = async (method: string, url: string, payload: string | undefined, key: string | null | undefined): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (key !== null) headers['authorization'] = `Bearer ${key ?? a.key}`;
    const res = await app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined && { payload }) });
    // Every answer is held to what /openapi.json says the route answers (test/openapi-responses.ts). Built after the
    // first request, which makes the app ready (a test may add a route of its own before that).
    const checker = (responseChecker ??= new ResponseChecker(app.swagger() as ConstructorParameters<typeof ResponseChecker>[0]));
    const problem = checker.check(method, url, res.statusCode, res.headers['content-type'] as string | undefined, res.body);
    if (problem !== undefined) throw new Error(`undocumented answer: ${problem}`);
    let json: unknown;
    try {
      json = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      json = res.body;
    }
    return { status: res.statusCode, json, headers: res.headers };
  };
  return {
    services, app, clock, dir: tmp.dir, key: a.key, tenantId: a.tenantId, newTenant,
    req: (method, url, body, key) => send(method, url, body === undefined ? undefined : JSON.stringify(body), key),
    raw: (method, url, text, key) => send(method, url, text, key),
    async close() {
      await app.close();
      await services.store.close();
      tmp.cleanup();
    },
  };
}

/**
 * A harness on the system clock listening on a free loopback port, and an SDK client of it: for tests of the SDK
 * over real HTTP (timers, proxies, other processes). The caller closes `h`.
 */
export async function listeningHarness(): Promise<{ h: Harness; url: string; client: QuittanceClient }> {
  const h = await harness({ clock: systemClock });
  const url = await h.app.listen({ port: 0, host: '127.0.0.1' });
  return { h, url, client: new QuittanceClient({ url, key: h.key }) };
}

export const agent: Principal = { kind: 'agent', id: 'planner' };
export const worker: Principal = { kind: 'worker', id: 'w1' };
export const gate: Principal = { kind: 'service', id: 'gate' };

export const artifact = { kind: 's3', uri: 's3://results/out.json', digest: 'sha256:' + 'a'.repeat(64) } as const;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}
