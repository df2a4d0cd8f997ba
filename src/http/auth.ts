/**
 * Auth for the REST and raw routes: an onRequest hook (before the body is read) that checks the caller's
 * credentials against the route's scope. The rules live in src/services/auth/authenticator.ts; /trpc is
 * checked by the procedures' own middleware (src/routers/trpc.ts), as its routes carry no operation.
 *
 * Credentials come from the headers (X-Moxxy-Internal-Token, Authorization: Bearer), which win; else from the
 * console's session cookie, honoured only on a request the browser says is same-origin (SameSite=Strict alone would
 * let a page on another port of the same host send it); else, on a GET of an event stream, from `?access_token=`
 * (browser EventSource clients cannot send headers). The last two carry API tokens only, never the internal token.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { ConfigError } from '../config/load.ts';
import type { MoxxyConfig } from '../config/schema.ts';
import { isAppError } from '../domain/errors.ts';
import { isLoopbackHost } from '../domain/hosts.ts';
import type { Meta } from '../routers/trpc.ts';
import { procedureDefinitionAt } from '../routers/trpc-internals.ts';
import type { Authenticator, Caller, Credentials } from '../services/auth/authenticator.ts';
import type { RawRouteSpec } from './raw-routes.ts';
import { addRouteHook, methodsOf, routePolicyOf } from './route-hooks.ts';

export const WWW_AUTHENTICATE = 'Bearer realm="moxxy"';

/** The console's session cookie (src/http/routes/session.ts sets it). */
export const SESSION_COOKIE = 'moxxy_session';
/** The query parameter that carries an API token on an event stream. */
export const ACCESS_TOKEN_PARAM = 'access_token';

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** The credentials in a request's headers only (a webhook trigger, which browsers never call with a session). */
export function credentialsOf(headers: IncomingHttpHeaders): Credentials {
  return { internalToken: first(headers['x-moxxy-internal-token']), authorization: headers.authorization };
}

/** A cookie's value from a Cookie header, or undefined. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at !== -1 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

/** The console session a request carries: its API token, and whether login minted it (logout then revokes it). */
export interface ConsoleSession {
  token: string;
  minted: boolean;
}

/** Cookie values: `s.<token>` for a token minted at login, `t.<token>` for the caller's own API token. */
export function sessionCookieValue(session: ConsoleSession): string {
  return `${session.minted ? 's' : 't'}.${session.token}`;
}

/** The console session of a same-origin request, or undefined (none, or a request from another origin). */
export function consoleSessionOf(request: FastifyRequest): ConsoleSession | undefined {
  if (request.headers['sec-fetch-site'] !== 'same-origin') return undefined;
  const value = cookieValue(request.headers.cookie, SESSION_COOKIE);
  const match = value ? /^([st])\.(\S+)$/.exec(value) : null;
  return match ? { token: match[2]!, minted: match[1] === 's' } : undefined;
}

function accessTokenOf(request: FastifyRequest): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[ACCESS_TOKEN_PARAM];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Every credential a request carries, in order of precedence (see the top of this file). `streaming` says whether
 * the request opens an event stream, the only place `?access_token=` counts.
 */
export function requestCredentials(request: FastifyRequest, streaming: boolean): Credentials {
  const fromHeaders = credentialsOf(request.headers);
  if (fromHeaders.internalToken !== undefined || fromHeaders.authorization !== undefined) return fromHeaders;
  const apiToken = consoleSessionOf(request)?.token ?? (streaming && request.method === 'GET' ? accessTokenOf(request) : undefined);
  return apiToken === undefined ? fromHeaders : { apiToken };
}

/** A URL as it may be logged: an access token in its query replaced. */
export function loggableUrl(url: string): string {
  return url.replace(new RegExp(`([?&]${ACCESS_TOKEN_PARAM}=)[^&#]*`, 'g'), '$1[REDACTED]');
}

/** Whether a route answers with an event stream (SSE), where `?access_token=` is accepted. */
function streamsEvents(route: Pick<RouteOptions, 'config'>): boolean {
  const spec = (route.config as { rawRoute?: RawRouteSpec } | undefined)?.rawRoute;
  return Object.values(spec?.responses ?? {}).some((response) => response.contentType === 'text/event-stream');
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
    const streaming = streamsEvents(route);
    return (request, reply, done) => {
      const credentials = requestCredentials(request, streaming);
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

/**
 * tRPC answers a subscription with status 200 and only then runs the procedure, so its middleware could
 * refuse the caller only inside the stream. This checks subscriptions here instead, before the stream
 * opens, with the same rules and error envelope as the REST streams; the middleware then finds it done.
 */
export function installTrpcSubscriptionAuth(app: FastifyInstance, router: AnyRouter, auth: Authenticator): void {
  addRouteHook(app, 'onRequest', (route) => {
    if (!methodsOf(route).includes('GET') || !route.url.startsWith('/trpc/')) return undefined;
    return (request, reply, done) => {
      const def = procedureDefinitionAt<Meta>(router, (request.params as { path?: string }).path ?? '');
      if (def?.type !== 'subscription' || def.meta?.scope === null) return done();
      auth.check(requestCredentials(request, true), def.meta?.scope ?? '*').then(
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

/** Shortest internal token or API key accepted on an address others can reach: guessing it must be hopeless, not merely slow. */
const MIN_EXPOSED_TOKEN_LENGTH = 32;

/**
 * Without an internal token or API key the API is open, which is only acceptable when nothing but this machine can
 * reach it; with them, an address others can reach needs secrets they cannot guess: each one configured, as either
 * gives full access.
 */
export function assertSafeBind(config: Pick<MoxxyConfig, 'host' | 'auth'>): void {
  if (isLoopbackHost(config.host)) return;
  const { internalToken, apiKey } = config.auth;
  if (!internalToken && !apiKey) {
    throw new ConfigError(
      `Refusing to listen on ${config.host} without authentication: set MOXXY_INTERNAL_TOKEN (auth.internalToken) or ` +
        'MOXXY_API_KEY (auth.apiKey, --api-key), or bind a loopback address (HOST=127.0.0.1)',
    );
  }
  const secrets = [
    [internalToken, 'an internal token', 'MOXXY_INTERNAL_TOKEN (auth.internalToken)'],
    [apiKey, 'an API key', 'MOXXY_API_KEY (auth.apiKey, --api-key)'],
  ] as const;
  for (const [secret, what, where] of secrets) {
    if (secret !== undefined && secret.length < MIN_EXPOSED_TOKEN_LENGTH) {
      throw new ConfigError(
        `Refusing to listen on ${config.host} with ${what} of ${secret.length} characters: ${where} ` +
          `must have at least ${MIN_EXPOSED_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`,
      );
    }
  }
}
