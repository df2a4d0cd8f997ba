/** The one error handler: fastify's own failures and anything a route throws, as the error envelope. */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.ts';
import { toAppError } from '../routers/errors.ts';
import { sendError } from './envelope.ts';
import { logOf } from './logger.ts';
import { declaredBodyTypeOf } from './route-hooks.ts';

function fromFastifyError(error: FastifyError, bodyLimit: number): AppError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', `Request body is larger than ${bodyLimit} bytes`, { limit: bodyLimit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type: send application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('INVALID_JSON', 'Request body is not valid JSON');
    default:
      return undefined;
  }
}

/**
 * Failures the router hits before any route or hook runs (fastify's `frameworkErrors`): a malformed URL
 * or a path segment longer than the router allows. Without this they would answer fastify's own shape.
 */
export function frameworkErrorHandler(maxParamLength: number) {
  return (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
    const app =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new AppError('VALIDATION_ERROR', `A path segment is longer than ${maxParamLength} characters`, { issues: [], limit: maxParamLength })
        : error.code === 'FST_ERR_BAD_URL'
          ? new AppError('VALIDATION_ERROR', 'The URL is malformed (bad percent-encoding)', { issues: [] })
          : toAppError(error);
    return sendError(reply, app);
  };
}

export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const app = fromFastifyError(error, bodyLimit) ?? toAppError(error);
    if (app.code === 'INTERNAL_ERROR') logOf(request).error({ err: error, url: request.url }, 'request failed');
    return sendError(reply, app);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    return sendError(reply, new AppError('ROUTE_NOT_FOUND', `Route ${request.method} ${path} not found`, { method: request.method, path }));
  });
}

/** JSON bodies: an empty body reads as no body; a malformed one is INVALID_JSON with where it broke. */
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
      done(null, JSON.parse(text));
    } catch (error) {
      done(new AppError('INVALID_JSON', `Request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
}
