/**
 * The HTTP servers' logger. Fastify's own logger is off: with it on, every request builds a child logger and
 * listens for its response's end to log the request (which this server does not do), ~2 µs a request. The
 * servers log failures only, through this pino logger, bound to the request id where there is one.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../services/logger.ts';

export type { Logger };

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's logger (src/http/logger.ts); fastify's own `log` is silent. */
    logger: Logger;
  }
}

/**
 * Makes the server's logger (src/services/logger.ts: redacted JSON lines) the app's `logger`. At debug level and
 * below every request is logged when it completes (method, path, status, time); above, no hook is installed, so
 * requests pay nothing for it.
 */
export function installLogger(app: FastifyInstance, logger: Logger): Logger {
  app.decorate('logger', logger);
  if (logger.isLevelEnabled('debug')) {
    app.addHook('onResponse', (request, reply, done) => {
      logger.debug(
        { reqId: request.id, method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 },
        'request completed',
      );
      done();
    });
  }
  return logger;
}

/** The logger for a request's failures: the server's, bound to the request id. */
export function logOf(request: FastifyRequest): Logger {
  return request.server.logger.child({ reqId: request.id });
}
