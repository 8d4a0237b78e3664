import type { FastifyInstance } from 'fastify';
import { QuittanceError } from '../errors.js';
import { DuplicateKeyError, NestingTooDeepError, NumberOutOfRangeError, parseStrictJson } from '../ledger/strict-json.js';
import { nulLocation } from './validation.js';

/**
 * application/json bodies are parsed strictly: duplicate keys anywhere, U+0000 in any string or key
 * (installNulRefusal says why), numbers beyond a 64-bit float's range and nesting deeper than `maxDepth` are
 * refused before any handler runs.
 */
export function installStrictJson(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(null, undefined);
    try {
      const value = parseStrictJson(text, maxDepth);
      // JSON can carry U+0000 only as the escape \u0000 (a raw one is invalid JSON), so most bodies skip the walk.
      const nul = text.includes('\\u0000') ? nulLocation(value, 'body') : undefined;
      if (nul !== undefined) return done(new QuittanceError('QUITTANCE_ERR_NUL_CHARACTER', [nul]), undefined);
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
