/**
 * Which routes read a request body. A route that declares none (GET, DELETE, SSE) ignores whatever body is
 * sent, as fastify already does for GET: otherwise a stray body on a DELETE would answer 400/413/415, codes
 * its documented contract does not have. A route whose body is not JSON (audio) refuses a JSON one with 415.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Operation } from './operations.ts';
import type { RawRouteSpec } from './raw-routes.ts';

interface RouteConfig {
  operation?: Operation;
  rawRoute?: RawRouteSpec;
}

/** The body content type a route declares; undefined for routes that take no body (or unknown routes). */
export function declaredBodyType(request: FastifyRequest): string | undefined | null {
  const { operation, rawRoute } = request.routeOptions.config as RouteConfig;
  if (operation) return operation.hasBody ? 'application/json' : undefined;
  if (rawRoute) return rawRoute.request?.body?.contentType;
  return null;
}

export function ignoreUndeclaredBodies(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    // The read path stays cheap: GET and HEAD bodies are fastify's to ignore, and most requests carry none.
    if (request.method === 'GET' || request.method === 'HEAD') return payload;
    const { headers } = request;
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return payload;
    if (declaredBodyType(request) !== undefined) return payload;
    // With no content headers fastify sees an empty body and parses nothing; node drains the unread bytes.
    delete request.headers['content-type'];
    delete request.headers['content-length'];
    delete request.headers['transfer-encoding'];
    return Readable.from([]);
  });
}
