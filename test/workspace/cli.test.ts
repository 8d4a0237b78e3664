import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runGitState } from '../../src/cli/git-state.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runGitState(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('quittance git-state', () => {
  let root: string;
  let repo: string;
  before(() => {
    root = tempRoot();
    repo = initRepo(join(root, 'repo'), { remote: false });
    mkdirSync(join(repo, 'src'));
  });
  after(() => removeTempRoot(root));

  test('prints one human line by default, without the raw path', async () => {
    const r = await run([repo]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 2, 'one line and its newline');
    assert.match(lines[0]!, /^worktree_no_remote \(info, none\) …\/repo: branch main at [0-9a-f]{12}; remote missing; also repo_root$/);
    assert.ok(!r.stdout.includes(root));
  });

  test('--json prints the document facts', async () => {
    const r = await run([join(repo, 'src'), '--json', '--operation', 'agent_requested_command', '--command-class', 'remote']);
    assert.equal(r.code, 0);
    const facts = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(facts).sort(), [
      'actionability',
      'expectedNegativeState',
      'gitFacts',
      'operation',
      'pathEvidence',
      'severity',
      'state',
    ]);
    assert.equal(facts.state, 'worktree_no_remote');
    assert.equal(facts.operation, 'agent_requested_command');
    assert.equal(facts.severity, 'error', 'a push with no remote is blocked');
    assert.equal(facts.actionability, 'blocked');
    assert.equal(facts.gitFacts.commandClass, 'remote');
    assert.equal(facts.gitFacts.headSha, git(repo, 'rev-parse', 'HEAD'));
    assert.equal(facts.pathEvidence.redactedPathHint, '…/src');
    assert.ok(!r.stdout.includes(root));
  });

  test('--operation=VALUE spelling, --no-git, and states that end in a remediation', async () => {
    const plain = join(root, 'plain');
    mkdirSync(plain);
    const blocked = await run([plain, '--operation=user_requested_command']);
    assert.equal(blocked.code, 0, 'classified: exit 0 whatever the state');
    assert.match(blocked.stdout, /^not_a_repo \(error, blocked\) …\/plain: no_repository_found\. The path is not inside a Git repository/);
    const quiet = await run([plain, '--operation=user_requested_command', '--no-git']);
    assert.match(quiet.stdout, /^not_a_repo \(info, none\)/);
  });

  test('a relative PATH that starts with a dash can follow --', async () => {
    mkdirSync(join(repo, '-odd'));
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      const r = await run(['--', '-odd']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^worktree_no_remote \(info, none\) …\/-odd: /);
      assert.equal((await run(['-odd'])).code, 2, 'without --, it is an unknown option');
    } finally {
      process.chdir(cwd);
    }
  });

  test('bad arguments exit 2 with a message and the usage on stderr', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing PATH/],
      [[repo, repo], /exactly one PATH/],
      [[repo, '--operation'], /--operation needs a value/],
      [[repo, '--operation', 'push'], /unknown operation "push"/],
      [[repo, '--command-class', 'commit'], /unknown command class "commit"/],
      [[repo, '--verbose'], /unknown option "--verbose"/],
      [[repo, '--json=yes'], /unknown option "--json"/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: quittance git-state PATH/);
    }
  });

  test('--help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /usage: quittance git-state PATH/);
    assert.match(r.stdout, /passive_discovery \| watcher_refresh/);
  });
});
