/**
 * Failed credentials, counted per client address. After `limit` failures within a window, every request from that
 * address that carries credentials (Authorization, X-Moxxy-Internal-Token) answers 429 RATE_LIMITED with Retry-After
 * until the window passes, so guessing a token costs a window rather than a millisecond. Requests without
 * credentials guess nothing: they are neither counted nor refused. A failure is a 401 UNAUTHORIZED for credentials a
 * request carried — REST, raw routes (SSE streams, the channel's bearer tokens) through fastify's onError hook, and
 * /trpc through the tRPC adapter's onError (src/http/server.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../domain/errors.ts';
import { routePolicyOf } from './route-hooks.ts';

/** Old windows are dropped once this many addresses are tracked, so memory stays bounded. */
const PRUNE_AT = 10_000;

function carriesCredentials(headers: IncomingHttpHeaders): boolean {
  return headers.authorization !== undefined || headers['x-moxxy-internal-token'] !== undefined;
}

export class AuthFailures {
  private readonly windows = new Map<string, { start: number; failures: number }>();
  /** A tRPC batch may fail each of its calls: one request counts once. */
  private readonly counted = new WeakSet<FastifyRequest>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the address may send credentials again; 0 when it may now. */
  retryAfter(address: string): number {
    const window = this.windows.get(address);
    if (!window || window.failures < this.limit) return 0;
    const left = window.start + this.windowMs - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Counts the request when it failed authentication with the credentials it carried. */
  noteFailure(request: FastifyRequest, error: unknown): void {
    if (isAppError(error) && error.code === 'UNAUTHORIZED' && carriesCredentials(request.headers)) this.fail(request);
  }

  private fail(request: FastifyRequest): void {
    if (this.counted.has(request)) return;
    this.counted.add(request);
    const now = this.now();
    const window = this.windows.get(request.ip);
    if (window && now < window.start + this.windowMs) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= PRUNE_AT) this.prune(now);
    this.windows.set(request.ip, { start: now, failures: 1 });
  }

  private prune(now: number): void {
    for (const [address, window] of this.windows) if (now >= window.start + this.windowMs) this.windows.delete(address);
  }
}

/**
 * Refuses credentials from a throttled address before anything checks them — before a route's own checks too (a
 * channel's bearer token), hence a hook on every request — and counts failures on the way out.
 */
export function installAuthThrottle(app: FastifyInstance, failures: AuthFailures): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (!carriesCredentials(request.headers)) return done();
    const wait = failures.retryAfter(request.ip);
    if (wait === 0) return done();
    // Public routes without rate limits (health, openapi.json) read no credentials: there is nothing to refuse.
    const policy = routePolicyOf(request.routeOptions);
    if (policy?.scope === null && policy.rateLimit === false) return done();
    reply.header('retry-after', wait);
    done(
      new AppError('RATE_LIMITED', `Too many failed credentials from this address: at most ${failures.limit} in ${failures.windowMs / 1000} s`, {
        limit: failures.limit,
        retry_after: wait,
      }),
    );
  });
  app.addHook('onError', (request, _reply, error, done) => {
    failures.noteFailure(request, error);
    done();
  });
}
