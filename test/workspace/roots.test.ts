/**
 * POST /v1/workspace/git-state classifies only existing paths under the server's workspace roots. Anything else is
 * one refusal, the same whether the path exists or not, so an API key cannot probe the server's filesystem.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config.js';
import { QuittanceError } from '../../src/errors.js';
import { WorkspaceRoots } from '../../src/workspace/roots.js';
import { api, cli, spawnServer } from '../e2e.js';
import { BACKENDS, harness, type Harness } from '../helpers.js';
import { initRepo, removeTempRoot, tempRoot } from './repos.js';

const CODE = 'QUITTANCE_ERR_WORKSPACE_PATH_NOT_ALLOWED';

interface Layout {
  base: string;
  allowed: string;
  /** A symlink to `allowed`: the spelling the server is configured with. */
  rootLink: string;
  outside: string;
  repoIn: string;
  repoOut: string;
}

function layout(): Layout {
  const base = tempRoot();
  const allowed = join(base, 'allowed');
  const outside = join(base, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  const repoIn = initRepo(join(allowed, 'inside-repo'));
  const repoOut = initRepo(join(outside, 'secret-repo'));
  initRepo(join(base, 'allowed-evil')); // shares the root's name as a prefix
  const rootLink = join(base, 'root-link');
  symlinkSync(allowed, rootLink);
  symlinkSync(repoIn, join(allowed, 'link-in'));
  symlinkSync(repoOut, join(allowed, 'link-out'));
  symlinkSync(outside, join(allowed, 'link-outside-folder'));
  symlinkSync(join(outside, 'no-such'), join(allowed, 'dangling-out'));
  return { base, allowed, rootLink, outside, repoIn, repoOut };
}

for (const backend of BACKENDS) {
  describe(`[${backend}] workspace roots of POST /v1/workspace/git-state`, () => {
    let l: Layout;
    let h: Harness;
    let off: Harness;
    before(async () => {
      l = layout();
      h = await harness({ backend, config: { workspace: { allowedRoots: [l.rootLink] } } });
      off = await harness({ backend });
    });
    after(async () => {
      await h.close();
      await off.close();
      removeTempRoot(l.base);
    });

    test('paths under a root are classified, also via symlinks and `..` that stay inside, and via the root\'s own spelling', async () => {
      const direct = await h.req('POST', '/v1/workspace/git-state', { path: l.repoIn });
      assert.equal(direct.status, 201, JSON.stringify(direct.json));
      assert.equal(direct.json.document.state, 'repo_root');
      for (const path of [join(l.rootLink, 'inside-repo'), join(l.allowed, 'link-in'), join(l.allowed, 'inside-repo', '..', 'inside-repo')]) {
        const r = await h.req('POST', '/v1/workspace/git-state', { path });
        assert.equal(r.status, 201, `${path}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.document.state, 'repo_root');
        assert.equal(r.json.document.workspaceRef, direct.json.document.workspaceRef);
      }
      const top = await h.req('POST', '/v1/workspace/git-state', { path: l.allowed });
      assert.equal(top.status, 201);
      assert.equal(top.json.document.state, 'not_a_repo');
    });

    test('outside, `..` and symlink escapes, a name-prefix sibling, missing and dangling paths: one refusal, nothing written, nothing leaks', async () => {
      const refused = {
        'an existing repository outside': l.repoOut,
        'a missing path outside': join(l.outside, 'no-such'),
        '`..` escape to an existing repository': join(l.allowed, '..', 'outside', 'secret-repo'),
        '`..` escape to a missing path': join(l.allowed, '..', 'outside', 'no-such'),
        'symlink escape to a repository': join(l.allowed, 'link-out'),
        'symlink escape, deeper': join(l.allowed, 'link-outside-folder', 'secret-repo', '.git'),
        'symlink escape to a missing path': join(l.allowed, 'link-outside-folder', 'no-such'),
        'dangling symlink': join(l.allowed, 'dangling-out'),
        'a missing path under the root': join(l.allowed, 'no-such'),
        'a sibling whose name starts with the root\'s': join(l.base, 'allowed-evil'),
        'the parent of the root': l.base,
        'the filesystem root': '/',
        'a system folder': '/etc',
      };
      const before = await h.services.store.countReceipts(h.tenantId);
      let first: unknown;
      for (const [what, path] of Object.entries(refused)) {
        const r = await h.req('POST', '/v1/workspace/git-state', { path, operation: 'user_requested_command' });
        assert.equal(r.status, 403, `${what}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.code, CODE, what);
        assert.match(r.json.message, /--workspace-root/);
        assert.ok(!JSON.stringify(r.json).includes(l.base), `${what}: the answer names no path`);
        // Byte for byte the same answer, whether the path exists, is a repository, or is not there at all.
        first ??= r.json;
        assert.deepEqual(r.json, first, what);
      }
      assert.equal(await h.services.store.countReceipts(h.tenantId), before);
    });

    test('without roots the route is off: a coded 403 saying how to turn it on, the same for every path', async () => {
      const before = await off.services.store.countReceipts(off.tenantId);
      let first: unknown;
      for (const path of [l.repoIn, join(l.outside, 'no-such'), '/', 'relative/path']) {
        const r = await off.req('POST', '/v1/workspace/git-state', { path });
        assert.equal(r.status, 403, JSON.stringify(r.json));
        assert.equal(r.json.code, CODE);
        assert.match(r.json.message, /no workspace roots/);
        assert.match(r.json.message, /--workspace-root DIR/);
        first ??= r.json;
        assert.deepEqual(r.json, first);
      }
      assert.equal(await off.services.store.countReceipts(off.tenantId), before);
    });
  });
}

describe('workspace roots configuration', () => {
  let l: Layout;
  before(() => {
    l = layout();
  });
  after(() => removeTempRoot(l.base));

  test('roots are absolute folders that exist when the server starts', () => {
    assert.deepEqual(resolveConfig().workspace.allowedRoots, []);
    assert.deepEqual(resolveConfig({ workspace: { allowedRoots: [l.allowed] } }).workspace.allowedRoots, [l.allowed]);
    assert.throws(() => resolveConfig({ workspace: { allowedRoots: ['relative/dir'] } }), /absolute folder paths/);
    assert.throws(() => resolveConfig({ workspace: { allowedRoots: 'not-a-list' as never } }), /absolute folder paths/);
    const file = join(l.base, 'a-file');
    writeFileSync(file, 'x');
    for (const root of [join(l.base, 'missing-root'), file]) {
      assert.throws(() => new WorkspaceRoots([root]), (e: unknown) => e instanceof QuittanceError && e.code === 'QUITTANCE_ERR_CONFIG' && e.message.includes(root));
    }
    assert.deepEqual(new WorkspaceRoots([l.rootLink]).roots, [l.allowed]);
  });

  test('`quittance serve` refuses a root that is not a folder before creating anything; QUITTANCE_WORKSPACE_ROOTS is read', async () => {
    const data = join(l.base, 'data');
    const missing = join(l.base, 'missing-root');
    const flag = await cli(['serve', '--data', data, '--workspace-root', l.allowed, '--workspace-root', missing]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /QUITTANCE_ERR_CONFIG/);
    assert.ok(flag.stderr.includes(missing));
    const env = await cli(['serve', '--data', data], { QUITTANCE_WORKSPACE_ROOTS: `${l.allowed}:${missing}` });
    assert.equal(env.code, 2);
    assert.ok(env.stderr.includes(missing));
    assert.equal(flag.stdout + env.stdout, '', 'no tenant was created, no key printed');
  });

  test('`quittance serve --workspace-root DIR` turns the route on for that folder only', async () => {
    const server = await spawnServer(join(l.base, 'served'), ['--workspace-root', l.rootLink]);
    try {
      assert.match(server.output(), /git-state classifies paths under: .*root-link/);
      const key = server.adminKey!;
      const inside = await api(server.url, key, 'POST', '/v1/workspace/git-state', { path: l.repoIn });
      assert.equal(inside.status, 201, JSON.stringify(inside.json));
      assert.equal(inside.json.document.state, 'repo_root');
      const outside = await api(server.url, key, 'POST', '/v1/workspace/git-state', { path: l.repoOut });
      assert.equal(outside.status, 403);
      assert.equal(outside.json.code, CODE);
    } finally {
      await server.kill();
    }
  });

  test('the local CLI `quittance git-state PATH` needs no roots', async () => {
    const r = await cli(['git-state', l.repoOut, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).state, 'repo_root');
  });
});
