/**
 * JSON request bodies. Every JSON text the server reads from a request — REST and raw-route bodies, tRPC bodies and
 * `?input=`, webhook payloads — is held to one nesting limit before it is parsed: a deep document under the body
 * limit (10,000 levels fit in 20 KB) would otherwise overflow the stack of whatever walks it next (schemas,
 * serializers, the database driver) and answer 500.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.ts';
import { addRouteHook, declaredBodyTypeOf } from './route-hooks.ts';

const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Throws 400 VALIDATION_ERROR when `text` nests objects and arrays deeper than MAX_JSON_DEPTH. It scans the text
 * once without parsing it (no recursion), so it runs before JSON.parse, on valid JSON or not.
 */
export function refuseDeepJson(text: string): void {
  // Each level takes an opening and a closing character: shorter texts cannot be too deep.
  if (text.length <= 2 * MAX_JSON_DEPTH) return;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === BACKSLASH) i++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) {
      inString = true;
    } else if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new AppError('VALIDATION_ERROR', `Invalid request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, {
          issues: [{ path: '', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, code: 'too_big' }],
          max_depth: MAX_JSON_DEPTH,
        });
      }
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      depth--;
    }
  }
}

/** JSON bodies of REST and raw routes: an empty body reads as no body; a malformed one is INVALID_JSON with where it broke. */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const declared = declaredBodyTypeOf(request.routeOptions.config);
    if (declared && declared !== 'application/json') {
      return done(new AppError('UNSUPPORTED_MEDIA_TYPE', `Unsupported Content-Type: send ${declared}`), undefined);
    }
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      refuseDeepJson(text);
    } catch (error) {
      return done(error as AppError, undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new AppError('INVALID_JSON', `Request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
}

/**
 * tRPC parses its own input: the fastify adapter hands it the body as text (its plugin replaces this server's JSON
 * parser in its scope), and GET calls carry it in `?input=`. Both are checked here, once fastify has read them.
 */
export function limitTrpcJsonDepth(app: FastifyInstance): void {
  addRouteHook(app, 'preValidation', (route) => {
    if (!route.url.startsWith('/trpc/')) return undefined;
    return (request, _reply, done) => {
      // A repeated `?input=` arrives as a list, of which tRPC reads the first.
      const inputs = [(request.query as { input?: unknown }).input].flat();
      try {
        for (const text of [request.body, ...inputs]) if (typeof text === 'string') refuseDeepJson(text);
      } catch (error) {
        return done(error as AppError);
      }
      done();
    };
  });
}
