import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkspaceClassifier, type WorkspaceClassification } from '../../src/workspace/index.js';
import { canReadThroughChmod000, initRepo, removeTempRoot, tempRoot } from './repos.js';

/**
 * permission_denied needs a process that a chmod 000 actually stops. As an ordinary user that is this process.
 * As root (CI containers), chmod 000 stops nothing, so the in-process test is skipped with a message, and the same
 * cases run in a child process that drops to the unprivileged `nobody` user instead.
 */

interface Layout {
  root: string;
  lockedRepo: string; // chmod 000 on the repository folder itself
  lockedGitDir: string; // chmod 000 on its .git only
  lockedHead: string; // chmod 000 on .git/HEAD only
}

function makeLayout(): Layout {
  const root = tempRoot();
  chmodSync(root, 0o755); // mkdtemp makes it 0700: the unprivileged child must be able to enter it
  const lockedRepo = initRepo(join(root, 'locked-repo'));
  mkdirSync(join(lockedRepo, 'src'));
  const lockedGitDir = initRepo(join(root, 'locked-gitdir'));
  const lockedHead = initRepo(join(root, 'locked-head'));
  chmodSync(join(lockedRepo, 'src'), 0o000);
  chmodSync(lockedRepo, 0o000);
  chmodSync(join(lockedGitDir, '.git'), 0o000);
  chmodSync(join(lockedHead, '.git', 'HEAD'), 0o000);
  return { root, lockedRepo, lockedGitDir, lockedHead };
}

function checkDenied(classify: (p: string, op?: string) => WorkspaceClassification, l: Layout): void {
  const repoItself = classify(l.lockedRepo);
  assert.equal(repoItself.state, 'permission_denied');
  assert.deepEqual(repoItself.observedStates, ['permission_denied'], 'nothing else could be learnt');
  assert.equal(repoItself.gitFacts.failureReason, 'access_denied');
  assert.equal(repoItself.severity, 'info', 'an unreadable folder met in the background is an expected negative');
  assert.equal(repoItself.actionability, 'none');
  assert.equal(repoItself.expectedNegativeState, true);

  const inside = classify(join(l.lockedRepo, 'src'));
  assert.equal(inside.state, 'permission_denied', 'a path under an unreadable folder');

  const gitDir = classify(l.lockedGitDir);
  assert.equal(gitDir.state, 'permission_denied');
  assert.deepEqual(gitDir.observedStates, ['permission_denied', 'repo_root'], 'the .git was found, not readable');

  const head = classify(l.lockedHead);
  assert.equal(head.state, 'permission_denied');
  assert.equal(head.gitFacts.branch, null);

  const requested = classify(l.lockedRepo, 'user_requested_command');
  assert.equal(requested.severity, 'error');
  assert.equal(requested.actionability, 'blocked');
}

describe('permission denied (chmod 000)', () => {
  let layout: Layout;
  before(() => {
    layout = makeLayout();
  });
  after(() => removeTempRoot(layout.root));

  test('in this process', (t) => {
    if (canReadThroughChmod000(layout.root)) {
      t.skip('this process reads chmod 000 folders anyway (running as root?): covered by the unprivileged child test');
      return;
    }
    const classifier = new WorkspaceClassifier({ homeDir: null });
    checkDenied((p, op) => classifier.classify(p, op === undefined ? {} : { operation: op as 'user_requested_command' }), layout);
  });

  test('in a child process running as the unprivileged user nobody (when this process is root)', (t) => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
      t.skip('not root: cannot switch user; the in-process test covers permission_denied');
      return;
    }
    const moduleUrl = new URL('../../src/workspace/index.js', import.meta.url).href;
    const script = `
      let mod;
      try {
        mod = await import(${JSON.stringify(moduleUrl)});
      } catch (e) {
        process.stderr.write('IMPORT_FAILED ' + e.message);
        process.exit(3);
      }
      const { WorkspaceClassifier } = mod;
      const classifier = new WorkspaceClassifier({ homeDir: null });
      const requests = JSON.parse(process.argv[1]);
      process.stdout.write(JSON.stringify(requests.map(([p, op]) => classifier.classify(p, op ? { operation: op } : {}))));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(collectAll(layout))], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
      cwd: '/',
    });
    if (child.error !== undefined || child.status === 3) {
      // Could not start as nobody, or nobody cannot read the compiled code: an environment limit, not a result.
      t.skip(`cannot run the classifier as user nobody here: ${(child.error?.message ?? child.stderr).split('\n')[0]}`);
      return;
    }
    assert.equal(child.status, 0, `child failed: ${child.stderr}`);
    const results = JSON.parse(child.stdout) as WorkspaceClassification[];
    const byKey = new Map(collectAll(layout).map(([p, op], i) => [`${p}\0${op ?? ''}`, results[i]!]));
    checkDenied((p, op) => {
      const answer = byKey.get(`${p}\0${op ?? ''}`);
      assert.ok(answer !== undefined, 'every path checkDenied asks about is in collectAll');
      return answer;
    }, layout);
  });
});

/** The (path, operation) pairs checkDenied asks about, so the child can answer them all in one run. */
function collectAll(l: Layout): Array<[string, string | undefined]> {
  return [
    [l.lockedRepo, undefined],
    [join(l.lockedRepo, 'src'), undefined],
    [l.lockedGitDir, undefined],
    [l.lockedHead, undefined],
    [l.lockedRepo, 'user_requested_command'],
  ];
}
