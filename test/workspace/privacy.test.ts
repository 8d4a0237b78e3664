import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkspaceClassifier, buildGitWorkspaceState, redactPath } from '../../src/workspace/index.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

describe('path privacy', () => {
  let root: string;
  let repo: string;
  before(() => {
    root = tempRoot();
    repo = initRepo(join(root, 'client-acme', 'secret-project'));
    mkdirSync(join(repo, 'src'));
  });
  after(() => removeTempRoot(root));

  test('the raw path never appears in a classification or its document, whatever the state', () => {
    const classifier = new WorkspaceClassifier({ homeDir: null });
    const bare = join(root, 'client-acme', 'bare.git');
    git(root, 'clone', '-q', '--bare', repo, bare);
    const wt = join(root, 'client-acme', 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'wt', wt);
    const broken = initRepo(join(root, 'client-acme', 'broken'));
    truncateSync(join(broken, '.git', 'HEAD'), 0);
    const paths = [
      repo,
      join(repo, 'src'),
      join(repo, '.git', 'objects'),
      bare,
      wt,
      join(repo, '.git', 'worktrees', 'wt'),
      broken,
      join(root, 'client-acme'),
      join(root, 'client-acme', 'missing', 'path'),
    ];
    // The temp root, its random segment, and the parent folder names: none may show up anywhere.
    const secrets = [root, basename(root), 'client-acme', 'secret-project'];
    for (const p of paths) {
      for (const operation of ['passive_discovery', 'agent_requested_command'] as const) {
        const c = classifier.classify(p, { operation });
        const text = JSON.stringify(c);
        const doc = JSON.stringify(
          buildGitWorkspaceState(c, {
            id: 'x1',
            sessionRef: 'urn:srcos:session:s1',
            capabilityLedgerRef: 'urn:srcos:capability-ledger:c1',
            workspaceRef: 'urn:srcos:workspace:w1',
            policyDecisionRef: 'urn:srcos:decision:d1',
            evidenceRefs: [],
            capturedAt: '2026-01-01T00:00:00.000Z',
          }),
        );
        for (const secret of secrets) {
          if (basename(p) === secret) continue; // a path's own last segment is its hint
          assert.ok(!text.includes(secret), `${c.state}: classification leaks ${secret}`);
          assert.ok(!doc.includes(secret), `${c.state}: document leaks ${secret}`);
        }
        assert.equal(c.pathEvidence.rawPathStored, false);
        assert.match(c.pathEvidence.pathDigest, /^sha256:[0-9a-f]{64}$/);
      }
    }
  });

  test('the digest is sha256 of the canonical path; a symlinked spelling gets the same digest', () => {
    const classifier = new WorkspaceClassifier({ homeDir: null });
    const alias = join(root, 'alias');
    symlinkSync(repo, alias);
    try {
      const viaAlias = classifier.classify(alias);
      const direct = classifier.classify(repo);
      assert.equal(viaAlias.pathEvidence.pathDigest, 'sha256:' + sha256(repo));
      assert.equal(viaAlias.pathEvidence.pathDigest, direct.pathEvidence.pathDigest);
      assert.equal(viaAlias.workspaceKey, direct.workspaceKey);
      assert.equal(viaAlias.state, 'repo_root');
    } finally {
      rmSync(alias);
    }
  });

  test('a salt changes every digest, so common paths cannot be guessed from a dictionary', () => {
    const salted = new WorkspaceClassifier({ homeDir: null, pathDigestSalt: 'deployment-secret' }).classify(repo);
    assert.equal(salted.pathEvidence.pathDigest, 'sha256:' + sha256('deployment-secret' + repo));
    assert.equal(salted.gitFacts.gitDirDigest, 'sha256:' + sha256('deployment-secret' + join(repo, '.git')));
  });

  test('the hint shows only the last segment, with ~ for the home folder', () => {
    const underHome = new WorkspaceClassifier({ homeDir: join(root, 'client-acme') });
    const top = underHome.classify(repo);
    assert.equal(top.pathEvidence.redactedPathHint, '~/secret-project');
    assert.equal(top.pathEvidence.redaction, 'user_home_redacted');
    const nested = underHome.classify(join(repo, 'src'));
    assert.equal(nested.pathEvidence.redactedPathHint, '~/…/src');
    assert.equal(nested.pathEvidence.redaction, 'user_home_redacted');
    assert.equal(underHome.classify(join(root, 'client-acme')).pathEvidence.redactedPathHint, '~');

    const noHome = new WorkspaceClassifier({ homeDir: null }).classify(join(repo, 'src'));
    assert.equal(noHome.pathEvidence.redactedPathHint, '…/src');
    assert.equal(noHome.pathEvidence.redaction, 'workspace_alias');
  });

  test('a home folder given through a symlink still redacts', () => {
    const link = join(root, 'home-link');
    symlinkSync(join(root, 'client-acme'), link);
    try {
      const c = new WorkspaceClassifier({ homeDir: link }).classify(join(repo, 'src'));
      assert.equal(c.pathEvidence.redactedPathHint, '~/…/src');
    } finally {
      rmSync(link);
    }
  });

  test('redactPath: filesystem root, a folder under it, control characters and very long names', () => {
    assert.deepEqual(redactPath('/', []), { hint: '/', redaction: 'none' });
    assert.deepEqual(redactPath('/srv', []), { hint: '/srv', redaction: 'none' });
    assert.deepEqual(redactPath('/home/alice/work/repo', ['/home/alice']), {
      hint: '~/…/repo',
      redaction: 'user_home_redacted',
    });
    assert.deepEqual(redactPath('/home/alicex/repo', ['/home/alice']), { hint: '…/repo', redaction: 'workspace_alias' });
    assert.equal(redactPath('/a/b/evil\nname\x1b[31m', []).hint, '…/evil?name?[31m');
    const long = redactPath('/a/b/' + 'x'.repeat(200), []).hint;
    assert.equal(long.length, '…/'.length + 64);
    assert.ok(long.endsWith('…'));
    // A cut never splits a surrogate pair: the 63rd UTF-16 unit here is the first half of an emoji.
    const emoji = redactPath('/a/b/' + 'x'.repeat(62) + '\u{1F600}tail', []).hint;
    assert.equal(emoji, '…/' + 'x'.repeat(62) + '…');
    assert.equal(redactPath('/a/b/' + 'x'.repeat(61) + '\u{1F600}tail', []).hint, '…/' + 'x'.repeat(61) + '\u{1F600}…');
  });

  test('failure reasons and remediations never carry a path', () => {
    const classifier = new WorkspaceClassifier({ homeDir: null });
    const c = classifier.classify(join(root, 'nope', 'x'), { operation: 'user_requested_command' });
    assert.match(c.gitFacts.failureReason ?? '', /^[a-z_]+$/);
    assert.ok(!(c.remediation ?? '').includes(root));
    assert.throws(
      () => classifier.classify(join(root, 'bad\0path')),
      (e: Error) => !e.message.includes(root),
    );
  });
});
