/** tRPC initialisation: context, meta (the REST/OpenAPI description of a procedure), error shape. */
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import type { ErrorCode } from '../domain/errors.ts';
import type { Scope } from '../domain/scopes.ts';
import type { Caller } from '../services/auth/authenticator.ts';
import type { Services } from '../services/container.ts';
import { toAppError, trpcCodeFor } from './errors.ts';
import { markMiddleware } from './trpc-internals.ts';

export interface Context {
  services: Services;
  /**
   * Who is calling, resolved on first use from the request's credentials (may throw 401). Absent for
   * in-process callers (`createCaller` in the CLI and tests), which are trusted like the internal token.
   */
  caller?: () => Promise<Caller>;
  /**
   * Counts one call of the given class against the caller's rate limit (throws 429 RATE_LIMITED). Set for
   * /trpc only: REST counts in a fastify hook before the body is read, and in-process callers are not limited.
   */
  rateLimit?: (rateClass: RateLimitClass) => Promise<void>;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type RateLimitClass = 'read' | 'write' | 'chat';

/** How a procedure appears over REST and in openapi.json. */
export interface OpenApiMeta {
  method: HttpMethod;
  /** OpenAPI path template, e.g. `/api/agents/{name}`; `{x}` names an input field. */
  path: `/${string}`;
  tags: [string, ...string[]];
  summary: string;
  description?: string;
  successStatus?: 200 | 201 | 202;
  /** Expected failures besides VALIDATION_ERROR, auth and INTERNAL_ERROR, which every operation has. */
  errors?: ErrorCode[];
  /** The scope a bearer token needs; null for public operations. */
  scope: Scope | null;
  /** Rate-limit class; false exempts the operation. */
  rateLimit?: RateLimitClass | false;
  /**
   * When the operation needs host powers besides its scope (depending on its input), in words: shown in
   * openapi.json and enforced in the procedure with requireHostPower, the same on REST and tRPC.
   */
  hostPower?: string;
}

export interface Meta {
  openapi?: OpenApiMeta;
  /** The scope of a procedure without `openapi` (subscriptions); operations declare theirs in `openapi.scope`. */
  scope?: Scope | null;
  /** The rate-limit class of a procedure without `openapi` (subscriptions). */
  rateLimit?: RateLimitClass | false;
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error, ctx }) {
      const app = toAppError(error);
      const { stack: _stack, ...data } = shape.data;
      // The last gate before error text leaves the process, as for REST (src/http/errors.ts).
      const redact = <T>(value: T): T => (ctx ? ctx.services.redactor.redact(value).value : value);
      return {
        ...shape,
        message: redact(app.message),
        data: { ...data, code: app.code, httpStatus: app.status, details: redact(app.details) },
      };
    },
  });

/** Marks middleware the REST adapter may skip because it does the same job itself (see src/http/rest-adapter.ts). */
export const REST_SAFE_MIDDLEWARE = Symbol('rest-safe-middleware');

/** AppErrors thrown by services become TRPCErrors with the matching code, so /trpc answers the right status. */
const mapAppErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const app = toAppError(result.error);
    if (result.error.cause === app) {
      throw new TRPCError({ code: trpcCodeFor(app), message: app.message, cause: app });
    }
  }
  return result;
});
markMiddleware(mapAppErrors, REST_SAFE_MIDDLEWARE);

/**
 * Checks the caller's credentials against the procedure's scope over /trpc (REST checks in a fastify hook,
 * src/http/auth.ts, before the body is read). A procedure that declares no scope at all needs `*`: a
 * forgotten scope fails closed.
 */
const requireScope = t.middleware(async ({ ctx, meta, next }) => {
  const scope = meta?.openapi ? meta.openapi.scope : meta?.scope;
  if (scope !== null && ctx.caller) ctx.services.auth.authorize(await ctx.caller(), scope ?? '*');
  return next();
});
markMiddleware(requireScope, REST_SAFE_MIDDLEWARE);

/** The same per-caller limits as REST, over /trpc: each call of a batch counts once in its class. */
const limitRate = t.middleware(async ({ ctx, meta, next }) => {
  const rateClass = meta?.openapi ? meta.openapi.rateLimit : meta?.rateLimit;
  if (rateClass && ctx.rateLimit) await ctx.rateLimit(rateClass);
  return next();
});
markMiddleware(limitRate, REST_SAFE_MIDDLEWARE);

/**
 * Refuses (403) a caller without host powers: the internal token, an `admin` token, or no credentials in open
 * loopback mode. For requirements that depend on the input (src/domain/tool-access.ts), checked inside the
 * procedure after the operation's own scope. In-process callers (the CLI) have no `caller` and are trusted.
 */
export async function requireHostPower(ctx: Context, what: string): Promise<void> {
  if (ctx.caller) ctx.services.auth.authorizeHostPower(await ctx.caller(), what);
}

/** Refuses (403) a caller that does not itself hold every scope in `scopes`: no one hands out more than they have. */
export async function requireScopes(ctx: Context, scopes: readonly Scope[]): Promise<void> {
  if (!ctx.caller) return;
  const caller = await ctx.caller();
  for (const scope of scopes) {
    if (scope === 'admin') ctx.services.auth.authorizeHostPower(caller, "Creating an 'admin' token");
    else ctx.services.auth.authorize(caller, scope);
  }
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const procedure = t.procedure.use(mapAppErrors).use(requireScope).use(limitRate);
