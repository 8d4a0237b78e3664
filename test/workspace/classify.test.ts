import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkspaceClassifier } from '../../src/workspace/index.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

function digest(path: string): string {
  return 'sha256:' + createHash('sha256').update(path).digest('hex');
}

describe('classifying real repositories', () => {
  let root: string;
  let repo: string;
  let classifier: WorkspaceClassifier;

  before(() => {
    root = tempRoot();
    repo = initRepo(join(root, 'plain'), { commits: 2 });
    mkdirSync(join(repo, 'src', 'deep'), { recursive: true });
    classifier = new WorkspaceClassifier({ homeDir: null });
  });
  after(() => removeTempRoot(root));

  test('a repository root with a branch and a remote', () => {
    const c = classifier.classify(repo);
    assert.equal(c.state, 'repo_root');
    assert.deepEqual(c.observedStates, ['repo_root']);
    assert.equal(c.location, 'repo_root');
    assert.equal(c.worktreeKind, 'main');
    assert.equal(c.gitFacts.branch, 'main');
    assert.equal(c.gitFacts.headSha, git(repo, 'rev-parse', 'HEAD'));
    assert.equal(c.gitFacts.remoteState, 'available');
    assert.equal(c.gitFacts.worktreeRootDigest, digest(repo));
    assert.equal(c.gitFacts.gitDirDigest, digest(join(repo, '.git')));
    assert.equal(c.gitFacts.failureReason, undefined);
    assert.equal(c.pathEvidence.pathDigest, digest(repo));
    assert.equal(c.expectedNegativeState, false);
  });

  test('a nested folder and a file inside the worktree are inside_worktree of the same workspace', () => {
    const top = classifier.classify(repo);
    for (const p of [join(repo, 'src'), join(repo, 'src', 'deep'), join(repo, 'file.txt')]) {
      const c = classifier.classify(p);
      assert.equal(c.state, 'inside_worktree', p);
      assert.equal(c.gitFacts.worktreeRootDigest, digest(repo));
      assert.equal(c.gitFacts.branch, 'main');
      assert.equal(c.workspaceKey, top.workspaceKey);
      assert.equal(c.pathEvidence.pathDigest, digest(p));
    }
  });

  test('a relative path is resolved against cwd', () => {
    const c = classifier.classify('deep', { cwd: join(repo, 'src') });
    assert.equal(c.state, 'inside_worktree');
    assert.equal(c.pathEvidence.pathDigest, digest(join(repo, 'src', 'deep')));
  });

  test('inside .git: the directory itself, objects, refs and logs (which holds a HEAD file of its own)', () => {
    for (const sub of ['', 'objects', join('refs', 'heads'), 'logs', join('logs', 'refs', 'heads')]) {
      const c = classifier.classify(join(repo, '.git', sub));
      assert.equal(c.state, 'inside_git_dir', sub);
      assert.equal(c.gitFacts.gitDirDigest, digest(join(repo, '.git')));
      assert.equal(c.gitFacts.worktreeRootDigest, digest(repo), 'the owning worktree');
      assert.equal(c.gitFacts.branch, 'main');
    }
  });

  test('a bare repository, and a folder inside it', () => {
    const bare = join(root, 'bare.git');
    git(root, 'clone', '-q', '--bare', repo, bare);
    for (const p of [bare, join(bare, 'refs')]) {
      const c = classifier.classify(p);
      assert.equal(c.state, 'bare_repo', p);
      assert.equal(c.location, 'bare_repo');
      assert.equal(c.gitFacts.worktreeRootDigest, null);
      assert.equal(c.gitFacts.gitDirDigest, digest(bare));
      assert.equal(c.gitFacts.branch, 'main');
      assert.equal(c.gitFacts.headSha, git(repo, 'rev-parse', 'HEAD'), 'resolved through packed-refs of the clone');
      assert.equal(c.gitFacts.remoteState, 'available', 'a bare clone remembers its origin');
      assert.equal(c.workspaceKey, digest(bare));
    }
    const empty = join(root, 'empty.git');
    git(root, 'init', '-q', '--bare', empty);
    const e = classifier.classify(empty);
    assert.equal(e.state, 'bare_repo');
    assert.equal(e.gitFacts.headSha, null);
    assert.equal(e.gitFacts.remoteState, 'missing');
  });

  test('a linked worktree (git worktree add) is its own workspace sharing the repository', () => {
    const wt = join(root, 'linked');
    git(repo, 'worktree', 'add', '-q', '-b', 'feature', wt);
    mkdirSync(join(wt, 'sub'));
    const c = classifier.classify(wt);
    assert.equal(c.state, 'repo_root');
    assert.equal(c.worktreeKind, 'linked');
    assert.equal(c.gitFacts.branch, 'feature');
    assert.equal(c.gitFacts.headSha, git(wt, 'rev-parse', 'HEAD'));
    assert.equal(c.gitFacts.remoteState, 'available', 'remotes come from the common config');
    assert.equal(c.gitFacts.worktreeRootDigest, digest(wt));
    assert.equal(c.gitFacts.gitDirDigest, digest(join(repo, '.git', 'worktrees', 'linked')));
    assert.notEqual(c.workspaceKey, classifier.classify(repo).workspaceKey);

    assert.equal(classifier.classify(join(wt, 'sub')).state, 'inside_worktree');
    const admin = classifier.classify(join(repo, '.git', 'worktrees', 'linked'));
    assert.equal(admin.state, 'inside_git_dir');
    assert.equal(admin.gitFacts.worktreeRootDigest, digest(wt), 'the admin dir belongs to the linked worktree');
    assert.equal(admin.gitFacts.branch, 'feature');

    // The main worktree still reads its own HEAD, not the linked one's.
    assert.equal(classifier.classify(repo).gitFacts.branch, 'main');
  });

  test('a detached HEAD in a linked worktree', () => {
    const wt = join(root, 'linked-detached');
    git(repo, 'worktree', 'add', '-q', '--detach', wt, 'HEAD~1');
    const c = classifier.classify(wt);
    assert.equal(c.state, 'detached_head');
    assert.deepEqual(c.observedStates, ['detached_head', 'repo_root']);
    assert.equal(c.gitFacts.branch, null);
    assert.equal(c.gitFacts.headSha, git(repo, 'rev-parse', 'HEAD~1'));
  });

  test('no remote', () => {
    const local = initRepo(join(root, 'local'), { remote: false });
    const c = classifier.classify(local);
    assert.equal(c.state, 'worktree_no_remote');
    assert.deepEqual(c.observedStates, ['worktree_no_remote', 'repo_root']);
    assert.equal(c.gitFacts.remoteState, 'missing');
    assert.equal(c.gitFacts.branch, 'main');
    assert.equal(c.location, 'repo_root');
    assert.equal(c.expectedNegativeState, true);
  });

  test('a remote without a URL is not a remote; one with only a pushurl is', () => {
    const r = initRepo(join(root, 'remote-variants'), { remote: false });
    git(r, 'config', 'remote.half.fetch', '+refs/heads/*:refs/remotes/half/*');
    assert.equal(classifier.classify(r).gitFacts.remoteState, 'missing');
    git(r, 'config', 'remote.pushonly.pushurl', 'https://example.invalid/p.git');
    assert.equal(classifier.classify(r).gitFacts.remoteState, 'available');
  });

  test('a config that includes another file cannot prove there is no remote', () => {
    const r = initRepo(join(root, 'includes'), { remote: false });
    writeFileSync(join(root, 'extra.gitconfig'), '[remote "elsewhere"]\n\turl = https://example.invalid/x.git\n');
    git(r, 'config', 'include.path', join(root, 'extra.gitconfig'));
    assert.equal(git(r, 'remote'), 'elsewhere', 'git itself sees the included remote');
    const c = classifier.classify(r);
    assert.equal(c.gitFacts.remoteState, 'unknown');
    assert.equal(c.state, 'repo_root', 'unknown is not reported as worktree_no_remote');
  });

  test('detached HEAD', () => {
    const d = initRepo(join(root, 'detached'), { commits: 2 });
    git(d, 'checkout', '-q', '--detach', 'HEAD~1');
    const c = classifier.classify(d);
    assert.equal(c.state, 'detached_head');
    assert.equal(c.gitFacts.branch, null);
    assert.equal(c.gitFacts.headSha, git(d, 'rev-parse', 'HEAD'));
    assert.equal(c.gitFacts.remoteState, 'available');
  });

  test('precedence: a repository root with no remote and a detached HEAD reports detached_head', () => {
    const d = initRepo(join(root, 'detached-local'), { commits: 1, remote: false });
    git(d, 'checkout', '-q', '--detach');
    const c = classifier.classify(d);
    assert.equal(c.state, 'detached_head');
    assert.deepEqual(c.observedStates, ['detached_head', 'worktree_no_remote', 'repo_root']);
    const nested = classifier.classify(join(d, '.git'));
    assert.deepEqual(nested.observedStates, ['inside_git_dir'], 'conditions of the worktree are not states of its .git');
  });

  test('an unborn branch (no commit yet) is a repository with a branch and no head sha', () => {
    const u = join(root, 'unborn');
    mkdirSync(u);
    git(u, 'init', '-q');
    const c = classifier.classify(u);
    assert.equal(c.location, 'repo_root');
    assert.equal(c.gitFacts.branch, 'main');
    assert.equal(c.gitFacts.headSha, null);
    assert.equal(c.gitFacts.failureReason, undefined);
  });

  test('refs only in packed-refs, and a branch name with slashes', () => {
    const p = initRepo(join(root, 'packed'));
    git(p, 'switch', '-q', '-c', 'team/feature-1');
    git(p, 'pack-refs', '--all', '--prune');
    const c = classifier.classify(p);
    assert.equal(c.state, 'repo_root');
    assert.equal(c.gitFacts.branch, 'team/feature-1');
    assert.equal(c.gitFacts.headSha, git(p, 'rev-parse', 'HEAD'));
  });

  test('a submodule checkout: `.git` is a file pointing into the superproject', () => {
    const lib = initRepo(join(root, 'lib-upstream'));
    const sup = initRepo(join(root, 'super'));
    git(sup, 'submodule', 'add', '-q', lib, 'vendor/lib');
    const c = classifier.classify(join(sup, 'vendor', 'lib'));
    assert.equal(c.state, 'repo_root');
    assert.equal(c.worktreeKind, 'main');
    assert.equal(c.gitFacts.gitDirDigest, digest(join(sup, '.git', 'modules', 'vendor', 'lib')));
    assert.equal(c.gitFacts.headSha, git(lib, 'rev-parse', 'HEAD'));
    assert.equal(classifier.classify(join(sup, 'vendor')).gitFacts.worktreeRootDigest, digest(sup));
    const inModules = classifier.classify(join(sup, '.git', 'modules', 'vendor', 'lib', 'refs'));
    assert.equal(inModules.state, 'inside_git_dir', 'core.bare=false: a submodule git dir is not a bare repository');
    assert.equal(inModules.gitFacts.worktreeRootDigest, digest(join(sup, 'vendor', 'lib')), 'from core.worktree');
  });

  test('not a repository, and a path that does not exist', () => {
    const plain = join(root, 'not-a-repo', 'x');
    mkdirSync(plain, { recursive: true });
    const c = classifier.classify(plain);
    assert.equal(c.state, 'not_a_repo');
    assert.equal(c.gitFacts.failureReason, 'no_repository_found');
    assert.equal(c.gitFacts.gitDirDigest, null);
    assert.equal(c.gitFacts.remoteState, 'not_applicable');
    assert.equal(c.worktreeKind, null);

    const missing = classifier.classify(join(root, 'no', 'such', 'path'));
    assert.equal(missing.state, 'not_a_repo');
    assert.equal(missing.gitFacts.failureReason, 'path_missing');
    assert.equal(missing.pathEvidence.pathDigest, digest(join(root, 'no', 'such', 'path')));
  });

  test('a folder with a HEAD file and refs/ but no objects is not mistaken for a Git directory', () => {
    const lookalike = join(root, 'lookalike');
    mkdirSync(join(lookalike, 'refs'), { recursive: true });
    writeFileSync(join(lookalike, 'HEAD'), 'not git\n');
    assert.equal(classifier.classify(lookalike).state, 'not_a_repo');
  });

  test('a reftable repository is recognised without pretending to read its refs', () => {
    // Git 2.45+ writes this layout; older Git cannot make one, so it is laid out by hand.
    const rt = join(root, 'reftable');
    mkdirSync(join(rt, '.git', 'objects'), { recursive: true });
    mkdirSync(join(rt, '.git', 'refs', 'heads'), { recursive: true });
    mkdirSync(join(rt, '.git', 'reftable'));
    writeFileSync(join(rt, '.git', 'HEAD'), 'ref: refs/heads/.invalid\n');
    writeFileSync(join(rt, '.git', 'config'), '[core]\n\tbare = false\n[extensions]\n\trefStorage = reftable\n');
    appendFileSync(join(rt, '.git', 'config'), '[remote "origin"]\n\turl = https://example.invalid/r.git\n');
    const c = classifier.classify(rt);
    assert.equal(c.state, 'repo_root');
    assert.equal(c.gitFacts.branch, null);
    assert.equal(c.gitFacts.headSha, null);
    assert.equal(c.gitFacts.remoteState, 'available');
  });
});
