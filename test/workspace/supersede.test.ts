import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkspaceClassifier, WorkspaceGenerations, buildGitWorkspaceState } from '../../src/workspace/index.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

describe('operation_superseded', () => {
  let root: string;
  let repo: string;
  before(() => {
    root = tempRoot();
    repo = initRepo(join(root, 'repo'));
    mkdirSync(join(repo, 'src'));
  });
  after(() => removeTempRoot(root));

  test('an earlier classification is superseded once a newer one of the same workspace exists', () => {
    const classifier = new WorkspaceClassifier({ homeDir: null });
    const first = classifier.classify(repo, { operation: 'watcher_refresh' });
    assert.equal(classifier.current(first), first, 'still the newest: handed back unchanged');
    assert.equal(classifier.isCurrent(first), true);

    const second = classifier.classify(join(repo, 'src'), { operation: 'watcher_refresh' }); // same worktree
    assert.ok(second.generation > first.generation);
    assert.equal(classifier.isCurrent(first), false);
    const stale = classifier.current(first);
    assert.equal(stale.state, 'operation_superseded');
    assert.deepEqual(stale.observedStates, ['operation_superseded', 'repo_root']);
    assert.equal(stale.supersededByGeneration, second.generation);
    assert.equal(stale.gitFacts.failureReason, 'superseded_by_newer_classification');
    assert.equal(stale.severity, 'info', 'an expected negative in a watcher');
    assert.equal(stale.actionability, 'none');
    assert.equal(stale.expectedNegativeState, true);
    assert.equal(stale.gitFacts.headSha, first.gitFacts.headSha, 'the stale facts are kept for the record');
    assert.equal(first.state, 'repo_root', 'the original object is not mutated');
    assert.equal(classifier.current(second), second);
  });

  test('a superseded result of an agent command must not be acted on', () => {
    const classifier = new WorkspaceClassifier({ homeDir: null });
    const old = classifier.classify(repo, { operation: 'agent_requested_command' });
    classifier.classify(repo, { operation: 'agent_requested_command' });
    const stale = classifier.current(old);
    assert.equal(stale.state, 'operation_superseded');
    assert.equal(stale.severity, 'warning');
    assert.equal(stale.actionability, 'blocked');
    assert.match(stale.remediation ?? '', /classify again/);
    const doc = buildGitWorkspaceState(stale, {
      id: 'sup-1',
      sessionRef: 'urn:srcos:session:s',
      capabilityLedgerRef: 'urn:srcos:capability-ledger:c',
      workspaceRef: 'urn:srcos:workspace:w',
      policyDecisionRef: 'urn:srcos:decision:d',
      evidenceRefs: [],
      capturedAt: 0,
    });
    assert.equal(doc.state, 'operation_superseded');
    assert.equal(doc.expectedNegativeState, false, 'escalated for an agent command: not an expected negative here');
  });

  test('other workspaces do not supersede: another repository, a linked worktree of the same repository', () => {
    const classifier = new WorkspaceClassifier({ homeDir: null });
    const other = initRepo(join(root, 'other'));
    const wt = join(root, 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'wt', wt);
    const first = classifier.classify(repo);
    classifier.classify(other);
    classifier.classify(wt);
    classifier.classify(join(root, 'not-there'));
    assert.equal(classifier.current(first).state, 'repo_root');
  });

  test('a path inside .git belongs to the same workspace as its worktree', () => {
    const classifier = new WorkspaceClassifier({ homeDir: null });
    const first = classifier.classify(repo);
    classifier.classify(join(repo, '.git', 'refs'));
    assert.equal(classifier.current(first).state, 'operation_superseded');
  });

  test('generations: a slow probe that records after a newer one started is superseded at once', () => {
    const g = new WorkspaceGenerations();
    const slow = g.take();
    const quick = g.take();
    assert.equal(g.record('ws', quick), quick);
    assert.equal(g.record('ws', slow), quick, 'the newest stays the quick one');
    assert.equal(g.isSuperseded('ws', slow), true);
    assert.equal(g.isSuperseded('ws', quick), false);
    assert.equal(g.isSuperseded('other', slow), false);
  });

  test('generations: forgetting a workspace never vouches for a result it can no longer check', () => {
    const g = new WorkspaceGenerations(2);
    const a = g.take();
    g.record('a', a);
    const a2 = g.take();
    g.record('a', a2);
    g.record('b', g.take());
    g.record('c', g.take()); // 'a' is forgotten here
    assert.equal(g.trackedWorkspaces, 2);
    assert.equal(g.isSuperseded('a', a), true, 'older than what was forgotten: superseded');
    assert.equal(g.isSuperseded('a', a2), false, 'the newest of the forgotten workspace is not claimed stale');
  });
});
