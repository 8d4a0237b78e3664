import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { QuittanceError } from '../errors.js';
import { DuplicateKeyError, NestingTooDeepError, NumberOutOfRangeError, hasUnpairedSurrogate, parseStrictJson } from '../ledger/strict-json.js';
import { hasNul, stringLocation } from './validation.js';

/** A surrogate written as a JSON escape, paired or not: the only way one can arrive in UTF-8 text. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Where the first byte that is not UTF-8 is, for the refusal. Only called on a body isUtf8 refused: every character
 * before the first U+FFFD that the lenient decoding put in was decoded from valid bytes, so byte offsets line up
 * (a U+FFFD the body itself holds is EF BF BD there, and skipped).
 */
function firstBadByte(body: Buffer): string {
  const text = body.toString('utf8');
  for (let i = text.indexOf('\uFFFD'); i !== -1; i = text.indexOf('\uFFFD', i + 1)) {
    const at = Buffer.byteLength(text.slice(0, i));
    if (body[at] !== 0xef || body[at + 1] !== 0xbf || body[at + 2] !== 0xbd) return `byte 0x${body[at]!.toString(16).toUpperCase().padStart(2, '0')} at offset ${at}`;
  }
  return 'a byte sequence that is not UTF-8';
}

/**
 * application/json bodies are parsed strictly: bytes that are not UTF-8 (RFC 8259 §8.1; decoded leniently they
 * became U+FFFD, stored and hashed in place of what was sent), duplicate keys anywhere, U+0000 in any string or key
 * (installNulRefusal says why), an unpaired surrogate in any string or key (hasUnpairedSurrogate), numbers beyond
 * a 64-bit float's range and nesting deeper than `maxDepth` are refused before any handler runs.
 */
export function installStrictJson(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('application/json');
  // Fastify's text/plain parser handed JSON routes a string, refused as "body must be object": without it, a
  // text/plain body (fetch's type for a string body sent without headers) is the 415 that says what to send.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0) return done(null, undefined);
    if (!isUtf8(bytes)) return done(new QuittanceError('QUITTANCE_ERR_INVALID_JSON', [`it is not valid UTF-8 (${firstBadByte(bytes)})`]), undefined);
    const text = bytes.toString('utf8');
    try {
      const value = parseStrictJson(text, maxDepth);
      // JSON can carry U+0000 only as the escape \u0000 (a raw one is invalid JSON), and a lone surrogate only as an
      // escape too (the body was decoded from UTF-8), so most bodies skip both walks.
      const nul = text.includes('\\u0000') ? stringLocation(value, 'body', hasNul) : undefined;
      if (nul !== undefined) return done(new QuittanceError('QUITTANCE_ERR_NUL_CHARACTER', [nul]), undefined);
      const lone = SURROGATE_ESCAPE.test(text) ? stringLocation(value, 'body', hasUnpairedSurrogate) : undefined;
      if (lone !== undefined) return done(new QuittanceError('QUITTANCE_ERR_UNPAIRED_SURROGATE', [lone]), undefined);
      done(null, value);
    } catch (e) {
      if (e instanceof DuplicateKeyError) {
        done(new QuittanceError('QUITTANCE_ERR_DUPLICATE_JSON_KEY', [`${JSON.stringify(e.key)} at ${e.path}`]), undefined);
      } else if (e instanceof NestingTooDeepError) {
        done(new QuittanceError('QUITTANCE_ERR_JSON_TOO_DEEP', [e.maxDepth, e.path]), undefined);
      } else if (e instanceof NumberOutOfRangeError) {
        done(new QuittanceError('QUITTANCE_ERR_JSON_NUMBER_RANGE', [e.path]), undefined);
      } else {
        done(new QuittanceError('QUITTANCE_ERR_INVALID_JSON', [(e as Error).message]), undefined);
      }
    }
  });
}
