/** The HTTP host: one fastify instance serving /trpc, the REST routes under /api, and openapi.json. */
import Fastify, { type FastifyInstance } from 'fastify';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import { appRouter, type AppRouter } from '../routers/app.ts';
import type { Context, RateLimitClass } from '../routers/trpc.ts';
import type { Services } from '../services/container.ts';
import { assertSafeBind, credentialsOf, installAuth, installTrpcSubscriptionAuth, WWW_AUTHENTICATE } from './auth.ts';
import { frameworkErrorHandler, installErrorHandling, installJsonParser } from './errors.ts';
import { installRateLimits, trpcCallerKey } from './rate-limit.ts';
import { registerRawRoutes } from './raw-routes.ts';
import { ignoreUndeclaredBodies } from './request-body.ts';
import { closeSseStreams } from './sse.ts';
import { registerRestRoutes } from './rest-adapter.ts';
import { installResponseSchemas } from './serializers.ts';
import { installLogger } from './logger.ts';
import { openApiJson } from './openapi-document.ts';
import { rawRoutes } from './routes/index.ts';

export interface ServerOptions {
  /** The rate limiter's clock (tests). */
  now?: () => number;
  /** Where the log goes instead of stdout (tests read it to check no secret is logged). */
  logStream?: NodeJS.WritableStream;
}

const MAX_PARAM_LENGTH = 4096;

export async function buildServer(services: Services, options: ServerOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const bodyLimit = config.limits.bodyBytes;
  const app = Fastify({
    // Failures are logged through installLogger's logger; see src/http/logger.ts.
    logger: false,
    bodyLimit,
    // tRPC batches name every procedure in one path segment (`/trpc/a.get,b.list,...`).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrorHandler(MAX_PARAM_LENGTH),
  });

  const logger = installLogger(app, config.logLevel, options.logStream);
  installErrorHandling(app, bodyLimit);
  // Open event streams would otherwise keep close() waiting forever.
  app.addHook('preClose', async () => closeSseStreams(app.server));
  installJsonParser(app);
  ignoreUndeclaredBodies(app);
  app.removeContentTypeParser('text/plain');

  // Cross-cutting concerns of the REST and raw routes, in order: who is calling, then how often.
  installAuth(app, services.auth);
  installTrpcSubscriptionAuth(app, appRouter, services.auth);
  const takeRateLimit = installRateLimits(app, { limits: config.rateLimits, now: options.now });

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      // Authenticated on first use by the scope middleware, so public procedures never touch credentials.
      createContext: ({ req, res }): Context => {
        let caller: ReturnType<NonNullable<Context['caller']>> | undefined;
        const callerOf = () => (caller ??= services.auth.authenticate(credentialsOf(req.headers)));
        if (!takeRateLimit) return { services, caller: callerOf };
        // Bad credentials are the scope middleware's to refuse; here they only mean "count by IP".
        const rateLimit = async (rateClass: RateLimitClass) =>
          takeRateLimit(rateClass, trpcCallerKey(await callerOf().catch(() => undefined), req.ip), res);
        return { services, caller: callerOf, rateLimit };
      },
      responseMeta: ({ errors }) =>
        errors.some((error) => error.code === 'UNAUTHORIZED') ? { headers: { 'www-authenticate': WWW_AUTHENTICATE } } : {},
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path }, 'tRPC call failed');
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  registerRestRoutes(app, {
    router: appRouter,
    responseSchema: installResponseSchemas(app, JSON.parse(openApiJson())),
    // No caller: the auth hook has already checked the request against the operation's scope.
    createContext: (): Context => ({ services }),
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

export async function startServer(services: Services, options: ServerOptions = {}): Promise<RunningServer> {
  assertSafeBind(services.config);
  const app = await buildServer(services, options);
  const running = await listen(app, services, { host: services.config.host, port: services.config.port });
  // Pollers (telegram) run only in the server, never in one-off CLI commands sharing the database.
  await services.channels.start();
  // Likewise heartbeats: only the server fires them.
  await services.heartbeats.start();
  return running;
}

/** Starts listening; the result knows its URL (the real port when 0 was asked) and closes the app, then the services. */
export async function listen(app: FastifyInstance, services: Services, at: { host: string; port: number }): Promise<RunningServer> {
  await app.listen(at);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : at.port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
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
