import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import { withResponses } from './openapi.js';
import type { Services } from './services.js';
import { clientErrors, frameworkErrors, installClosingRefusal, installErrorHandling } from './errors.js';
import { installStrictJson } from './json.js';
import { installAuth } from './auth.js';
import { installCursorBinding } from './cursors.js';
import { installContentEncodingRefusal, installNulRefusal, installValidation } from './validation.js';
import { receiptRoutes } from './routes/receipts.js';
import { obligationRoutes } from './routes/obligations.js';
import { ledgerRoutes } from './routes/ledger.js';
import { taskRoutes } from './routes/tasks.js';
import { stampRoutes } from '../stamps/routes.js';
import { capabilityRoutes } from './routes/capabilities.js';
import { automationRoutes } from './routes/automation.js';
import { sessionRoutes } from './routes/sessions.js';
import { contractRoutes } from './routes/contracts.js';
import { evidenceRoutes } from './routes/evidence.js';
import { runtimeRoutes } from './routes/runtime.js';
import { workspaceRoutes } from './routes/workspace.js';

/** Each domain contributes its routes here; one line per domain. */
const ROUTES: ((app: FastifyInstance, s: Services) => Promise<void>)[] = [receiptRoutes, obligationRoutes, ledgerRoutes, taskRoutes, stampRoutes, capabilityRoutes, automationRoutes, sessionRoutes, contractRoutes, evidenceRoutes, runtimeRoutes, workspaceRoutes];

/**
 * Longest path parameter the router passes on (decoded, in UTF-16 units). Fastify's default of 100 refused, with a
 * 414, ids the routes themselves accept: a capability ref of up to 512 characters could be declared but never read or
 * negotiated. 2048 covers the longest any route's schema allows (a contract URN, 1024 characters, astral ones
 * included), so those schemas decide, with their coded 400.
 */
const MAX_PARAM_LENGTH = 2048;

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    // One compact line per notable event, not two per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: services.config.limits.httpBodyMaxBytes,
    // Answered by installClosingRefusal, with the coded body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    frameworkErrors: frameworkErrors(MAX_PARAM_LENGTH),
    clientErrorHandler: clientErrors,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  });
  installClosingRefusal(app);
  installValidation(app);
  installErrorHandling(app, (err) => services.store.unreachable(err));
  installStrictJson(app, services.config.limits.jsonDepthMax);
  installAuth(app, services.tenants);
  installCursorBinding(app);
  installNulRefusal(app);
  installContentEncodingRefusal(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Quittance', version: '0.1.0', description: 'Accountability ledger for AI-agent runtimes.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    // Responses are documented here, not on the routes, so that replies are never serialised through a schema.
    transformObject: (d) => withResponses(('openapiObject' in d ? d.openapiObject : {}) as Parameters<typeof withResponses>[0]),
  });
  for (const routes of ROUTES) await routes(app, services);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
