import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler, preSerializationHookHandler } from 'fastify';
import { QuittanceError } from '../errors.js';
import { atMostCharacters } from '../text.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The list a paging route serves, when another route serves the same one (an alias): cursors pass between them. */
    list?: string;
  }
  interface FastifyRequest {
    /** The tag of the listing this request pages (list, path parameters, filters); set on paging routes only. */
    cursorTag: string | undefined;
  }
}

const OURS = new WeakSet<object>();

/** base64url characters of a cursor's tag: 66 bits of SHA-256, so a cursor of another listing is caught. */
const TAG_CHARS = 11;
const TAG = new RegExp(`^[A-Za-z0-9_-]{${TAG_CHARS}}$`);
/** What binding adds to the length of a cursor: the tag and a dot. Schemas bounding a cursor's length add it. */
export const CURSOR_TAG_LENGTH = TAG_CHARS + 1;

/**
 * Cursors are bound to the listing they page: a cursor a list route hands out is `<tag>.<cursor>`, the tag a digest
 * of the list, its path parameters and its filters (every query parameter but cursor and limit, so the page size
 * may change from page to page). Before, the seq cursor of /v1/receipts was taken by /v1/obligations/open, and one
 * of ?status=queued by ?status=failed, each silently skipping whatever came before that seq in the other listing;
 * now a cursor of another listing is 400 QUITTANCE_ERR_CURSOR_MISMATCH. A cursor without a tag (given out before
 * cursors were bound, by a server not yet upgraded) is taken as it is.
 *
 * A paging route is one whose query string takes `cursor`. Its answer's top-level `cursor` is bound in
 * preSerialization; a route that sends finished JSON text binds its cursor itself with `boundCursor`.
 */
export function installCursorBinding(app: FastifyInstance): void {
  app.decorateRequest('cursorTag', undefined);
  app.addHook('onRoute', (route) => {
    const query = route.schema?.querystring as { properties?: Record<string, unknown> } | undefined;
    if (query?.properties?.['cursor'] === undefined) return;
    // Fastify declares a GET's HEAD route with the GET's options, hooks included: bind once.
    if (asArray(route.preHandler).some((h) => OURS.has(h))) return;
    const list = route.config?.list ?? route.url;
    const unbind: preHandlerHookHandler = (request, _reply, done) => {
      const tag = tagOf(list, request);
      request.cursorTag = tag;
      const q = request.query as Record<string, unknown>;
      const cursor = q['cursor'];
      if (typeof cursor !== 'string') return done();
      const dot = cursor.indexOf('.');
      if (dot === -1) return done();
      const given = cursor.slice(0, dot);
      if (!TAG.test(given)) return done(new QuittanceError('QUITTANCE_ERR_INVALID_CURSOR'));
      if (given !== tag) return done(new QuittanceError('QUITTANCE_ERR_CURSOR_MISMATCH', [listingOf(request)]));
      q['cursor'] = cursor.slice(dot + 1);
      done();
    };
    const bind: preSerializationHookHandler<unknown> = (request, _reply, payload, done) => {
      const p = payload as Record<string, unknown> | null;
      if (p === null || typeof p !== 'object' || typeof p['cursor'] !== 'string') return done(null, payload);
      // A copy: the object may be a service's own (a cache), not this answer's.
      done(null, { ...p, cursor: boundCursor(request, p['cursor']) });
    };
    OURS.add(unbind);
    route.preHandler = [...asArray(route.preHandler), unbind];
    route.preSerialization = [...asArray(route.preSerialization), bind];
  });
}

/** `cursor` bound to the listing `request` pages (unchanged on a route that is not a paging route). */
export function boundCursor<C extends string | null>(request: FastifyRequest, cursor: C): C {
  return (cursor === null || request.cursorTag === undefined ? cursor : `${request.cursorTag}.${cursor}`) as C;
}

function tagOf(list: string, request: FastifyRequest): string {
  const filters = Object.entries(request.query as Record<string, unknown>).filter(([k]) => k !== 'cursor' && k !== 'limit').sort(([a], [b]) => (a < b ? -1 : 1));
  const params = Object.entries((request.params ?? {}) as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify([list, params, filters])).digest('base64url').slice(0, TAG_CHARS);
}

/** The listing a request asks for, as the mismatch message shows it: its path and filters, without cursor and limit. */
function listingOf(request: FastifyRequest): string {
  const [path, query = ''] = request.url.split('?', 2) as [string, string?];
  const kept = query.split('&').filter((kv) => kv !== '' && !/^(cursor|limit)(=|$)/.test(kv));
  const shown = kept.length === 0 ? path : `${path}?${kept.join('&')}`;
  return JSON.stringify(atMostCharacters(shown, 200));
}

function asArray<T>(hooks: T | T[] | undefined): T[] {
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}
