/**
 * The web console's session: who the caller is, log in, log out. Raw routes because they set a cookie, an HTTP
 * matter that procedures never touch.
 *
 * Logging in takes the credentials in the usual headers (so failed guesses are throttled like any others) and keeps an
 * API token in an HttpOnly, SameSite=Strict cookie: for the internal token (or API key), a token minted for the session
 * (`admin`, the same powers, expiring with the cookie, revoked at logout), so the never-expiring internal token is
 * never stored in the browser; for an API token, that token as given (its scopes and its revocation hold; logout only
 * forgets it). src/http/auth.ts reads the cookie, on same-origin requests only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../domain/errors.ts';
import { AuthSession } from '../../domain/session.ts';
import type { Caller } from '../../services/auth/authenticator.ts';
import type { Services } from '../../services/container.ts';
import { consoleSessionOf, requestCredentials, SESSION_COOKIE, sessionCookieValue, WWW_AUTHENTICATE, type ConsoleSession } from '../auth.ts';
import { successEnvelope } from '../envelope.ts';
import { defineRawRoute, type RawRouteSpec } from '../raw-routes.ts';
import { JSON_CONTENT_TYPE } from '../content-type.ts';

/** How long a console session lasts: a working day, then the console asks for the token again. */
export const SESSION_TTL_SECONDS = 24 * 3600;
const MINTED_TOKEN_NAME = 'console session';

function describeCaller(caller: Caller, services: Services): AuthSession {
  const { open } = services.auth;
  if (caller.kind === 'token') return { auth_required: !open, caller: 'token', scopes: caller.scopes, token_id: caller.id };
  const everything = caller.kind === 'internal' || open;
  return { auth_required: !open, caller: caller.kind, scopes: everything ? ['admin'] : [], token_id: null };
}

/** `Secure` when the page is served over https (directly, or behind a TLS proxy, which the page's Origin tells). */
function cookieAttributes(request: FastifyRequest, maxAge: number): string {
  const secure = request.protocol === 'https' || request.headers.origin?.startsWith('https:') === true;
  return `Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, session: ConsoleSession | undefined): void {
  const value = session ? sessionCookieValue(session) : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${value}; ${cookieAttributes(request, session ? SESSION_TTL_SECONDS : 0)}`);
}

function unauthorized(reply: FastifyReply, message: string): AppError {
  reply.header('www-authenticate', WWW_AUTHENTICATE);
  return new AppError('UNAUTHORIZED', message);
}

const sendSession = (reply: FastifyReply, status: number, session: AuthSession) =>
  reply.code(status).type(JSON_CONTENT_TYPE).send({ success: true, data: session });

const SESSION_DESCRIPTION =
  'The console keeps an API token in the HttpOnly, SameSite=Strict cookie `moxxy_session`, honoured on same-origin requests only ' +
  '(`Sec-Fetch-Site: same-origin`), streams included.';

export const sessionGetRoute = defineRawRoute({
  id: 'session.get',
  method: 'GET',
  path: '/api/session',
  tags: ['tokens'],
  summary: 'Who is calling: whether the server needs credentials, and what the caller may do',
  description: `Reads the request's credentials (headers, else the console's session cookie); wrong ones answer 401. ${SESSION_DESCRIPTION}`,
  scope: null,
  rateLimit: 'read',
  responses: { 200: { description: 'The caller', contentType: 'application/json', schema: successEnvelope(AuthSession) } },
  errors: ['UNAUTHORIZED'],
  async handler(_input, request, reply, services) {
    return sendSession(reply, 200, describeCaller(await services.auth.authenticate(requestCredentials(request, false)), services));
  },
});

export const sessionCreateRoute = defineRawRoute({
  id: 'session.create',
  method: 'POST',
  path: '/api/session',
  tags: ['tokens'],
  summary: 'Log in to the web console: checks the credentials sent and sets the session cookie',
  description:
    'Send X-Moxxy-Internal-Token (or the API key as a bearer token) or `Authorization: Bearer mox_...`. The internal token is never ' +
    `stored in the browser: the cookie holds an API token minted for the session (name "${MINTED_TOKEN_NAME}", scope admin, expiring ` +
    `after ${SESSION_TTL_SECONDS / 3600} hours, revoked at logout); an API token is kept as given. ${SESSION_DESCRIPTION} ` +
    'Cross-site requests are refused, so another site cannot log a browser in.',
  scope: null,
  rateLimit: 'write',
  responses: { 201: { description: 'Logged in: `Set-Cookie` carries the session', contentType: 'application/json', schema: successEnvelope(AuthSession) } },
  errors: ['UNAUTHORIZED'],
  async handler(_input, request, reply, services) {
    const credentials = requestCredentials(request, false);
    if (credentials.internalToken === undefined && credentials.authorization === undefined) {
      throw unauthorized(reply, 'Log in with X-Moxxy-Internal-Token or Authorization: Bearer mox_...');
    }
    const caller = await services.auth.authenticate(credentials);
    if (caller.kind === 'token') {
      const bearer = /^Bearer[ \t]+(\S+)/i.exec(credentials.authorization ?? '')![1]!;
      setSessionCookie(request, reply, { token: bearer, minted: false });
      return sendSession(reply, 201, describeCaller(caller, services));
    }
    const minted = await services.tokens.create({ name: MINTED_TOKEN_NAME, scopes: ['admin'], expires_in: SESSION_TTL_SECONDS });
    setSessionCookie(request, reply, { token: minted.token, minted: true });
    return sendSession(reply, 201, describeCaller({ kind: 'token', id: minted.id, scopes: minted.scopes }, services));
  },
});

export const sessionDeleteRoute = defineRawRoute({
  id: 'session.delete',
  method: 'DELETE',
  path: '/api/session',
  tags: ['tokens'],
  summary: 'Log out of the web console: clears the session cookie, revoking the token minted at login',
  description: `An API token given at login is only forgotten, not revoked. ${SESSION_DESCRIPTION}`,
  scope: null,
  rateLimit: 'write',
  responses: { 200: { description: 'Logged out: `Set-Cookie` clears the session', contentType: 'application/json', schema: successEnvelope(AuthSession) } },
  async handler(_input, request, reply, services) {
    const session = consoleSessionOf(request);
    if (session?.minted) {
      const token = await services.tokens.verify(session.token);
      if (token) await services.tokens.revoke(token.id);
    }
    setSessionCookie(request, reply, undefined);
    return sendSession(reply, 200, describeCaller({ kind: 'anonymous' }, services));
  },
});

export const sessionRoutes: RawRouteSpec[] = [sessionGetRoute, sessionCreateRoute, sessionDeleteRoute];
