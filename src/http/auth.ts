/**
 * Auth for the REST and raw routes: an onRequest hook (before the body is read) that checks the caller's
 * credentials against the route's scope. The rules live in src/services/auth/authenticator.ts; /trpc is
 * checked by the procedures' own middleware (src/routers/trpc.ts), as its routes carry no operation.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../config/load.ts';
import type { MoxxyConfig } from '../config/schema.ts';
import { isAppError } from '../domain/errors.ts';
import { isLoopbackHost } from '../domain/hosts.ts';
import type { Meta } from '../routers/trpc.ts';
import type { Authenticator, Caller, Credentials } from '../services/auth/authenticator.ts';
import { addRouteHook, methodsOf, routePolicyOf } from './route-hooks.ts';

export const WWW_AUTHENTICATE = 'Bearer realm="moxxy"';

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export function credentialsOf(headers: IncomingHttpHeaders): Credentials {
  return { internalToken: first(headers['x-moxxy-internal-token']), authorization: headers.authorization };
}

const callers = new WeakMap<FastifyRequest, Caller>();

/** The caller the auth hook found; undefined on public routes. */
export function callerOf(request: FastifyRequest): Caller | undefined {
  return callers.get(request);
}

/** A failed check as the error to answer with; a 401 also says how to authenticate. */
function refusal(error: unknown, reply: FastifyReply): Error {
  if (isAppError(error) && error.code === 'UNAUTHORIZED') reply.header('www-authenticate', WWW_AUTHENTICATE);
  return error instanceof Error ? error : new Error(String(error));
}

export function installAuth(app: FastifyInstance, auth: Authenticator): void {
  // A route-level hook, only on routes with a scope; callback style, so the common path pays no promise.
  addRouteHook(app, 'onRequest', (route) => {
    const scope = routePolicyOf(route)?.scope;
    if (!scope) return undefined;
    return (request, reply, done) => {
      const credentials = credentialsOf(request.headers);
      try {
        // No credentials or the internal token: decided at once, no promise on the common path.
        const caller = auth.checkAtOnce(credentials, scope);
        if (caller) {
          if (caller.kind !== 'anonymous') callers.set(request, caller);
          return done();
        }
      } catch (error) {
        return done(refusal(error, reply));
      }
      auth.check(credentials, scope).then(
        (caller) => {
          callers.set(request, caller);
          done();
        },
        (error: unknown) => done(refusal(error, reply)),
      );
    };
  });
}

interface ProcedureDef {
  type: 'query' | 'mutation' | 'subscription';
  meta?: Meta;
}

/**
 * tRPC answers a subscription with status 200 and only then runs the procedure, so its middleware could
 * refuse the caller only inside the stream. This checks subscriptions here instead, before the stream
 * opens, with the same rules and error envelope as the REST streams; the middleware then finds it done.
 */
export function installTrpcSubscriptionAuth(app: FastifyInstance, router: AnyRouter, auth: Authenticator): void {
  const procedures = router._def.procedures as Record<string, { _def: ProcedureDef } | undefined>;
  addRouteHook(app, 'onRequest', (route) => {
    if (!methodsOf(route).includes('GET') || !route.url.startsWith('/trpc/')) return undefined;
    return (request, reply, done) => {
      const def = procedures[(request.params as { path?: string }).path ?? '']?._def;
      if (def?.type !== 'subscription' || def.meta?.scope === null) return done();
      auth.check(credentialsOf(request.headers), def.meta?.scope ?? '*').then(
        (caller) => {
          // Known to the stream registry (src/http/open-streams.ts), which ends the stream with its token.
          if (caller.kind !== 'anonymous') callers.set(request, caller);
          done();
        },
        (error: unknown) => done(refusal(error, reply)),
      );
    };
  });
}

/** Shortest internal token accepted on an address others can reach: guessing it must be hopeless, not merely slow. */
const MIN_EXPOSED_TOKEN_LENGTH = 32;

/**
 * Without an internal token the API is open, which is only acceptable when nothing but this machine can reach it;
 * with one, an address others can reach needs a token they cannot guess.
 */
export function assertSafeBind(config: Pick<MoxxyConfig, 'host' | 'auth'>): void {
  if (isLoopbackHost(config.host)) return;
  const token = config.auth.internalToken;
  if (!token) {
    throw new ConfigError(
      `Refusing to listen on ${config.host} without authentication: set MOXXY_INTERNAL_TOKEN (auth.internalToken), ` +
        'or bind a loopback address (HOST=127.0.0.1)',
    );
  }
  if (token.length < MIN_EXPOSED_TOKEN_LENGTH) {
    throw new ConfigError(
      `Refusing to listen on ${config.host} with an internal token of ${token.length} characters: MOXXY_INTERNAL_TOKEN (auth.internalToken) ` +
        `must have at least ${MIN_EXPOSED_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`,
    );
  }
}
