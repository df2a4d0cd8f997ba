/**
 * Raw routes: endpoints whose responses are not the envelope (SSE streams, seed-shaped JSON such as
 * /v1/audit, openapi.json itself). Each is declared once, with zod schemas, and that declaration both
 * registers the fastify route and documents it in openapi.json.
 */
import type { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../domain/errors.ts';
import type { Scope } from '../domain/scopes.ts';
import type { HttpMethod, RateLimitClass } from '../routers/trpc.ts';
import type { Services } from '../services/container.ts';
import { AppError, validationError } from '../domain/errors.ts';
import { buildQueryCoercer } from './query-coercion.ts';

export interface RawResponseSpec {
  description: string;
  /** e.g. 'application/json', 'text/event-stream'. */
  contentType: string;
  /** JSON body, or for SSE the schema of one event's `data`. */
  schema: z.ZodType;
  /** Response headers it sends, as OpenAPI header objects. */
  headers?: Record<string, { description: string; schema: { type: 'string' | 'integer' } }>;
  /** The same answer in other content types, as the request chooses (`"stream": true` answers text/event-stream). */
  alternatives?: Array<{ contentType: string; schema: z.ZodType }>;
}

export interface RawRouteInput<P, Q, B, H> {
  params: P;
  query: Q;
  body: B;
  /** The request headers the route declares, read with its schema (names as declared, matched case-insensitively). */
  headers: H;
}

export interface RawRouteSpec<P = any, Q = any, B = any, H = any> {
  id: string;
  method: HttpMethod;
  path: `/${string}`;
  tags: [string, ...string[]];
  summary: string;
  description?: string;
  scope: Scope | null;
  /**
   * With `scope: null`: a scope the route's own onRequest demands only for some requests (a webhook trigger is public
   * when the webhook has a signing secret). Documented as optional security in openapi.json.
   */
  optionalScope?: Scope;
  /** With `scope: null`: the route checks a bearer token of its own (an HTTP channel's), documented as such. */
  channelToken?: true;
  rateLimit?: RateLimitClass | false;
  /** A GET that starts a run: refused cross-site like a write (src/http/origin-guard.ts), documented with CROSS_SITE_REQUEST. */
  startsRun?: boolean;
  /** The handler gets the body's exact bytes (a Buffer; undefined without a body) whatever its Content-Type, e.g. to check a signature. */
  rawBody?: boolean;
  request?: {
    params?: z.ZodType<P>;
    query?: z.ZodType<Q>;
    /** JSON bodies are parsed and validated; other content types arrive as a Buffer. */
    body?: { contentType: string; schema: z.ZodType<B>; description?: string };
    headers?: z.ZodObject & z.ZodType<H>;
  };
  responses: Record<number, RawResponseSpec>;
  /** Failures answered with the error envelope (or, for SSE, before the stream starts). */
  errors?: ErrorCode[];
  /** Documented, non-envelope errors (e.g. seed 001's `{error: 'no_transcriber'}`). */
  rawErrors?: Record<number, RawResponseSpec>;
  /**
   * Failures of the route answered in a shape of its own instead of the envelope, by the one error handler
   * (src/http/errors.ts): every failure (auth, rate limits, body limits, what the handler throws: seed 001's channel),
   * or only those `ownErrorCodes` lists (A2A's JSON-RPC errors for a request it cannot take; the others stay the
   * envelope, and are documented as such). `error` is what the handler made of `thrown`, redacted. Document the
   * answers in `rawErrors`, or in the success response when they are part of it.
   */
  errorResponse?(error: AppError, thrown: unknown, request: FastifyRequest): { status: number; body: unknown };
  ownErrorCodes?: readonly ErrorCode[];
  /** Served, but no operation of openapi.json (nor of the clients made from it): the files a page loads. */
  undocumented?: true;
  /** This route's body limit in bytes, instead of the server's JSON limit (e.g. 10 MB of audio). */
  bodyLimit?: number;
  /** Runs before the body is read (e.g. a channel's own bearer auth); throw an AppError to refuse. */
  onRequest?(request: FastifyRequest, services: Services, reply: FastifyReply): Promise<void>;
  handler(input: RawRouteInput<P, Q, B, H>, request: FastifyRequest, reply: FastifyReply, services: Services): Promise<unknown>;
}

export function defineRawRoute<P, Q, B, H>(spec: RawRouteSpec<P, Q, B, H>): RawRouteSpec<P, Q, B, H> {
  return spec;
}

/** The error answer for `code` of the raw route a request was routed to, when it has one of its own. */
export function ownErrorResponseOf(routeConfig: unknown, code: ErrorCode): RawRouteSpec['errorResponse'] {
  const route = (routeConfig as { rawRoute?: RawRouteSpec } | undefined)?.rawRoute;
  return route?.ownErrorCodes && !route.ownErrorCodes.includes(code) ? undefined : route?.errorResponse;
}

function parseWith<T>(schema: z.ZodType<T> | undefined, value: unknown, prefix: string): T {
  if (!schema) return value as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationError(
    result.error.issues.map((issue) => ({
      path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
      message: issue.message,
      code: issue.code,
    })),
  );
}

/** The declared headers of a request under their declared names (Node gives every header name in lowercase). */
function declaredHeaders(schema: z.ZodObject | undefined, request: FastifyRequest): Record<string, unknown> {
  if (!schema) return {};
  return Object.fromEntries(Object.keys(schema.shape).map((name) => [name, request.headers[name.toLowerCase()]]));
}

/** Non-JSON bodies (`audio/*`) arrive as a Buffer, and only on the routes that declare that content type. */
function acceptRawBodies(app: FastifyInstance, contentType: string): void {
  const matcher = contentType.endsWith('/*') ? new RegExp(`^${contentType.slice(0, -1).replace(/[.+]/g, '\\$&')}`) : contentType;
  if (app.hasContentTypeParser(matcher)) return;
  app.addContentTypeParser(matcher, { parseAs: 'buffer' }, (request, body, done) => {
    const declared = (request.routeOptions.config as { rawRoute?: RawRouteSpec }).rawRoute?.request?.body?.contentType;
    if (declared === contentType) done(null, body);
    else done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type: send application/json'), undefined);
  });
}

export function registerRawRoutes(app: FastifyInstance, routes: RawRouteSpec[], services: Services): void {
  for (const route of routes) {
    const coerce = buildQueryCoercer(route.request?.query);
    const bodyType = route.request?.body?.contentType;
    if (bodyType && bodyType !== 'application/json' && !route.rawBody) acceptRawBodies(app, bodyType);
    const { onRequest } = route;
    const register = (target: FastifyInstance) => target.route({
      method: route.method,
      url: route.path.replace(/\{(\w+)\}/g, ':$1'),
      config: { rawRoute: route },
      ...(route.bodyLimit ? { bodyLimit: route.bodyLimit } : {}),
      ...(onRequest ? { onRequest: (request: FastifyRequest, reply: FastifyReply) => onRequest(request, services, reply) } : {}),
      handler: async (request, reply) => {
        const input = {
          params: parseWith(route.request?.params, request.params, ''),
          query: parseWith(route.request?.query, coerce(request.query as Record<string, unknown>), ''),
          body: route.request?.body?.contentType === 'application/json' && !route.rawBody ? parseWith(route.request.body.schema, request.body, '') : request.body,
          headers: parseWith(route.request?.headers, declaredHeaders(route.request?.headers, request), ''),
        };
        return route.handler(input, request, reply, services);
      },
    });
    if (!route.rawBody) {
      register(app);
      continue;
    }
    // A context of its own, where every content type arrives as bytes and the server's JSON parser never runs.
    void app.register(async (child) => {
      child.removeAllContentTypeParsers();
      child.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      register(child);
    });
  }
}
