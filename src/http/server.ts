/** The HTTP host: one fastify instance serving /trpc, the REST routes under /api, and openapi.json. */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import { appRouter, type AppRouter } from '../routers/app.ts';
import type { Context } from '../routers/trpc.ts';
import type { Services } from '../services/container.ts';
import { installErrorHandling, installJsonParser } from './errors.ts';
import { registerRawRoutes } from './raw-routes.ts';
import { closeSseStreams } from './sse.ts';
import { registerRestRoutes } from './rest-adapter.ts';
import { rawRoutes } from './routes/index.ts';

export async function buildServer(services: Services): Promise<FastifyInstance> {
  const { config } = services;
  const bodyLimit = config.limits.bodyBytes;
  const app = Fastify({
    logger: { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
  });

  installErrorHandling(app, bodyLimit);
  // Open event streams would otherwise keep close() waiting forever.
  app.addHook('preClose', async () => closeSseStreams(app.server));
  installJsonParser(app);
  app.removeContentTypeParser('text/plain');

  const createContext = (): Context => ({ services });

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext,
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') app.log.error({ err: error.cause ?? error, path }, 'tRPC call failed');
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  registerRestRoutes(app, {
    router: appRouter,
    createContext,
  });

  registerRawRoutes(app, rawRoutes, services);

  return app;
}

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  close(): Promise<void>;
}

export async function startServer(services: Services): Promise<RunningServer> {
  const app = await buildServer(services);
  await app.listen({ host: services.config.host, port: services.config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : services.config.port;
  const host = services.config.host.includes(':') ? `[${services.config.host}]` : services.config.host;
  return {
    app,
    services,
    url: `http://${host}:${port}`,
    async close() {
      await app.close();
      await services.close();
    },
  };
}
