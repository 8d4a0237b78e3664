import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { ManualClock } from '../../src/clock.js';
import { buildApp, createServices } from '../../src/server/index.js';
import { cli } from '../e2e.js';
import { tempDir } from '../helpers.js';
import { headerOf } from './helpers.js';

const subject = { kind: 'worker', id: 'w1' } as const;

describe('quittance keys rotate', () => {
  test('new tokens use the new key at once; old tokens verify under their kid until their stamps end', async () => {
    const tmp = tempDir();
    // Starts at the real time: the CLI below runs on the system clock, as it would beside a real server.
    const clock = new ManualClock(Date.now());
    // The server keeps running while the CLI rotates the key in another connection (another process in life).
    const s = createServices({ dataDir: tmp.dir, clock, config: { stamps: { jwksCacheMs: 100 } } });
    const app = await buildApp(s);
    try {
      const tenant = (await s.tenants.createTenant('t')).tenant_id;
      const key = (await s.tenants.createKey(tenant, ['admin'])).api_key;
      const jwks = async () => (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] };
      const introspect = async (token: string) =>
        (await app.inject({ method: 'POST', url: '/v1/stamps/introspect', headers: { authorization: `Bearer ${key}` }, payload: { token } })).json();

      const before = await jwks();
      assert.equal(before.keys.length, 2, 'current and next');
      const long = await s.stamps.mint(tenant, { subject, task_ref: 'long', scope: [], ttl_seconds: 3600 });
      const short = await s.stamps.mint(tenant, { subject, task_ref: 'short', scope: [], ttl_seconds: 60 });
      const oldKid = headerOf(long.token).kid;
      assert.equal(headerOf(short.token).kid, oldKid);

      const out = await cli(['keys', 'rotate', '--data', tmp.dir, '--json']);
      assert.equal(out.code, 0, out.stderr);
      const rot = JSON.parse(out.stdout);
      assert.equal(rot.retired_kid, oldKid);
      assert.ok(before.keys.some((k) => k.kid === rot.current_kid), 'the new signing key was published before it signed anything');
      assert.equal(Date.parse(rot.retired_verify_until), Date.parse(long.stamp.expires_at), 'kept until the last stamp it signed ends');

      // New tokens: the new key, right away (the mint reads the current key inside its own write).
      const fresh = await s.stamps.mint(tenant, { subject, task_ref: 'fresh', scope: [], ttl_seconds: 60 });
      assert.equal(headerOf(fresh.token).kid, rot.current_kid);
      // Rotating a stamp's generation re-signs with the new key too.
      const rotated = await s.stamps.rotate(tenant, short.stamp.stamp_id);
      assert.equal(headerOf(rotated.token).kid, rot.current_kid);

      // Old tokens still verify: introspection and jose against the published JWKS.
      await sleep(150); // past the server's JWKS cache (a process-local cache, measured in real time)
      const after = await jwks();
      const kids = after.keys.map((k) => k.kid).sort();
      assert.deepEqual(kids, [oldKid, rot.current_kid, rot.next_kid].sort());
      assert.equal((await introspect(long.token)).active, true);
      assert.equal((await introspect(fresh.token)).active, true);
      await jwtVerify(long.token, createLocalJWKSet(after as never), { currentDate: new Date(clock.now()) });

      // Once the last stamp the old key signed has ended, the key leaves the JWKS.
      clock.set(Date.parse(rot.retired_verify_until) + 1);
      await sleep(150);
      const later = await jwks();
      assert.ok(!later.keys.some((k) => k.kid === oldKid));
      assert.equal((await introspect(long.token)).active, false);
    } finally {
      await app.close();
      await s.store.close();
      tmp.cleanup();
    }
  });

  test('two servers starting on an empty ledger agree on one current key', async () => {
    const tmp = tempDir();
    const a = createServices({ dataDir: tmp.dir });
    const b = createServices({ dataDir: tmp.dir });
    try {
      await Promise.all([a.stamps.ensureKeys(), b.stamps.ensureKeys()]);
      const ka = await a.stamps.jwks();
      const kb = await b.stamps.jwks();
      assert.equal(ka.keys.length, 2);
      assert.deepEqual(ka, kb);
    } finally {
      await a.store.close();
      await b.store.close();
      tmp.cleanup();
    }
  });
});
