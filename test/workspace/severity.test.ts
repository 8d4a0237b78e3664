import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  COMMAND_CLASSES,
  GIT_WORKSPACE_STATES,
  OPERATIONS,
  STATE_PRECEDENCE,
  WorkspaceClassifier,
  assess,
  orderStates,
  type CommandClass,
  type GitWorkspaceStateName,
  type WorkspaceOperation,
} from '../../src/workspace/index.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

const EXPECTED_NEGATIVES: GitWorkspaceStateName[] = [
  'not_a_repo',
  'inside_git_dir',
  'bare_repo',
  'worktree_no_remote',
  'detached_head',
  'permission_denied',
  'operation_superseded',
];
const NOT_REQUESTED: WorkspaceOperation[] = ['passive_discovery', 'watcher_refresh', 'ci_validation'];
const REQUESTED: WorkspaceOperation[] = ['user_requested_command', 'agent_requested_command'];

describe('precedence', () => {
  test('covers each of the ten states exactly once', () => {
    assert.deepEqual([...STATE_PRECEDENCE].sort(), [...GIT_WORKSPACE_STATES].sort());
  });

  test('orders and de-duplicates', () => {
    assert.deepEqual(orderStates(['repo_root', 'worktree_no_remote', 'detached_head', 'repo_root']), [
      'detached_head',
      'worktree_no_remote',
      'repo_root',
    ]);
    assert.deepEqual(orderStates(['repo_root', 'corrupt_repo', 'operation_superseded', 'permission_denied']), [
      'operation_superseded',
      'permission_denied',
      'corrupt_repo',
      'repo_root',
    ]);
  });
});

describe('severity discipline (pure)', () => {
  const run = (state: GitWorkspaceStateName, operation: WorkspaceOperation, commandClass?: CommandClass, runsGit?: boolean) =>
    assess({ observedStates: [state], operation, commandClass, runsGit, remoteState: 'available' });

  test('expected negative states are info with nothing to do, unless a requested command depends on Git', () => {
    for (const state of EXPECTED_NEGATIVES) {
      for (const op of NOT_REQUESTED) {
        const a = run(state, op);
        assert.equal(a.severity, 'info', `${state} / ${op}`);
        assert.equal(a.actionability, 'none', `${state} / ${op}`);
        assert.equal(a.expectedNegativeState, true);
      }
      for (const op of REQUESTED) {
        for (const cls of [undefined, ...COMMAND_CLASSES]) {
          const a = run(state, op, cls);
          assert.ok(a.severity === 'warning' || a.severity === 'error', `${state} / ${op} / ${cls}: ${a.severity}`);
          assert.notEqual(a.actionability, 'none', `${state} / ${op} / ${cls}`);
          assert.ok(a.remediation !== undefined && a.remediation.length > 0);
          assert.equal(a.expectedNegativeState, false, 'escalated, so not an expected negative for this operation');
        }
        // A requested command that does not run Git is no more alarming than passive discovery.
        const nonGit = run(state, op, undefined, false);
        assert.equal(nonGit.severity, 'info', `${state} / ${op} / non_git`);
        assert.equal(nonGit.actionability, 'none');
        assert.equal(nonGit.expectedNegativeState, true);
      }
    }
  });

  test('healthy states: debug in the background, info otherwise, never actionable', () => {
    for (const state of ['repo_root', 'inside_worktree'] as const) {
      for (const op of OPERATIONS) {
        const a = run(state, op);
        assert.equal(a.severity, op === 'passive_discovery' || op === 'watcher_refresh' ? 'debug' : 'info', `${state}/${op}`);
        assert.equal(a.actionability, 'none');
        assert.equal(a.expectedNegativeState, false);
        assert.equal(a.remediation, undefined);
      }
    }
  });

  test('corrupt_repo is always quarantined; warning in the background, error for CI and Git commands', () => {
    const expected: Record<WorkspaceOperation, string> = {
      passive_discovery: 'warning',
      watcher_refresh: 'warning',
      ci_validation: 'error',
      user_requested_command: 'error',
      agent_requested_command: 'error',
    };
    for (const op of OPERATIONS) {
      const a = run('corrupt_repo', op);
      assert.equal(a.severity, expected[op], op);
      assert.equal(a.actionability, 'quarantined');
      assert.equal(a.expectedNegativeState, false);
    }
  });

  test('what a state blocks depends on the command class', () => {
    const op = 'agent_requested_command';
    assert.equal(run('bare_repo', op, 'status').actionability, 'blocked');
    assert.equal(run('bare_repo', op, 'status').severity, 'error');
    assert.equal(run('bare_repo', op, 'rev_parse').actionability, 'remediation_hint');
    assert.equal(run('bare_repo', op, 'for_each_ref').severity, 'warning');
    assert.equal(run('inside_git_dir', op).actionability, 'blocked', 'no class given: a worktree command is assumed');
    assert.equal(run('inside_git_dir', op, 'config').actionability, 'remediation_hint');
    assert.equal(run('worktree_no_remote', op, 'remote').actionability, 'blocked');
    assert.equal(run('worktree_no_remote', op, 'status').actionability, 'remediation_hint');
    assert.equal(run('detached_head', op, 'status').actionability, 'remediation_hint');
    assert.equal(run('not_a_repo', op, 'rev_parse').actionability, 'blocked');
    assert.equal(run('permission_denied', op, 'symbolic_ref').actionability, 'blocked');
    assert.equal(run('operation_superseded', op).actionability, 'blocked');
    assert.equal(run('operation_superseded', op).severity, 'warning');
  });

  test('severity and actionability are the highest over all observed states', () => {
    const a = assess({
      observedStates: ['detached_head', 'worktree_no_remote', 'repo_root'],
      operation: 'user_requested_command',
      commandClass: 'remote',
      remoteState: 'missing',
    });
    assert.equal(a.severity, 'error');
    assert.equal(a.actionability, 'blocked');
    assert.match(a.remediation ?? '', /remote/);
    // A bare repository cannot show worktree_no_remote, but a push from it still needs a remote.
    const bare = assess({ observedStates: ['bare_repo'], operation: 'user_requested_command', commandClass: 'remote', remoteState: 'missing' });
    assert.equal(bare.actionability, 'blocked');
  });
});

