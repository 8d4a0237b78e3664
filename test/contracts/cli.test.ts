import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runValidate } from '../../src/cli/validate.js';
import type { Clock } from '../../src/clock.js';
import { loadSchemas } from '../../src/contracts/schemas.js';
import { EXAMPLES, readJson } from './helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], opts: { isTTY?: boolean; clock?: Clock } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: opts.isTTY ?? false };
  const code = await runValidate(argv, io, opts.clock);
  return { code, stdout, stderr };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'quittance-validate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ex = (type: string, file: string) => join(EXAMPLES, type, file);

test('valid documents: exit 0 and a one-line summary', async () => {
  const files = readdirSync(join(EXAMPLES, 'OrphanEventReceipt')).filter((f) => f.startsWith('valid-')).map((f) => ex('OrphanEventReceipt', f));
  const r = await cli(files);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${files.length} documents in ${files.length} files: ${files.length} valid, 0 invalid\n`);
  assert.equal(r.stderr, '');
});

test('invalid documents: exit 1, one line per error with the file, the JSON Pointer, the message and the keyword', async () => {
  const r = await cli([join(EXAMPLES, 'OrphanEventReceipt')]);
  assert.equal(r.code, 1);
  const lines = r.stdout.trimEnd().split('\n');
  assert.ok(lines.includes(`${ex('OrphanEventReceipt', 'invalid-quarantined-without-quarantinedAt.json')}: /sessionResolution/quarantinedAt: required when state is quarantined (requiredWhen)`), r.stdout);
  assert.ok(lines.includes(`${ex('OrphanEventReceipt', 'invalid-recovered-without-session.json')}: /sessionResolution/recoveredSessionRef: required when state is recovered (requiredWhen)`));
  assert.ok(lines.includes(`${ex('OrphanEventReceipt', 'invalid-missing-policyDecisionRef.json')}: /policyDecisionRef: is required (required)`));
  assert.ok(!r.stdout.includes('.expect.json'), 'walking a folder skips the expectation sidecars');
  assert.ok(!r.stdout.includes('valid-minimal'), 'valid documents are not listed');
  assert.match(lines.at(-1)!, /^9 documents in 9 files: 3 valid, 6 invalid$/);
});

test('--json: per-document results whose status matches every SourceOS example\'s label', async () => {
  const dirs = loadSchemas().sourceOsTypes.map((t) => join(EXAMPLES, t));
  const r = await cli([...dirs, '--json']);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as {
    valid: boolean; summary: Record<string, number>;
    results: { file: string; index?: number; status: string; type: string | null; errors: { path: string; keyword: string; message: string }[] }[];
  };
  assert.deepEqual(Object.keys(out), ['valid', 'summary', 'results']);
  assert.equal(out.valid, false);
  assert.equal(out.summary['unreadable'], 0);
  assert.equal(out.summary['documents'], out.results.length);
  const byFile = new Map<string, string[]>();
  for (const x of out.results) byFile.set(x.file, [...(byFile.get(x.file) ?? []), x.status]);
  for (const [file, statuses] of byFile) {
    const name = file.split('/').pop()!;
    if (name.startsWith('valid-')) assert.ok(statuses.every((s) => s === 'valid'), `${file}: ${statuses.join(',')}`);
    else assert.ok(statuses.includes('invalid'), file);
  }
  const across = out.results.filter((x) => x.file.endsWith('invalid-ambiguous-session-ownership-across-documents.json'));
  assert.deepEqual(across.map((x) => [x.index, x.errors.map((e) => `${e.path} ${e.keyword}`)]), [
    [0, ['/ownerRef sessionOwnership']], [1, ['/ownerRef sessionOwnership']],
  ]);
  assert.match(across[0]!.errors[0]!.message, /invalid-ambiguous-session-ownership-across-documents\.json\[1\]/);
});

test('a missing file or a file that is not JSON: exit 2, the rest is still checked', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'broken.json'), '{"type": "CapabilityLedger",');
  const missing = join(dir, 'nope.json');
  const r = await cli([missing, join(dir, 'broken.json'), ex('CapabilityLedger', 'invalid-missing-effectiveState.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, new RegExp(`^${missing}: unreadable: ENOENT`, 'm'));
  assert.match(r.stdout, /broken\.json: unreadable: not valid JSON: /);
  assert.match(r.stdout, /invalid-missing-effectiveState\.json: \/effectiveState: is required \(required\)/);
  assert.match(r.stdout, /1 document in 1 file: 0 valid, 1 invalid, 2 unreadable\n$/);
  const j = JSON.parse((await cli([missing, '--json'])).stdout) as { results: { status: string; errors: { keyword: string }[] }[] };
  assert.deepEqual(j.results.map((x) => [x.status, x.errors[0]!.keyword]), [['unreadable', 'unreadable']]);
});

test('duplicate keys make a document invalid, never read as either value', async (t) => {
  const dir = tempDir(t);
  const text = JSON.stringify(readJson(ex('CapabilityLedger', 'valid-minimal.json'))).replace('"effectiveState":', '"effectiveState":"enabled","effectiveState":');
  writeFileSync(join(dir, 'dup.json'), text);
  const r = await cli([join(dir, 'dup.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /dup\.json: \/effectiveState: appears twice in one object: a document with duplicate keys has no single meaning \(duplicateKey\)/);
});

test('session ownership is checked across files; the message names the other file', async (t) => {
  const dir = tempDir(t);
  const a = readJson(ex('BrowserAutomationReceipt', 'valid-minimal.json')) as Record<string, unknown>;
  writeFileSync(join(dir, 'a.json'), JSON.stringify(a));
  writeFileSync(join(dir, 'b.json'), JSON.stringify({ ...a, id: 'urn:srcos:receipt:browser-automation:b', ownerRef: 'urn:srcos:plugin:other' }));
  const each = [await cli([join(dir, 'a.json')]), await cli([join(dir, 'b.json')])];
  assert.deepEqual(each.map((r) => r.code), [0, 0]);
  const both = await cli([dir]);
  assert.equal(both.code, 1);
  assert.ok(both.stdout.includes(`${join(dir, 'a.json')}: /ownerRef: ambiguous session ownership: session urn:srcos:session:form-fill-0100 is claimed by urn:srcos:agent:form-filler here and by urn:srcos:plugin:other in ${join(dir, 'b.json')}; a session has exactly one owner (sessionOwnership)`), both.stdout);
});

test('an unknown type says so, and --schema checks the ledger\'s own objects', async () => {
  const receipt = ex('Receipt', 'valid-completed.json');
  const without = await cli([receipt]);
  assert.equal(without.code, 1);
  assert.match(without.stdout, /valid-completed\.json: \/type: unknown document type "task\.completed": expected one of .*--schema Receipt\) \(documentType\)/);
  assert.equal((await cli(['--schema', 'Receipt', receipt])).code, 0);
  const bad = await cli(['--schema', 'Receipt', ex('Receipt', 'invalid-hash-not-hex.json')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /invalid-hash-not-hex\.json: \/hash: must match \^\[0-9a-f\]\{64\}\$ \(pattern\)/);
});

test('a file holding an array is a set of documents, named file[i]', async (t) => {
  const dir = tempDir(t);
  const ok = readJson(ex('TaskTombstone', 'valid-minimal.json'));
  writeFileSync(join(dir, 'set.json'), JSON.stringify([ok, { ...(ok as object), outcome: 'gone' }]));
  const r = await cli(['--schema', 'TaskTombstone', join(dir, 'set.json')]);
  assert.equal(r.code, 1);
  assert.ok(r.stdout.startsWith(`${join(dir, 'set.json')}[1]: /outcome: must be one of "completed", "crashed", "timeout", "revoked" (enum)\n`), r.stdout);
  assert.match(r.stdout, /2 documents in 1 file: 1 valid, 1 invalid\n$/);
});

test('folders are walked recursively for *.json, skipping hidden folders, other files and *.expect.json', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'nested', 'deeper'), { recursive: true });
  mkdirSync(join(dir, '.hidden'));
  copyFileSync(ex('GitWorkspaceState', 'valid-minimal.json'), join(dir, 'nested', 'deeper', 'ok.json'));
  copyFileSync(ex('GitWorkspaceState', 'invalid-raw-path-stored.json'), join(dir, 'nested', 'bad.json'));
  copyFileSync(ex('GitWorkspaceState', 'invalid-raw-path-stored.expect.json'), join(dir, 'nested', 'bad.expect.json'));
  writeFileSync(join(dir, '.hidden', 'x.json'), '{');
  writeFileSync(join(dir, 'notes.txt'), 'not json');
  const r = await cli([dir]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `${join(dir, 'nested', 'bad.json')}: /pathEvidence/rawPathStored: must be false (const)\n2 documents in 2 files: 1 valid, 1 invalid\n`);
});

test('a folder reached again through a symlink is walked once: a loop is no unreadable file, a document is read once', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'v2'));
  copyFileSync(ex('GitWorkspaceState', 'valid-minimal.json'), join(dir, 'v2', 'ok.json'));
  symlinkSync('.', join(dir, 'v2', 'loop'));
  symlinkSync('v2', join(dir, 'latest'));
  const r = await cli([dir]);
  assert.equal(r.code, 0, r.stdout);
  assert.equal(r.stdout, '1 document in 1 file: 1 valid, 0 invalid\n');
});

test('usage errors exit 2 on stderr; --help exits 0', async () => {
  for (const argv of [[], ['--schema', 'Nope', 'x.json'], ['--frobnicate', 'x.json']]) {
    const r = await cli(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^quittance validate: /);
  }
  assert.match((await cli(['--schema', 'Nope', 'x.json'])).stderr, /no schema named "Nope" \(schemas: Anomaly, Artifact, /);
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: quittance validate FILE\|DIR \.\.\./);
});

/** A clock that moves `stepMs` every time it is read. */
function steppingClock(stepMs: number): Clock {
  let now = 0;
  return { now: () => (now += stepMs) };
}

test('a progress bar appears on stderr when the run takes over a second on a terminal, and only then', async () => {
  const files = readdirSync(join(EXAMPLES, 'RuntimeInstallReceipt')).filter((f) => !f.endsWith('.expect.json')).map((f) => ex('RuntimeInstallReceipt', f));
  const slow = await cli(files, { isTTY: true, clock: steppingClock(400) });
  assert.match(slow.stderr, /^\rvalidating \[[#.]{30}\] \d+% \d+\/9 files/);
  assert.ok(slow.stderr.endsWith(`\rvalidating [${'#'.repeat(30)}] 100% 9/9 files\n`), JSON.stringify(slow.stderr));
  assert.equal(slow.code, 1);
  assert.equal((await cli(files, { isTTY: false, clock: steppingClock(400) })).stderr, '', 'no bar when stderr is not a terminal');
  assert.equal((await cli(files, { isTTY: true, clock: steppingClock(1) })).stderr, '', 'no bar for a run under a second');
});
