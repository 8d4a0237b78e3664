/**
 * `quittance key list` and `key revoke` against running servers: the same tests on SQLite (test/cli/cli.test.ts)
 * and on PostgreSQL (test/cli/postgres.test.ts). Registered inside the caller's describe; they run in order and
 * build on each other (create, list, revoke, revoke again, refuse).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cli, api, type ServerProcess } from '../e2e.js';

export interface KeyLedger {
  /** --data DIR or --db URL: where the servers keep the ledger. */
  where: string[];
  /** Every server running on it: each must refuse a revoked key. */
  servers: ServerProcess[];
}

interface ListedKey {
  key_id: string;
  scopes: string[];
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** Longest a running server may keep accepting a revoked key: apiKeyCacheMs (1 s) and some slack. */
const REFUSED_WITHIN_MS = 1500;

const keyIdOf = (apiKey: string) => /^qk_([^.]+)\./.exec(apiKey)![1]!;
const secretOf = (apiKey: string) => apiKey.split('.')[1]!;
const read = (server: ServerProcess, apiKey: string) => api(server.url, apiKey, 'GET', '/v1/obligations/open');

export function keyCommandTests(ledger: () => KeyLedger): void {
  const TENANT = 'keys-a';
  const OTHER = 'keys-b';
  let admin: string; // created with the tenant
  let reader: string; // read, labelled
  let writer: string; // read,write: the one revoked
  let other: string; // the other tenant's admin key
  let revokedAt: string;

  const run = (...args: string[]) => cli([...args, ...ledger().where]);
  const list = async (tenant = TENANT): Promise<ListedKey[]> => {
    const r = await run('key', 'list', '--tenant', tenant, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as ListedKey[];
  };
  const createKey = async (...args: string[]): Promise<string> => {
    const r = await run('key', 'create', '--tenant', TENANT, ...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { api_key: string }).api_key;
  };

  test('key list shows every key of the tenant, with its scopes and label, and never a secret or its hash', async () => {
    for (const name of [TENANT, OTHER]) {
      const t = await run('tenant', 'create', name, '--json');
      assert.equal(t.code, 0, t.stderr);
      const key = (JSON.parse(t.stdout) as { api_key: string }).api_key;
      if (name === TENANT) admin = key;
      else other = key;
    }
    reader = await createKey('--scopes', 'read', '--label', 'dashboard "ro"  ✓ eu');
    writer = await createKey('--scopes', 'read,write');

    const keys = await list();
    for (const k of keys) assert.deepEqual(Object.keys(k).sort(), ['created_at', 'key_id', 'label', 'revoked_at', 'scopes']);
    const byId = new Map(keys.map((k) => [k.key_id, k]));
    assert.deepEqual([...byId.keys()].sort(), [admin, reader, writer].map(keyIdOf).sort(), 'exactly this tenant\'s keys');
    assert.deepEqual(byId.get(keyIdOf(admin))!.scopes, ['admin']);
    assert.deepEqual(byId.get(keyIdOf(reader))!, { ...byId.get(keyIdOf(reader))!, scopes: ['read'], label: 'dashboard "ro"  ✓ eu', revoked_at: null });
    assert.deepEqual(byId.get(keyIdOf(writer))!, { ...byId.get(keyIdOf(writer))!, scopes: ['read', 'write'], label: null, revoked_at: null });
    assert.deepEqual(keys.map((k) => k.created_at), keys.map((k) => k.created_at).sort(), 'oldest first');
    assert.deepEqual((await list(OTHER)).map((k) => k.key_id), [keyIdOf(other)]);

    const human = await run('key', 'list', '--tenant', TENANT);
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, 'one line per key');
    assert.ok(human.stdout.includes('label "dashboard \\"ro\\"  ✓ eu"'), 'the label is shown quoted');
    for (const [i, k] of keys.entries()) {
      assert.ok(lines[i]!.startsWith(`${k.key_id} `), lines[i]);
      assert.match(lines[i]!, /\bactive\b/);
      assert.ok(lines[i]!.includes(k.created_at));
    }
    const json = JSON.stringify(keys);
    for (const key of [admin, reader, writer]) {
      const secret = secretOf(key);
      const hash = createHash('sha256').update(secret).digest('hex');
      for (const out of [json, human.stdout]) {
        assert.ok(!out.includes(secret) && !out.includes(hash), 'a secret or its hash is shown');
      }
    }
  });

  test('key revoke: every running server refuses the key within apiKeyCacheMs, the other keys keep working, the list shows revoked_at', async () => {
    const { servers } = ledger();
    // Both keys in use first, so each server has them cached as valid when the revocation lands.
    for (const server of servers) {
      for (const key of [writer, reader]) for (let i = 0; i < 2; i++) assert.equal((await read(server, key)).status, 200);
    }
    const r = await run('key', 'revoke', keyIdOf(writer), '--tenant', TENANT, '--json');
    const revokedBy = Date.now() + REFUSED_WITHIN_MS;
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { key_id: string; tenant_id: string; revoked_at: string; already_revoked: boolean };
    assert.deepEqual(Object.keys(out).sort(), ['already_revoked', 'key_id', 'revoked_at', 'tenant_id']);
    assert.equal(out.key_id, keyIdOf(writer));
    assert.equal(out.already_revoked, false);
    assert.match(out.tenant_id, /^tnt_/);
    assert.ok(Math.abs(Date.parse(out.revoked_at) - Date.now()) < 60_000, `revoked_at ${out.revoked_at} is now`);
    revokedAt = out.revoked_at;

    for (const server of servers) {
      let status = 200;
      while (status !== 401 && Date.now() < revokedBy) {
        status = (await read(server, writer)).status;
        if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.equal(status, 401, `${server.url} still accepts the revoked key ${REFUSED_WITHIN_MS} ms after the revoke`);
    }
    for (const server of servers) {
      const refused = await api(server.url, writer, 'POST', '/v1/tasks', { type: 'render' });
      assert.equal(refused.status, 401);
      assert.equal(refused.json.code, 'QUITTANCE_ERR_UNAUTHORIZED');
      assert.equal((await read(server, reader)).status, 200, 'another key of the tenant keeps working');
      assert.equal((await read(server, admin)).status, 200);
    }

    const keys = await list();
    assert.deepEqual(keys.map((k) => [k.key_id, k.revoked_at]).sort(), [[keyIdOf(admin), null], [keyIdOf(reader), null], [keyIdOf(writer), revokedAt]].sort());
    const human = await run('key', 'list', '--tenant', TENANT);
    const line = human.stdout.split('\n').find((l) => l.startsWith(keyIdOf(writer)))!;
    assert.ok(line.includes(`revoked ${revokedAt}`), line);
    assert.ok(!line.includes('active'), line);
  });

  test('revoking a revoked key again: exit 0, says so, keeps the first revoked_at', async () => {
    const again = await run('key', 'revoke', keyIdOf(writer));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`already revoked at ${revokedAt.replace(/\./g, '\\.')}; nothing changed`));
    const json = await run('key', 'revoke', keyIdOf(writer), '--tenant', TENANT, '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).already_revoked, true);
    assert.equal(JSON.parse(json.stdout).revoked_at, revokedAt);
    assert.equal((await list()).find((k) => k.key_id === keyIdOf(writer))!.revoked_at, revokedAt);
  });

  test('an unknown key id, or another tenant\'s key under --tenant, is API_KEY_NOT_FOUND (exit 1) and changes nothing', async () => {
    const before = [await list(), await list(OTHER)];
    const cases = [
      ['key', 'revoke', 'NoSuchKey0000000'],
      ['key', 'revoke', 'NoSuchKey0000000', '--json'],
      ['key', 'revoke', keyIdOf(other), '--tenant', TENANT], // exists, but in the other tenant
      ['key', 'revoke', keyIdOf(reader), '--tenant', OTHER],
    ];
    for (const args of cases) {
      const r = await run(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /^quittance: QUITTANCE_ERR_API_KEY_NOT_FOUND: API key \S+ does not exist\n$/);
      assert.equal(r.stdout, '');
    }
    assert.deepEqual([await list(), await list(OTHER)], before);
    for (const server of ledger().servers) {
      assert.equal((await read(server, other)).status, 200);
      assert.equal((await read(server, reader)).status, 200);
    }

    const noTenant = await run('key', 'list', '--tenant', 'nobody');
    assert.equal(noTenant.code, 1);
    assert.match(noTenant.stderr, /QUITTANCE_ERR_TENANT_NOT_FOUND/);
    const guardOfNobody = await run('key', 'revoke', keyIdOf(reader), '--tenant', 'nobody');
    assert.equal(guardOfNobody.code, 1);
    assert.match(guardOfNobody.stderr, /QUITTANCE_ERR_TENANT_NOT_FOUND/);
    assert.equal((await run('key', 'revoke')).code, 2);
    assert.equal((await run('key', 'revoke', 'a', 'b')).code, 2);
    assert.equal((await run('key', 'list')).code, 2);
    assert.deepEqual([await list(), await list(OTHER)], before);
  });

  test('a leaked key is revoked given as it is (qk_KEY_ID.SECRET) or as qk_KEY_ID, and its secret is never printed', async () => {
    const { servers } = ledger();
    for (const form of [(k: string) => k, (k: string) => k.split('.')[0]!]) {
      const leaked = await createKey('--scopes', 'read');
      for (const server of servers) assert.equal((await read(server, leaked)).status, 200);
      const r = await run('key', 'revoke', form(leaked), '--tenant', TENANT, '--json');
      const revokedBy = Date.now() + REFUSED_WITHIN_MS;
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { key_id: string; already_revoked: boolean };
      assert.equal(out.key_id, keyIdOf(leaked));
      assert.equal(out.already_revoked, false);
      assert.ok(!r.stdout.includes(secretOf(leaked)));
      assert.notEqual((await list()).find((k) => k.key_id === keyIdOf(leaked))!.revoked_at, null);
      for (const server of servers) {
        let status = 200;
        while (status !== 401 && Date.now() < revokedBy) {
          status = (await read(server, leaked)).status;
          if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 25));
        }
        assert.equal(status, 401, `${server.url} still accepts the revoked key`);
      }
    }
    // The other tenant's key, given in full under --tenant, is still not found there.
    const r = await run('key', 'revoke', other, '--tenant', TENANT);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `quittance: QUITTANCE_ERR_API_KEY_NOT_FOUND: API key ${keyIdOf(other)} does not exist\n`);
    for (const server of servers) assert.equal((await read(server, other)).status, 200);
  });
}
