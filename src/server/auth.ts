import type { FastifyInstance, FastifyRequest } from 'fastify';
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

/** Bearer API keys. The tenant of every request is the key's tenant, never anything in the body. */
export function installAuth(app: FastifyInstance, tenants: Tenants): void {
  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const scope = request.routeOptions.config.scope;
    if (scope === undefined) return;
    const header = request.headers.authorization;
    const key = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const caller = key ? await tenants.authenticate(key) : undefined;
    if (!caller) throw new QuittanceError('QUITTANCE_ERR_UNAUTHORIZED');
    if (!hasScope(caller, scope)) throw new QuittanceError('QUITTANCE_ERR_FORBIDDEN', [scope]);
    request.caller = caller;
  });
}
