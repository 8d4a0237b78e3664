import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { validateDocument } from '../../src/contracts/validate.js';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { git, initRepo, removeTempRoot, tempRoot } from './repos.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] POST /v1/workspace/git-state`, () => {
    let h: Harness;
    let root: string;
    let repo: string;
    before(async () => {
      root = tempRoot();
      repo = initRepo(join(root, 'private-client-project'));
      h = await harness({ backend, config: { workspace: { allowedRoots: [root] } } });
    });
    after(async () => {
      await h.close();
      removeTempRoot(root);
    });

    test('records a workspace.git_state receipt carrying a valid GitWorkspaceState, with no raw path anywhere', async () => {
      const nested = join(repo, 'src', 'deep');
      mkdirSync(nested, { recursive: true });
      const r = await h.req('POST', '/v1/workspace/git-state', {
        path: nested, operation: 'agent_requested_command', commandClass: 'status',
        sessionRef: 'urn:srcos:session:terminal-7', evidenceRefs: ['urn:srcos:event:tick-1'],
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const rec = r.json.receipt;
      assert.equal(rec.type, 'workspace.git_state');
      const doc = rec.body.document;
      assert.deepEqual(r.json.document, doc);
      const v = validateDocument(doc);
      assert.equal(v.valid, true, JSON.stringify(v.errors));
      assert.equal(v.type, 'GitWorkspaceState');
      assert.equal(doc.state, 'inside_worktree');
      assert.equal(doc.operation, 'agent_requested_command');
      assert.equal(doc.gitFacts.branch, 'main');
      assert.equal(doc.gitFacts.headSha, git(repo, 'rev-parse', 'HEAD'));
      assert.equal(doc.sessionRef, 'urn:srcos:session:terminal-7');
      assert.deepEqual(doc.evidenceRefs, ['urn:srcos:event:tick-1']);
      assert.equal(doc.pathEvidence.rawPathStored, false);
      // The workspace is named by digest: the same for every path inside the worktree.
      assert.match(doc.workspaceRef, /^urn:srcos:workspace:sha256:[0-9a-f]{64}$/);
      const top = await h.req('POST', '/v1/workspace/git-state', { path: repo });
      assert.equal(top.json.document.state, 'repo_root');
      assert.equal(top.json.document.workspaceRef, doc.workspaceRef);

      const stored = JSON.stringify((await h.req('GET', `/v1/receipts/${rec.receipt_id}`)).json);
      for (const text of [stored, JSON.stringify(top.json)]) {
        assert.ok(!text.includes(root), 'the temp root is nowhere in the receipt');
        assert.ok(!text.includes(nested) && !text.includes(repo));
      }
    });

    test('a long folder name with an emoji where the hint is cut yields a document the ledger itself accepts back', async () => {
      // The hint keeps 63 UTF-16 units of the last segment; the 63rd is here the first half of a surrogate pair.
      const folder = join(root, 'x'.repeat(62) + '\u{1F600}-tail');
      mkdirSync(folder);
      const r = await h.req('POST', '/v1/workspace/git-state', { path: folder });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.equal(r.json.document.pathEvidence.redactedPathHint, '…/' + 'x'.repeat(62) + '…');
      const stored = await h.req('POST', '/v1/contracts', r.json.document);
      assert.equal(stored.status, 201, JSON.stringify(stored.json));
    });

    test('severity discipline and negative states are recorded as classified', async () => {
      const passive = await h.req('POST', '/v1/workspace/git-state', { path: root, operation: 'passive_discovery' });
      assert.equal(passive.status, 201);
      assert.equal(passive.json.document.state, 'not_a_repo');
      assert.equal(passive.json.document.severity, 'info');
      const requested = await h.req('POST', '/v1/workspace/git-state', { path: root, operation: 'user_requested_command' });
      assert.equal(requested.json.document.state, 'not_a_repo');
      assert.notEqual(requested.json.document.severity, 'info');
      assert.equal(validateDocument(requested.json.document).valid, true);
    });

    test('bad input is a coded 400 and writes nothing', async () => {
      const before = await h.services.store.countReceipts(h.tenantId);
      const relative = await h.req('POST', '/v1/workspace/git-state', { path: 'some/relative/dir' });
      assert.equal(relative.status, 400);
      assert.equal(relative.json.code, 'QUITTANCE_ERR_VALIDATION');
      assert.match(relative.json.message, /absolute/);
      assert.equal((await h.req('POST', '/v1/workspace/git-state', { path: repo, operation: 'rm_rf' })).status, 400);
      const badRef = await h.req('POST', '/v1/workspace/git-state', { path: repo, sessionRef: 'session-7' });
      assert.equal(badRef.status, 400);
      assert.match(badRef.json.message, /sessionRef/);
      assert.equal(await h.services.store.countReceipts(h.tenantId), before);
    });

    test('workspace.git_state receipts are written by the workspace engine only', async () => {
      const r = await h.req('POST', '/v1/receipts', { type: 'workspace.git_state', from: { kind: 'agent', id: 'x' }, to: { kind: 'agent', id: 'y' } });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'QUITTANCE_ERR_RECEIPT_TYPE_RESERVED');
    });
  });
}
