import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkspaceClassifier } from '../../src/workspace/index.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

describe('corrupt repositories', () => {
  let root: string;
  let classifier: WorkspaceClassifier;
  let n = 0;
  const fresh = (opts?: { remote?: boolean }): string => initRepo(join(root, `r${n++}`), opts);

  before(() => {
    root = tempRoot();
    classifier = new WorkspaceClassifier({ homeDir: null });
  });
  after(() => removeTempRoot(root));

  test('a truncated (empty) HEAD', () => {
    const r = fresh();
    truncateSync(join(r, '.git', 'HEAD'), 0);
    const c = classifier.classify(r);
    assert.equal(c.state, 'corrupt_repo');
    assert.deepEqual(c.observedStates, ['corrupt_repo', 'repo_root'], 'where it is stays known');
    assert.equal(c.gitFacts.failureReason, 'head_truncated');
    assert.equal(c.actionability, 'quarantined');
    assert.equal(c.severity, 'warning', 'damage is never quiet, even in the background');
    assert.equal(c.expectedNegativeState, false);
    assert.equal(c.gitFacts.remoteState, 'available', 'what was read before the damage is kept');
    assert.ok(c.remediation?.includes('git fsck'));
    // Git agrees this is broken.
    assert.throws(() => git(r, 'status'));
  });

  test('a HEAD cut in the middle of its ref name, and one cut in the middle of an object id', () => {
    const r = fresh();
    const sha = git(r, 'rev-parse', 'HEAD');
    writeFileSync(join(r, '.git', 'HEAD'), 'ref: re');
    assert.equal(classifier.classify(r).gitFacts.failureReason, 'head_malformed');
    writeFileSync(join(r, '.git', 'HEAD'), sha.slice(0, 17) + '\n');
    const c = classifier.classify(r);
    assert.equal(c.state, 'corrupt_repo');
    assert.equal(c.gitFacts.failureReason, 'head_malformed');
  });

  test('a missing objects directory', () => {
    const r = fresh();
    rmSync(join(r, '.git', 'objects'), { recursive: true });
    const c = classifier.classify(join(r));
    assert.equal(c.state, 'corrupt_repo');
    assert.equal(c.gitFacts.failureReason, 'objects_dir_missing');
    const nested = classifier.classify(join(r, '.git', 'refs'));
    assert.equal(nested.state, 'corrupt_repo', 'from inside .git too: the enclosing .git is checked');
  });

  test('a missing HEAD, a missing refs directory', () => {
    const a = fresh();
    rmSync(join(a, '.git', 'HEAD'));
    assert.equal(classifier.classify(a).gitFacts.failureReason, 'head_missing');
    const b = fresh();
    rmSync(join(b, '.git', 'refs'), { recursive: true });
    assert.equal(classifier.classify(b).gitFacts.failureReason, 'refs_dir_missing');
  });

  test('a truncated branch ref and a damaged packed-refs', () => {
    const a = fresh();
    truncateSync(join(a, '.git', 'refs', 'heads', 'main'), 0);
    const ca = classifier.classify(a);
    assert.equal(ca.state, 'corrupt_repo');
    assert.equal(ca.gitFacts.failureReason, 'ref_truncated');
    assert.equal(ca.gitFacts.branch, null, 'nothing half-read is reported');

    const b = fresh();
    git(b, 'pack-refs', '--all', '--prune');
    writeFileSync(join(b, '.git', 'packed-refs'), readFileSync(join(b, '.git', 'packed-refs'), 'utf8') + 'garbage line\n');
    assert.equal(classifier.classify(b).gitFacts.failureReason, 'packed_refs_malformed');
  });

  test('a linked worktree whose admin directory is gone, and a malformed .git file', () => {
    const r = fresh();
    const wt = join(root, 'moved-wt');
    git(r, 'worktree', 'add', '-q', '-b', 'wt', wt);
    renameSync(join(r, '.git', 'worktrees', 'moved-wt'), join(root, 'elsewhere'));
    const c = classifier.classify(wt);
    assert.equal(c.state, 'corrupt_repo');
    assert.equal(c.gitFacts.failureReason, 'gitfile_target_missing');
    assert.deepEqual(c.observedStates, ['corrupt_repo', 'repo_root']);

    const bad = join(root, 'bad-gitfile');
    mkdirSync(bad);
    writeFileSync(join(bad, '.git'), 'this is not a gitdir line\n');
    assert.equal(classifier.classify(bad).gitFacts.failureReason, 'gitfile_malformed');
  });

  test('a commondir pointing nowhere', () => {
    const r = fresh();
    const wt = join(root, 'commondir-wt');
    git(r, 'worktree', 'add', '-q', '-b', 'cd', wt);
    writeFileSync(join(r, '.git', 'worktrees', 'commondir-wt', 'commondir'), '../../../nowhere\n');
    assert.equal(classifier.classify(wt).gitFacts.failureReason, 'commondir_target_missing');
  });

  test('a damaged repository nested in a healthy one is reported, not skipped in favour of the outer one', () => {
    const outer = fresh();
    const inner = initRepo(join(outer, 'inner'));
    truncateSync(join(inner, '.git', 'HEAD'), 0);
    mkdirSync(join(inner, 'src'));
    const c = classifier.classify(join(inner, 'src'));
    assert.equal(c.state, 'corrupt_repo');
    assert.deepEqual(c.observedStates, ['corrupt_repo', 'inside_worktree']);
    assert.notEqual(c.workspaceKey, classifier.classify(outer).workspaceKey);
  });

  test('a corrupt bare repository', () => {
    const r = fresh();
    const bare = join(root, `bare-${n++}.git`);
    git(root, 'clone', '-q', '--bare', r, bare);
    writeFileSync(join(bare, 'HEAD'), 'ref: refs/heads/ma..in\n');
    const c = classifier.classify(bare);
    assert.equal(c.state, 'corrupt_repo');
    assert.equal(c.gitFacts.failureReason, 'head_malformed');
    assert.deepEqual(c.observedStates, ['corrupt_repo', 'bare_repo']);
  });

  test('repair is seen: the same classifier reports the repository healthy again', () => {
    const r = fresh();
    const head = readFileSync(join(r, '.git', 'HEAD'), 'utf8');
    truncateSync(join(r, '.git', 'HEAD'), 0);
    assert.equal(classifier.classify(r).state, 'corrupt_repo');
    writeFileSync(join(r, '.git', 'HEAD'), head);
    assert.equal(classifier.classify(r).state, 'repo_root');
  });
});
