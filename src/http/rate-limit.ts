/**
 * Rate limits (seed 000): a fixed one-second window per caller and class (chat, read, write). The caller is
 * its API token, else the internal token, else the client IP. Limited routes answer X-RateLimit-Limit,
 * X-RateLimit-Remaining and X-RateLimit-Reset (the UTC epoch second the window resets at, as seed 002 says, on every
 * route); over the limit, 429 RATE_LIMITED with Retry-After (seconds to wait).
 * Runs after the auth hook, which names the caller.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimitClass } from '../routers/trpc.ts';
import type { Caller } from '../services/auth/authenticator.ts';
import type { MoxxyConfig } from '../config/schema.ts';
import { AppError } from '../domain/errors.ts';
import { callerOf } from './auth.ts';
import { addRouteHook, routePolicyOf } from './route-hooks.ts';

const WINDOW_MS = 1000;
/** Old windows are dropped once this many callers are tracked, so memory stays bounded. */
const PRUNE_AT = 10_000;

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
  /** When the window resets (epoch milliseconds). */
  resetAt: number;
}

/** Windows are aligned to the clock (floor(now / windowMs)), so the reset time is the same for every caller. */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { window: number; used: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly windowMs = WINDOW_MS,
  ) {}

  take(key: string, limit: number): RateDecision {
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    const resetAt = (window + 1) * this.windowMs;
    const resetMs = resetAt - now;
    let entry = this.windows.get(key);
    if (!entry || entry.window !== window) {
      if (this.windows.size >= PRUNE_AT) this.prune(window);
      entry = { window, used: 0 };
      this.windows.set(key, entry);
    }
    if (entry.used >= limit) return { allowed: false, limit, remaining: 0, resetMs, resetAt };
    entry.used += 1;
    return { allowed: true, limit, remaining: limit - entry.used, resetMs, resetAt };
  }

  private prune(current: number): void {
    for (const [key, entry] of this.windows) if (entry.window !== current) this.windows.delete(key);
  }
}

function callerKey(request: FastifyRequest): string {
  return trpcCallerKey(callerOf(request), request.ip);
}

export interface RateLimitOptions {
  limits: MoxxyConfig['rateLimits'];
  /** The clock, injectable so tests can cross window boundaries exactly. */
  now?: () => number;
}

/** Counts one request of a class for a caller; sets the X-RateLimit-* headers and throws 429 over the limit. */
export type RateLimitTake = (rateClass: RateLimitClass, caller: string, reply: FastifyReply) => void;

/**
 * Limits the REST and raw routes in an onRequest hook, and returns the same counter for /trpc (used by the
 * procedures' rate-limit middleware), so a caller's REST and tRPC calls share one budget per class.
 */
export function installRateLimits(app: FastifyInstance, { limits, now }: RateLimitOptions): RateLimitTake | undefined {
  if (!limits.enabled) return undefined;
  const limiter = new FixedWindowLimiter(now);
  const take: RateLimitTake = (rateClass, caller, reply) => {
    const decision = limiter.take(`${rateClass}:${caller}`, limits[rateClass]);
    const resetSeconds = Math.max(1, Math.ceil(decision.resetMs / 1000));
    const resetAt = Math.ceil(decision.resetAt / 1000);
    reply.header('x-ratelimit-limit', decision.limit).header('x-ratelimit-remaining', decision.remaining).header('x-ratelimit-reset', resetAt);
    if (decision.allowed) return;
    reply.header('retry-after', resetSeconds);
    throw new AppError('RATE_LIMITED', `Too many ${rateClass} requests: at most ${decision.limit} a second`, {
      limit: decision.limit,
      retry_after: resetSeconds,
    });
  };
  addRouteHook(app, 'onRequest', (route) => {
    const policy = routePolicyOf(route);
    if (!policy?.rateLimit) return undefined;
    const rateClass = policy.rateLimit;
    return (request, reply, done) => {
      try {
        take(rateClass, callerKey(request), reply);
      } catch (error) {
        return done(error as Error);
      }
      done();
    };
  });
  return take;
}

/** The rate-limit key of a /trpc caller: its API token, else the internal token, else its IP. */
export function trpcCallerKey(caller: Caller | undefined, ip: string): string {
  if (caller?.kind === 'token') return `token:${caller.id}`;
  if (caller?.kind === 'internal') return 'internal';
  return `ip:${ip}`;
}
