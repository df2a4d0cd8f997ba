/** The HTTP host: one fastify instance serving /trpc, the REST routes under /api, the dialects (/api/v1), and openapi.json. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { appRouter, type AppRouter } from '../routers/app.ts';
import { toAppError } from '../routers/errors.ts';
import type { Context, RateLimitClass } from '../routers/trpc.ts';
import type { Services } from '../services/container.ts';
import { ANONYMOUS } from '../services/auth/authenticator.ts';
import { assertSafeBind, callerOf, installTrpcSubscriptionAuth, requestCredentials, WWW_AUTHENTICATE } from './auth.ts';
import { registerDialectRoutes } from './dialect-adapter.ts';
import { dialectDocumentRoute } from './dialect-openapi.ts';
import { DIALECTS } from './dialects/index.ts';
import { limitTrpcJsonDepth } from './json-body.ts';
import { trackStream } from './open-streams.ts';
import { createPipeline } from './pipeline.ts';
import { trpcCallerKey } from './rate-limit.ts';
import { registerRawRoutes } from './raw-routes.ts';
import { registerRestRoutes } from './rest-adapter.ts';
import { trpcHttpPlugin, type TrpcHttpOptions } from './trpc-http.ts';
import { installResponseSchemas } from './serializers.ts';
import { documentedRawRoutes, responseSchemas } from './openapi-document.ts';
import { consoleBuildProblem } from './routes/console.ts';

export interface ServerOptions {
  /** The clock of the rate limits and the credential throttle (tests). */
  now?: () => number;
  /** Where the log goes instead of stdout (tests read it to check no secret is logged). */
  logStream?: NodeJS.WritableStream;
  /** false sends every /trpc request through tRPC's own fastify handler (test/trpc-http.test.ts compares the two). */
  trpcFastPath?: boolean;
}

export async function buildServer(services: Services, options: ServerOptions = {}): Promise<FastifyInstance> {
  const { app, logger, takeRateLimit, authFailures } = createPipeline(services, { ...options, open: services.auth.open, dialects: DIALECTS });

  installTrpcSubscriptionAuth(app, appRouter, services.auth);
  limitTrpcJsonDepth(app);
  await app.register(trpcHttpPlugin, {
    prefix: '/trpc',
    fastPath: options.trpcFastPath ?? true,
    trpcOptions: {
      router: appRouter,
      // Authenticated on first use by the scope middleware, so public procedures never touch credentials.
      createContext: ({ req, res, info }): Context => {
        // A subscription is an SSE stream like the REST ones: ended on shutdown and with its token.
        if (info.type === 'subscription') trackStream(req, res.raw, () => res.raw.destroy());
        let caller: ReturnType<NonNullable<Context['caller']>> | undefined;
        const callerOf = () => (caller ??= services.auth.authenticate(requestCredentials(req, info.type === 'subscription')));
        if (!takeRateLimit) return { services, caller: callerOf };
        // Bad credentials are the scope middleware's to refuse; here they only mean "count by IP".
        const rateLimit = async (rateClass: RateLimitClass) =>
          takeRateLimit(rateClass, trpcCallerKey(await callerOf().catch(() => undefined), req.ip), res);
        return { services, caller: callerOf, rateLimit };
      },
      responseMeta: ({ errors }) =>
        errors.some((error) => error.code === 'UNAUTHORIZED') ? { headers: { 'www-authenticate': WWW_AUTHENTICATE } } : {},
      onError({ error, path, req }) {
        authFailures?.noteFailure(req, toAppError(error));
        if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path }, 'tRPC call failed');
      },
    } satisfies TrpcHttpOptions<AppRouter>,
  });

  // The auth hook has already checked the request against the operation's scope; the caller it found is
  // there for what depends on the input (host powers).
  const createContext = (request: FastifyRequest): Context => ({ services, caller: () => Promise.resolve(callerOf(request) ?? ANONYMOUS) });
  registerRestRoutes(app, { router: appRouter, responseSchema: installResponseSchemas(app, responseSchemas()), createContext });
  for (const dialect of DIALECTS) registerDialectRoutes(app, dialect, { router: appRouter, createContext });

  registerRawRoutes(app, [...documentedRawRoutes, ...DIALECTS.map(dialectDocumentRoute)], services);
  // Without a build, / says how to make one; so does the log, for whoever starts the server without a browser.
  const consoleProblem = consoleBuildProblem();
  if (consoleProblem) logger.warn(consoleProblem);

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
  // The sandbox probe (a bubblewrap process, which health and the start-up warnings wait for) runs while the app is
  // built rather than after it listens. Its outcome is kept; listen() reports it.
  services.system.warnings().catch(() => undefined);
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
  await services.serve();
  for (const warning of await services.system.warnings()) app.logger.warn(warning);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : at.port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  return {
    app,
    services,
    url: `http://${host}:${port}`,
    async close() {
      // Requests still in flight after the grace period (a client that never finishes its request, a long turn)
      // lose their connection, so closing ends whatever clients do; then the services stop the runs still going.
      const cut = setTimeout(() => app.server.closeAllConnections(), services.config.http.shutdownGraceMs);
      try {
        await app.close();
      } finally {
        clearTimeout(cut);
      }
      await services.close();
    },
  };
}
