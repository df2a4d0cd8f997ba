/**
 * The one HTTP pipeline both servers run on: the API (src/http/server.ts) and `moxxy channels http`
 * (src/http/channel-server.ts). A fastify instance with node's limits and timeouts set, then, in request order:
 * which Host is answered, throttled credentials, unrouted requests (404/405), JSON bodies, cross-site refusal,
 * auth, rate limits; errors as the envelope; open streams ended on shutdown and with their tokens.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Services } from '../services/container.ts';
import { installAuth } from './auth.ts';
import { AuthFailures, installAuthThrottle } from './auth-throttle.ts';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling, type ErrorDialects } from './errors.ts';
import { installJsonParser } from './json-body.ts';
import { createLogger } from '../services/logger.ts';
import { installLogger, type Logger } from './logger.ts';
import { endStreams, watchStreamTokens } from './open-streams.ts';
import { installOriginGuard } from './origin-guard.ts';
import { installRateLimits, type RateLimitTake } from './rate-limit.ts';
import { ignoreUndeclaredBodies } from './request-body.ts';
import { lazyCompilersFactory } from './schema-compilers.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether this server lets requests without credentials through (PipelineOptions.open), its Host checked. */
    readonly servesOpenly: boolean;
  }
}

export interface PipelineOptions {
  /** Whether requests without credentials may use the API (no internal token or API key): only then is the Host checked. */
  open: boolean;
  /** The clock of the rate limits and the credential throttle (tests). */
  now?: () => number;
  /** Where the log goes instead of stdout (tests read it to check no secret is logged). */
  logStream?: NodeJS.WritableStream;
  /** Dialects served besides /api (src/http/dialects/): failures under their prefixes take their shape. */
  dialects?: ErrorDialects;
}

export interface Pipeline {
  app: FastifyInstance;
  logger: Logger;
  /** The rate limits' counter, for /trpc's procedures; undefined when rate limits are off. */
  takeRateLimit: RateLimitTake | undefined;
  /** The credential throttle, for /trpc's failures; undefined when rate limits are off. */
  authFailures: AuthFailures | undefined;
}

const MAX_PARAM_LENGTH = 4096;
/** How often node enforces the header and request timeouts; at its default (30 s) they could run that much late. */
const TIMEOUT_CHECK_MS = 1000;

export function createPipeline(services: Services, options: PipelineOptions): Pipeline {
  const { config } = services;
  const { http } = config;
  const bodyLimit = config.limits.bodyBytes;
  const app = Fastify({
    // Failures are logged through installLogger's logger; see src/http/logger.ts.
    logger: false,
    bodyLimit,
    // tRPC batches name every procedure in one path segment (`/trpc/a.get,b.list,...`).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrorHandler(MAX_PARAM_LENGTH, options.dialects ?? []),
    clientErrorHandler: clientErrorHandler(http.maxHeaderBytes),
    // Node's own server options; requestTimeout is among them because node checks headersTimeout against it when
    // the server is made, and fastify sets it (with keepAliveTimeout) on the server again from its options below.
    http: {
      maxHeaderSize: http.maxHeaderBytes,
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    // While draining, a request that still arrives is served rather than answered with fastify's own 503 body;
    // the drain itself is bounded (src/http/server.ts, listen).
    return503OnClosing: false,
    // ajv and fast-json-stringify loaded, and schemas compiled, on first use rather than before listening.
    schemaController: { compilersFactory: lazyCompilersFactory() },
  });

  // The services' logger, unless the caller reads a log of its own (tests).
  const logger = installLogger(app, options.logStream ? createLogger(config.logLevel, services.redactor, options.logStream) : services.logger);
  app.decorate('servesOpenly', options.open);
  // Hooks run in the order installed: on every request the Host, throttled credentials, then unrouted requests
  // (404/405); on each route cross-site refusal, auth, then rate limits.
  installOriginGuard(app, { checkHost: options.open, allowedHosts: http.allowedHosts });
  const authFailures = config.rateLimits.enabled ? new AuthFailures(http.authFailureLimit, http.authFailureWindowMs, options.now) : undefined;
  if (authFailures) installAuthThrottle(app, authFailures);
  installErrorHandling(app, bodyLimit, (value) => services.redactor.redact(value).value, options.dialects ?? []);
  installJsonParser(app);
  ignoreUndeclaredBodies(app);
  app.removeContentTypeParser('text/plain');
  installAuth(app, services.auth);
  const takeRateLimit = installRateLimits(app, { limits: config.rateLimits, now: options.now });

  watchStreamTokens(app, (ids) => services.tokens.usable(ids));
  // Open event streams would otherwise keep close() waiting.
  app.addHook('preClose', async () => endStreams(app.server));
  return { app, logger, takeRateLimit, authFailures };
}
