/**
 * JSON routes take application/json and answer any other content type with 415 "send application/json". A
 * text/plain body (what fetch sends for a string body when no content type is set) was parsed by Fastify's
 * built-in text parser into a string and refused as "body must be object", which sent users looking for a
 * mistake in their JSON. The evidence route, which takes raw bytes of any type, still takes text/plain.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, harness, agent, worker } from '../helpers.js';

for (const backend of BACKENDS) {
  describe(`[${backend}] content types`, () => {
    test('text/plain on a JSON route is a 415 that says to send application/json; nothing is written', async () => {
      const h = await harness({ backend });
      try {
        const body = JSON.stringify({ type: 'task.assigned', from: agent, to: worker });
        for (const ct of ['text/plain', 'text/plain;charset=UTF-8']) {
          for (const url of ['/v1/receipts', '/v1/tasks']) {
            const r = await h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${h.key}`, 'content-type': ct }, payload: body });
            assert.equal(r.statusCode, 415, `${url} ${ct}: ${r.body}`);
            const json = JSON.parse(r.body) as { code: string; message: string };
            assert.equal(json.code, 'QUITTANCE_ERR_UNSUPPORTED_MEDIA_TYPE');
            assert.match(json.message, /send application\/json/);
          }
        }
        assert.deepEqual((await h.req('GET', '/v1/receipts')).json.receipts, []);
        const evidence = await h.app.inject({ method: 'POST', url: '/v1/evidence', headers: { authorization: `Bearer ${h.key}`, 'content-type': 'text/plain' }, payload: 'plain words' });
        assert.equal(evidence.statusCode, 201, evidence.body);
      } finally {
        await h.close();
      }
    });
  });
}

for (const backend of BACKENDS) {
  describe(`[${backend}] 415 messages`, () => {
    test('name the content type sent, and do not tell the evidence route to send JSON', async () => {
      const h = await harness({ backend });
      try {
        const send = (url: string, ct: string | undefined) =>
          h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${h.key}`, ...(ct !== undefined && { 'content-type': ct }) }, payload: '{}' });
        const cases: [string, string | undefined, RegExp][] = [
          ['/v1/evidence', 'x', /^Unsupported content type "x": not a media type \(type\/subtype/],
          ['/v1/evidence', 'image png', /"image png": not a media type/],
          ['/v1/receipts', 'x', /"x": not a media type .*application\/json/],
          ['/v1/receipts', 'application/xml', /^Unsupported content type "application\/xml" \(send application\/json\)$/],
          ['/v1/receipts', undefined, /^Unsupported content type none \(send application\/json\)$/],
        ];
        for (const [url, ct, message] of cases) {
          const r = await send(url, ct);
          assert.equal(r.statusCode, 415, `${url} ${ct}: ${r.body}`);
          const json = JSON.parse(r.body) as { code: string; message: string };
          assert.equal(json.code, 'QUITTANCE_ERR_UNSUPPORTED_MEDIA_TYPE');
          assert.match(json.message, message, `${url} ${ct}`);
          if (url === '/v1/evidence') assert.doesNotMatch(json.message, /send application\/json/);
        }
      } finally {
        await h.close();
      }
    });
  });
}
