/**
 * Which routes read a request body. A route that declares none (DELETE, SSE) ignores whatever body is sent,
 * as fastify already does for GET: otherwise a stray body on a DELETE would answer 400/413/415, codes its
 * documented contract does not have. A route whose body is not JSON (audio) refuses a JSON one with 415.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { addRouteHook, declaredBodyTypeOf, methodsOf } from './route-hooks.ts';

export function ignoreUndeclaredBodies(app: FastifyInstance): void {
  // Only on routes that declare no body and whose method may carry one: GET and HEAD bodies are fastify's to ignore.
  addRouteHook(app, 'preParsing', (route) => {
    if (methodsOf(route).every((method) => method === 'GET' || method === 'HEAD')) return undefined;
    if (declaredBodyTypeOf(route.config) !== undefined) return undefined;
    return (request, _reply, payload, done) => {
      const { headers } = request;
      if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return done(null, payload);
      // With no content headers fastify sees an empty body and parses nothing; node drains the unread bytes.
      delete request.headers['content-type'];
      delete request.headers['content-length'];
      delete request.headers['transfer-encoding'];
      done(null, Readable.from([]));
    };
  });
}
