import type { FastifyInstance } from 'fastify';
import { QuittanceError } from '../errors.js';
import { DuplicateKeyError, parseStrictJson } from '../ledger/strict-json.js';

/** application/json bodies are parsed strictly: duplicate keys anywhere are refused before any handler runs. */
export function installStrictJson(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, parseStrictJson(text));
    } catch (e) {
      if (e instanceof DuplicateKeyError) {
        done(new QuittanceError('QUITTANCE_ERR_DUPLICATE_JSON_KEY', [`${JSON.stringify(e.key)} at ${e.path}`]), undefined);
      } else {
        done(new QuittanceError('QUITTANCE_ERR_INVALID_JSON', [(e as Error).message]), undefined);
      }
    }
  });
}
