import assert from 'node:assert/strict';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { WorkspaceClassifier } from '../../src/workspace/index.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

/**
 * The classifier caches file contents and trusts them while their stat signature is unchanged. These tests run it
 * with a clock an hour ahead, so no entry is ever "racy" and every answer below comes from the trusting path:
 * each change Git makes must still be seen by the very next classification.
 */
describe('cached reads stay correct when the repository changes', () => {
  let root: string;
  let repo: string;
  let classifier: WorkspaceClassifier;
  before(() => {
    root = tempRoot();
    repo = initRepo(join(root, 'repo'), { commits: 2 });
    classifier = new WorkspaceClassifier({ homeDir: null, clock: new ManualClock(Date.now() + 3_600_000) });
  });
  after(() => removeTempRoot(root));

  const facts = () => classifier.classify(repo).gitFacts;

  test('switching branch, committing, detaching and re-attaching HEAD', () => {
    assert.equal(facts().branch, 'main');
    git(repo, 'switch', '-q', '-c', 'feature');
    assert.equal(facts().branch, 'feature');
    writeFileSync(join(repo, 'new.txt'), 'x');
    git(repo, 'add', 'new.txt');
    git(repo, 'commit', '-q', '-m', 'on feature');
    assert.equal(facts().headSha, git(repo, 'rev-parse', 'HEAD'));
    git(repo, 'checkout', '-q', '--detach', 'HEAD~1');
    assert.equal(classifier.classify(repo).state, 'detached_head');
    assert.equal(facts().headSha, git(repo, 'rev-parse', 'HEAD'));
    git(repo, 'switch', '-q', 'main');
    assert.equal(classifier.classify(repo).state, 'repo_root');
    assert.equal(facts().branch, 'main');
  });

  test('a HEAD rewritten in place with the same size and inode', () => {
    git(repo, 'branch', 'aaaa');
    git(repo, 'branch', 'bbbb');
    const head = join(repo, '.git', 'HEAD');
    writeFileSync(head, 'ref: refs/heads/aaaa\n');
    const ino = statSync(head).ino;
    assert.equal(facts().branch, 'aaaa');
    writeFileSync(head, 'ref: refs/heads/bbbb\n');
    assert.equal(statSync(head).ino, ino, 'same inode, same size: only the times differ');
    assert.equal(facts().branch, 'bbbb');
    git(repo, 'switch', '-q', 'main');
  });

  test('a branch moved by another process, also after packing refs', () => {
    const before = facts().headSha;
    git(repo, 'pack-refs', '--all', '--prune');
    assert.equal(facts().headSha, before, 'now read from packed-refs');
    git(repo, 'update-ref', 'refs/heads/main', 'HEAD~1');
    assert.equal(facts().headSha, git(repo, 'rev-parse', 'HEAD'));
    assert.notEqual(facts().headSha, before);
  });

  test('remotes added and removed', () => {
    assert.equal(facts().remoteState, 'available');
    git(repo, 'remote', 'remove', 'origin');
    assert.equal(classifier.classify(repo).state, 'worktree_no_remote');
    git(repo, 'remote', 'add', 'upstream', 'https://example.invalid/u.git');
    assert.equal(facts().remoteState, 'available');
  });

  test('a repository appearing and disappearing in a watched folder', () => {
    const dir = join(root, 'grows');
    mkdirSync(dir);
    assert.equal(classifier.classify(dir).state, 'not_a_repo');
    git(dir, 'init', '-q');
    const born = classifier.classify(dir);
    assert.equal(born.location, 'repo_root');
    assert.equal(born.gitFacts.branch, 'main');
    rmSync(join(dir, '.git'), { recursive: true });
    assert.equal(classifier.classify(dir).state, 'not_a_repo');
  });

  test('a tiny cache still answers correctly', () => {
    const tiny = new WorkspaceClassifier({ homeDir: null, maxCachedFiles: 1 });
    for (let i = 0; i < 3; i++) {
      const c = tiny.classify(repo);
      assert.equal(c.gitFacts.headSha, git(repo, 'rev-parse', 'HEAD'));
      assert.equal(c.gitFacts.remoteState, 'available');
    }
  });
});
