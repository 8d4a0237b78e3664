import assert from 'node:assert/strict';
import { mkdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GitWorkspaceState } from '../../src/contracts/types.js';
import {
  WorkspaceClassifier,
  buildGitWorkspaceState,
  gitWorkspaceFacts,
  type GitWorkspaceStateDocument,
  type GitWorkspaceStateRefs,
  type WorkspaceClassification,
} from '../../src/workspace/index.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

const REFS: GitWorkspaceStateRefs = {
  id: 'ws-0001',
  sessionRef: 'urn:srcos:session:terminal-1',
  capabilityLedgerRef: 'urn:srcos:capability-ledger:git-1',
  workspaceRef: 'urn:srcos:workspace:main',
  policyDecisionRef: 'urn:srcos:decision:allow-git-7',
  evidenceRefs: ['sha256:' + 'a'.repeat(64), 'urn:srcos:event:tick-1'],
  capturedAt: '2026-03-14T11:01:00Z',
};

const REQUIRED_KEYS = [
  'actionability',
  'capabilityLedgerRef',
  'capturedAt',
  'evidenceRefs',
  'gitFacts',
  'id',
  'operation',
  'pathEvidence',
  'policyDecisionRef',
  'sessionRef',
  'severity',
  'specVersion',
  'state',
  'type',
  'workspaceRef',
];

// Compile-time check: every document the builder can produce is a GitWorkspaceState as the schema's generated
// TypeScript type describes it. If the schema's enums drift from the classifier's, this file stops compiling.
const conforms: (d: GitWorkspaceStateDocument) => GitWorkspaceState = (d) => d;

