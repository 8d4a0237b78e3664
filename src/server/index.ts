import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './app.js';
import { createServices, type Services, type ServicesOptions } from './services.js';
import { startSweeps } from './sweeps.js';

export { buildApp, createServices };
export type { Services, ServicesOptions, AppOptions };

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  close(): Promise<void>;
}

/** Opens the store, builds the app and listens. close() stops accepting, finishes in-flight work, closes the store. */
export async function startServer(options: ServicesOptions & AppOptions & { host?: string; port?: number; services?: Services }): Promise<RunningServer> {
  const services = options.services ?? createServices(options);
  let app: FastifyInstance | undefined;
  let address: string;
  try {
    app = await buildApp(services, options);
    address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 7349 });
  } catch (e) {
    // Not started (the port is taken, say): release what was opened here; services passed in stay the caller's.
    await app?.close();
    if (!options.services) await services.store.close();
    throw e;
  }
  const stopSweeps = startSweeps(services, app.log);
  return {
    app,
    services,
    url: address,
    async close() {
      await stopSweeps();
      await app.close();
      await services.store.close();
    },
  };
}