describe('severity discipline on real repositories', () => {
  let root: string;
  let classifier: WorkspaceClassifier;
  before(() => {
    root = tempRoot();
    classifier = new WorkspaceClassifier({ homeDir: null });
  });
  after(() => removeTempRoot(root));

  test('not_a_repo: info for passive discovery, watcher refresh and CI; error and blocked for a requested Git command', () => {
    const dir = join(root, 'plain-folder');
    mkdirSync(dir);
    for (const op of NOT_REQUESTED) {
      const c = classifier.classify(dir, { operation: op });
      assert.equal(c.severity, 'info', op);
      assert.equal(c.actionability, 'none', op);
      assert.equal(c.operation, op);
      assert.equal(c.remediation, undefined);
    }
    for (const op of REQUESTED) {
      const c = classifier.classify(dir, { operation: op });
      assert.equal(c.severity, 'error', op);
      assert.equal(c.actionability, 'blocked', op);
      assert.equal(c.gitFacts.commandClass, undefined, 'no class is invented for the caller');
      assert.equal(c.expectedNegativeState, false);
      assert.equal(c.dependsOnGit, true);
      assert.ok(c.remediation);
    }
    const nonGit = classifier.classify(dir, { operation: 'user_requested_command', runsGit: false });
    assert.equal(nonGit.severity, 'info');
    assert.equal(nonGit.actionability, 'none');
    assert.equal(nonGit.dependsOnGit, false);
    const withClass = classifier.classify(dir, { operation: 'agent_requested_command', commandClass: 'rev_parse' });
    assert.equal(withClass.gitFacts.commandClass, 'rev_parse');
  });

  test('a healthy root is debug for a watcher and carries no command class', () => {
    const r = initRepo(join(root, 'healthy'));
    const c = classifier.classify(r, { operation: 'watcher_refresh' });
    assert.equal(c.severity, 'debug');
    assert.equal(c.gitFacts.commandClass, undefined);
  });

  test('detached HEAD: a hint before an agent commits, nothing for a watcher', () => {
    const r = initRepo(join(root, 'detached'));
    git(r, 'checkout', '-q', '--detach');
    const watcher = classifier.classify(r, { operation: 'watcher_refresh' });
    assert.equal(watcher.severity, 'info');
    assert.equal(watcher.actionability, 'none');
    const agent = classifier.classify(r, { operation: 'agent_requested_command', commandClass: 'status' });
    assert.equal(agent.severity, 'warning');
    assert.equal(agent.actionability, 'remediation_hint');
    assert.match(agent.remediation ?? '', /branch/);
  });

  test('rejects an unknown operation or command class with a coded error', () => {
    assert.throws(() => classifier.classify(root, { operation: 'fetch_everything' as WorkspaceOperation }), {
      code: 'QUITTANCE_ERR_VALIDATION',
    });
    assert.throws(() => classifier.classify(root, { commandClass: 'push' as 'remote' }), { code: 'QUITTANCE_ERR_VALIDATION' });
    assert.throws(() => classifier.classify(root, { runsGit: 'yes' as unknown as boolean }), { code: 'QUITTANCE_ERR_VALIDATION' });
    assert.throws(() => classifier.classify(''), { code: 'QUITTANCE_ERR_VALIDATION' });
  });
});
