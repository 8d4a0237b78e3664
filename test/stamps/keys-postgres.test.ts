/**
 * `quittance keys rotate` across processes (DESIGN §6): two `quittance serve` processes on one PostgreSQL schema,
 * the rotation run by a third process. Mints read the current key inside their own write, so new tokens from
 * either server carry the new kid at once; each server re-reads its key set after `stamps.jwksCacheMs` (1 s by
 * default), so within that both publish the fresh next key, and the retired key stays published and verifying
 * while stamps it signed are alive. test/stamps/keys.test.ts covers one process on SQLite.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { compactVerify, createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { testSchema } from '../pg.js';
import { BIN, api, spawnServer, type ServerProcess } from '../e2e.js';
import { resolveConfig } from '../../src/config.js';
import { headerOf } from './helpers.js';

const skip = process.env['QUITTANCE_TEST_PG'] === '1' ? false : 'PostgreSQL is not reachable (see the note npm test printed first)';

/** The servers run with the default config: this is how long either may serve the key set it read last. */
const JWKS_CACHE_MS = resolveConfig().stamps.jwksCacheMs;
/** Room for a loaded 2-core machine on top of the cache interval: a bound, not a measurement. */
const SLACK_MS = 2000;

const subject = { kind: 'worker', id: 'rot-w' } as const;

describe('signing-key rotation with two servers on one PostgreSQL', { skip }, () => {
  test('after `keys rotate` both servers sign with the new kid, keep verifying old tokens, and publish both keys', async (t) => {
    const s = testSchema();
    await s.create();
    let servers: ServerProcess[] = [];
    try {
      servers = await Promise.all([spawnServer(s.schemaUrl), spawnServer(s.schemaUrl)]);
      const [a, b] = servers as [ServerProcess, ServerProcess];
      const key = (a.adminKey ?? b.adminKey)!;
      assert.ok(key, 'one of the servers created the admin key');

      const jwks = async (srv: ServerProcess): Promise<JSONWebKeySet & { keys: { kid: string }[] }> => {
        const r = await fetch(`${srv.url}/.well-known/jwks.json`);
        assert.equal(r.status, 200);
        return (await r.json()) as JSONWebKeySet & { keys: { kid: string }[] };
      };
      const kids = async (srv: ServerProcess) => (await jwks(srv)).keys.map((k) => k.kid).sort();
      const mint = async (srv: ServerProcess, task_ref: string) => {
        const r = await api(srv.url, key, 'POST', '/v1/stamps', { subject, task_ref, scope: ['fs:read'], ttl_seconds: 3600 });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        return { stamp_id: r.json.stamp.stamp_id as string, token: r.json.token as string, expires_at: r.json.stamp.expires_at as string };
      };
      const introspect = async (srv: ServerProcess, token: string) => {
        const r = await api(srv.url, key, 'POST', '/v1/stamps/introspect', { token });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        return r.json;
      };
      const statusListKid = async (srv: ServerProcess) => {
        const r = await fetch(`${srv.url}/v1/stamps/status`, { headers: { authorization: `Bearer ${key}` } });
        assert.equal(r.status, 200);
        return headerOf(await r.text()).kid as string;
      };

      // Before: one key set, seen alike by both servers, and tokens from both signed by its current key.
      const before = await kids(a);
      assert.equal(before.length, 2, 'current and next');
      assert.deepEqual(await kids(b), before);
      const old = await mint(a, 'before-rotation');
      const oldKid = headerOf(old.token).kid as string;
      assert.equal(headerOf((await mint(b, 'before-rotation-b')).token).kid, oldKid);
      const toRegenerate = await mint(b, 'regenerated-after-rotation');
      // Warm every cache that could keep the old key current: B's key ring and verified-token cache, both JWKS
      // caches, both status-list signers.
      for (const srv of [a, b]) {
        assert.equal((await introspect(srv, old.token)).active, true);
        assert.equal(await statusListKid(srv), oldKid);
      }

      // The rotation, from a third process, as an operator runs it.
      const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'keys', 'rotate', '--db', s.schemaUrl, '--json'], {
        env: { ...process.env, QUITTANCE_LOG_LEVEL: 'warn' },
      });
      const rot = JSON.parse(stdout) as { retired_kid: string; current_kid: string; next_kid: string; retired_verify_until: string };
      assert.equal(rot.retired_kid, oldKid);
      assert.ok(before.includes(rot.current_kid), 'the new signing key was published before it signed anything');
      assert.ok(!before.includes(rot.next_kid));
      assert.ok(Date.parse(rot.retired_verify_until) >= Date.parse(old.expires_at), 'the retired key is kept at least until the old stamp ends');

      // New tokens: the new kid at once, from both servers (no cache interval to wait for), and a new generation too.
      const fresh = { a: await mint(a, 'after-a'), b: await mint(b, 'after-b') };
      assert.equal(headerOf(fresh.a.token).kid, rot.current_kid, 'server A signs with the new key');
      assert.equal(headerOf(fresh.b.token).kid, rot.current_kid, 'server B signs with the new key');
      const regenerated = await api(b.url, key, 'POST', `/v1/stamps/${toRegenerate.stamp_id}/rotate`, {});
      assert.equal(regenerated.status, 201, JSON.stringify(regenerated.json));
      assert.equal(headerOf(regenerated.json.token).kid, rot.current_kid, 'a new generation is signed with the new key');

      // Old and new tokens introspect active on both servers, right away.
      for (const srv of [a, b]) {
        for (const token of [old.token, fresh.a.token, fresh.b.token]) {
          const r = await introspect(srv, token);
          assert.equal(r.active, true, `${srv === a ? 'A' : 'B'}: ${headerOf(token).kid} ${JSON.stringify(r)}`);
        }
      }

      // Within the refresh interval both servers publish retired, current and the fresh next key, and sign their
      // status lists with the new key.
      const expected = [oldKid, rot.current_kid, rot.next_kid].sort();
      const started = Date.now();
      for (const srv of [a, b]) {
        for (;;) {
          if ((await kids(srv)).join() === expected.join() && (await statusListKid(srv)) === rot.current_kid) break;
          assert.ok(Date.now() - started < JWKS_CACHE_MS + SLACK_MS, `${srv === a ? 'A' : 'B'} still serves ${JSON.stringify(await kids(srv))} (want ${JSON.stringify(expected)}) and signs its status list with ${await statusListKid(srv)}`);
          await sleep(50);
        }
      }
      t.diagnostic(`both servers published the rotated key set ${Date.now() - started} ms after the rotation (jwksCacheMs ${JWKS_CACHE_MS})`);

      // Any JOSE verifier holding either server's JWKS accepts the old token and the new ones, from either server.
      for (const srv of [a, b]) {
        const set = createLocalJWKSet(await jwks(srv));
        for (const token of [old.token, fresh.a.token, fresh.b.token]) {
          const { protectedHeader } = await jwtVerify(token, set);
          assert.equal(protectedHeader.kid, headerOf(token).kid);
        }
        // ...and the status list of the other server.
        const other = srv === a ? b : a;
        const list = await (await fetch(`${other.url}/v1/stamps/status`, { headers: { authorization: `Bearer ${key}` } })).text();
        await compactVerify(list, set);
      }

      // And still the old token introspects active on both once their key sets have been re-read.
      for (const srv of [a, b]) assert.equal((await introspect(srv, old.token)).active, true);
    } finally {
      await Promise.all(servers.map((srv) => srv.kill()));
      await s.drop();
    }
  });
});
