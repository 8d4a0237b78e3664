#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner. First finds out whether the
// PostgreSQL the PostgreSQL suites need is there, and says so plainly when they will be skipped.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';

const url = process.env.QUITTANCE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.QUITTANCE_TEST_PG_REQUIRED === '1';

async function postgresReachable() {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (e) {
    return e;
  } finally {
    await client.end().catch(() => {});
  }
}

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const reach = await postgresReachable();
const env = { ...process.env, QUITTANCE_TEST_PG_URL: url };
if (reach === true) {
  env.QUITTANCE_TEST_PG = '1';
  console.log(`PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//')}: reachable, PostgreSQL suites will run.`);
} else {
  env.QUITTANCE_TEST_PG = '0';
  const why = reach instanceof Error ? reach.message : String(reach);
  if (required) {
    console.error(`PostgreSQL at ${url} is required (QUITTANCE_TEST_PG_REQUIRED=1) but not reachable: ${why}`);
    process.exit(1);
  }
  console.log(`SKIPPING the PostgreSQL suites: PostgreSQL at ${url} is not reachable (${why}). Set QUITTANCE_TEST_PG_URL to run them.`);
}

const files = testFiles('dist/test').filter((f) => process.argv.length <= 2 || process.argv.slice(2).some((a) => f.includes(a)));
// With no file named, node --test would fall back to its own discovery (fixtures included): refuse instead.
if (files.length === 0) {
  console.error(`no compiled test file matches ${process.argv.slice(2).join(' ') || '(all)'} under dist/test (did the build run?)`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=180000', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
