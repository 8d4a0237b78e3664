import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import { QuittanceError } from '../errors.js';
import { hasScope, type Caller, type Scope, type Tenants } from '../tenants/keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are public (health, OpenAPI, JWKS). */
    scope?: Scope;
  }
}

/** The credentials of `Authorization: Bearer <token>`. The scheme is case-insensitive (RFC 9110 §11.1). */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (header.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  const m = /^bearer +(\S+) *$/i.exec(header);
  return m?.[1];
}

/**
 * Bearer API keys. The tenant of every request is the key's tenant, never anything in the body.
 *
 * The check is added to each scoped route as it is declared (onRoute), with the route's scope in hand: public routes
 * run no hook at all, and a scoped request reads no per-request route options (Fastify builds `routeOptions` anew
 * on every access). A key verified within apiKeyCacheMs is answered synchronously, without a promise; any other
 * goes through Tenants.authenticate.
 */
export function installAuth(app: FastifyInstance, tenants: Tenants): void {
  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRoute', (route) => {
    const scope = route.config?.scope;
    if (scope === undefined) {
      // The OpenAPI document requires a key of every operation unless it says otherwise: a public route says so
      // here, where its being public is decided, so the document cannot tell clients to send a key it never reads.
      route.schema = { ...route.schema, security: [] };
      return;
    }
    const admit = (request: FastifyRequest, caller: Caller | undefined, done: HookHandlerDoneFunction) => {
      if (!caller) return done(new QuittanceError('QUITTANCE_ERR_UNAUTHORIZED'));
      if (!hasScope(caller, scope)) return done(new QuittanceError('QUITTANCE_ERR_FORBIDDEN', [scope]));
      request.caller = caller;
      done();
    };
    const authenticate = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const key = bearerToken(request.headers.authorization);
      if (!key) return admit(request, undefined, done);
      const known = tenants.verifiedCaller(key);
      if (known !== undefined) return admit(request, known, done);
      tenants.authenticate(key).then((caller) => admit(request, caller, done), done);
    };
    // First among the route's own onRequest hooks, as it was when it ran for every route (none of ours has any).
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [authenticate as onRequestHookHandler, ...own];
  });
}