describe('GitWorkspaceState documents', () => {
  let root: string;
  const cases: Array<[string, WorkspaceClassification]> = [];

  before(() => {
    root = tempRoot();
    const classifier = new WorkspaceClassifier({ homeDir: null });
    const repo = initRepo(join(root, 'repo'));
    mkdirSync(join(repo, 'src'));
    const local = initRepo(join(root, 'local'), { remote: false });
    git(local, 'checkout', '-q', '--detach');
    const bare = join(root, 'bare.git');
    git(root, 'clone', '-q', '--bare', repo, bare);
    const broken = initRepo(join(root, 'broken'));
    truncateSync(join(broken, '.git', 'HEAD'), 0);
    const stale = classifier.classify(repo, { operation: 'agent_requested_command', commandClass: 'status' });
    classifier.classify(repo);
    cases.push(
      ['repo_root', classifier.classify(repo, { operation: 'ci_validation' })],
      ['inside_worktree', classifier.classify(join(repo, 'src'))],
      ['inside_git_dir', classifier.classify(join(repo, '.git'), { operation: 'user_requested_command', commandClass: 'rev_parse' })],
      ['bare_repo', classifier.classify(bare, { operation: 'agent_requested_command', commandClass: 'remote' })],
      ['detached_head', classifier.classify(local, { operation: 'watcher_refresh' })],
      ['corrupt_repo', classifier.classify(broken, { operation: 'agent_requested_command' })],
      ['not_a_repo', classifier.classify(join(root, 'nowhere'))],
      ['operation_superseded', classifier.current(stale)],
    );
  });
  after(() => removeTempRoot(root));

  test('carry exactly the fields of DESIGN §9, in SourceOS spelling', () => {
    for (const [state, c] of cases) {
      const doc = buildGitWorkspaceState(c, REFS);
      assert.equal(doc.state, state);
      assert.equal(doc.id, 'urn:srcos:git-workspace-state:ws-0001');
      assert.equal(doc.type, 'GitWorkspaceState');
      assert.equal(doc.specVersion, '0.1.0');
      assert.deepEqual(Object.keys(doc).filter((k) => k !== 'expectedNegativeState').sort(), REQUIRED_KEYS);
      assert.deepEqual(Object.keys(doc.pathEvidence).sort(), ['pathDigest', 'rawPathStored', 'redactedPathHint', 'redaction']);
      const gitKeys = Object.keys(doc.gitFacts).sort();
      for (const k of ['branch', 'gitDirDigest', 'headSha', 'remoteState', 'worktreeRootDigest']) assert.ok(gitKeys.includes(k), k);
      assert.ok(gitKeys.every((k) => ['branch', 'headSha', 'remoteState', 'worktreeRootDigest', 'gitDirDigest', 'failureReason', 'commandClass'].includes(k)));
      assert.equal(doc.pathEvidence.rawPathStored, false);
      assert.equal(typeof doc.expectedNegativeState, 'boolean');
      // In-process facts stay out of the document.
      for (const k of ['observedStates', 'location', 'worktreeKind', 'remediation', 'workspaceKey', 'generation', 'dependsOnGit']) {
        assert.ok(!(k in doc), k);
      }
      conforms(doc);
    }
  });

  test('validate against schemas/GitWorkspaceState.schema.json with the project validator', async () => {
    const { validateDocument } = await import('../../src/contracts/index.js');
    const full: GitWorkspaceStateRefs = {
      ...REFS,
      agentMachineReceiptRef: 'urn:srcos:agent-machine-receipt:laptop-1',
      causalRefs: ['urn:srcos:event:watch-1'],
    };
    for (const [state, c] of cases) {
      for (const refs of [REFS, full]) {
        const result = validateDocument!(buildGitWorkspaceState(c, refs));
        assert.equal(result.valid, true, `${state}: ${JSON.stringify(result.errors)}`);
      }
    }
  });

  test('optional references, and the id given in full or as a local id', () => {
    const [, c] = cases[0]!;
    const doc = buildGitWorkspaceState(c, {
      ...REFS,
      id: 'urn:srcos:git-workspace-state:ws-0002',
      agentMachineReceiptRef: null,
      causalRefs: ['urn:srcos:event:a'],
      capturedAt: Date.parse('2026-03-14T11:01:00Z'),
    });
    assert.equal(doc.id, 'urn:srcos:git-workspace-state:ws-0002');
    assert.equal(doc.agentMachineReceiptRef, null);
    assert.deepEqual(doc.causalRefs, ['urn:srcos:event:a']);
    assert.equal(doc.capturedAt, '2026-03-14T11:01:00.000Z');
    assert.ok(!('causalRefs' in buildGitWorkspaceState(c, REFS)));
  });

  test('malformed references are refused with a coded error naming the field', () => {
    const [, c] = cases[0]!;
    const bad: Array<[Partial<GitWorkspaceStateRefs>, string]> = [
      [{ policyDecisionRef: 'urn:srcos:policy:x' }, '/policyDecisionRef'],
      [{ policyDecisionRef: undefined as unknown as string }, '/policyDecisionRef'],
      [{ sessionRef: 'session-1' }, '/sessionRef'],
      [{ workspaceRef: 'urn:srcos:session:s' }, '/workspaceRef'],
      [{ evidenceRefs: ['sha256:abc'] }, '/evidenceRefs/0'],
      [{ evidenceRefs: ['urn:srcos:e:1', 'urn:srcos:e:1'] }, '/evidenceRefs/1'],
      [{ capturedAt: 'yesterday' }, '/capturedAt'],
      [{ capturedAt: Number.NaN }, '/capturedAt'],
      [{ id: 'urn:srcos:other:1' }, '/id'],
      [{ id: 'has space' }, '/id'],
      [{ agentMachineReceiptRef: 'urn:srcos:machine:1' }, '/agentMachineReceiptRef'],
    ];
    for (const [override, pointer] of bad) {
      assert.throws(
        () => buildGitWorkspaceState(c, { ...REFS, ...override }),
        (e: { code?: string; statusCode?: number; message: string }) =>
          e.code === 'QUITTANCE_ERR_VALIDATION' && e.statusCode === 400 && e.message.includes(pointer),
        JSON.stringify(override),
      );
    }
  });

  test('a document can never claim the raw path was stored', () => {
    const [, c] = cases[0]!;
    const tampered = { ...c, pathEvidence: { ...c.pathEvidence, rawPathStored: true as unknown as false } };
    assert.throws(() => buildGitWorkspaceState(tampered, REFS), /rawPathStored/);
    const smuggled = { ...c, pathEvidence: { ...c.pathEvidence, path: root } };
    assert.ok(!JSON.stringify(buildGitWorkspaceState(smuggled, REFS)).includes(root), 'extra fields are not copied');
  });

  test('gitWorkspaceFacts is the document minus its references', () => {
    for (const [, c] of cases) {
      const facts = gitWorkspaceFacts(c);
      const doc = buildGitWorkspaceState(c, REFS);
      assert.deepEqual(facts, {
        state: doc.state,
        severity: doc.severity,
        operation: doc.operation,
        actionability: doc.actionability,
        expectedNegativeState: doc.expectedNegativeState,
        pathEvidence: doc.pathEvidence,
        gitFacts: doc.gitFacts,
      });
    }
  });
});
