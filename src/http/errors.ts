/**
 * The one error handler: fastify's own failures, node's HTTP parser's, and anything a route throws, as the error
 * envelope. A request no route answers gets 404, or 405 with Allow when its path has routes for other methods.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../domain/errors.ts';
import { toAppError } from '../routers/errors.ts';
import { recordAllowedMethods } from './allowed-methods.ts';
import { isDialectPath, type Dialect } from './dialects/dialect.ts';
import { errorBody, sendError } from './envelope.ts';
import { loggableUrl } from './auth.ts';
import { logOf } from './logger.ts';
import { ownErrorResponseOf } from './raw-routes.ts';
import { JSON_CONTENT_TYPE } from './content-type.ts';

/** Fastify's failures without a case below keep their 4xx status, under the catalogue's code for it. */
const CODE_OF_FRAMEWORK_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'VALIDATION_ERROR',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

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
  }
  const code = error.code?.startsWith('FST_') && error.statusCode !== undefined ? CODE_OF_FRAMEWORK_STATUS[error.statusCode] : undefined;
  if (!code) return undefined;
  return new AppError(code, error.message, code === 'VALIDATION_ERROR' ? { issues: [] } : undefined);
}

/**
 * Failures the router hits before any route or hook runs (fastify's `frameworkErrors`): a malformed URL
 * or a path segment longer than the router allows. Without this they would answer fastify's own shape.
 */
export function frameworkErrorHandler(maxParamLength: number, dialects: ErrorDialects) {
  return (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
    const app =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new AppError('VALIDATION_ERROR', `A path segment is longer than ${maxParamLength} characters`, { issues: [], limit: maxParamLength })
        : error.code === 'FST_ERR_BAD_URL'
          ? new AppError('VALIDATION_ERROR', 'The URL is malformed (bad percent-encoding)', { issues: [] })
          : toAppError(error);
    return sendErrorAt(reply, app, dialects);
  };
}

/** The dialects whose paths answer failures in their own shape rather than the envelope (src/http/dialects/). */
export type ErrorDialects = readonly Pick<Dialect, 'prefix' | 'errorBody'>[];

/** A failure in the shape of the path it answers: a dialect's under its prefix, routed or not; else the envelope. */
function sendErrorAt(reply: FastifyReply, error: AppError, dialects: ErrorDialects): FastifyReply {
  const dialect = dialects.find((candidate) => isDialectPath(candidate, reply.request.url));
  if (!dialect) return sendError(reply, error);
  return reply.code(error.status).type(JSON_CONTENT_TYPE).send(dialect.errorBody(error));
}

/**
 * Failures before there is a request (fastify's `clientErrorHandler`, node's 'clientError'): malformed HTTP, a request
 * line and headers over the limit, a client too slow to send its request. Answered on the socket, which is then closed.
 */
export function clientErrorHandler(maxHeaderBytes: number) {
  return function (this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const app =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('REQUEST_TIMEOUT', 'The request was not received in time')
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? new AppError('HEADERS_TOO_LARGE', `The request line and headers are larger than ${maxHeaderBytes} bytes`, { limit: maxHeaderBytes })
          : new AppError('VALIDATION_ERROR', 'The request is not valid HTTP/1.1', { issues: [] });
    this.logger.debug({ err: error }, 'client error');
    // A response already under way on this connection (node's own check) cannot be followed by another.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent: boolean } })._httpMessage;
    if (socket.writable && !answering?.headersSent) {
      const body = JSON.stringify(errorBody(app));
      socket.write(
        `HTTP/1.1 ${app.status} ${STATUS_CODES[app.status]}\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

const listOf = (items: string[]) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : items[0]);

/**
 * `redact` replaces the server's secrets in what an error says: services redact what they record, and this is the
 * last gate before any error text leaves the process. A raw route may answer its failures in a shape of its own
 * (src/http/raw-routes.ts, errorResponse), a dialect's paths in the dialect's; every other failure is the envelope.
 */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number, redact: <T>(value: T) => T, dialects: ErrorDialects): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const app = fromFastifyError(error, bodyLimit) ?? toAppError(error);
    if (app.code === 'INTERNAL_ERROR') logOf(request).error({ err: error, url: loggableUrl(request.url) }, 'request failed');
    const safe = new AppError(app.code, redact(app.message), redact(app.details));
    const own = ownErrorResponseOf(request.routeOptions.config, safe.code);
    if (!own) return sendErrorAt(reply, safe, dialects);
    const { status, body } = own(safe, error, request);
    return reply.code(status).type(JSON_CONTENT_TYPE).send(body);
  });

  const allowedOn = recordAllowedMethods(app);
  const answerUnrouted = (request: FastifyRequest, reply: FastifyReply) => {
    const { method } = request;
    const path = request.url.split('?')[0]!;
    const allowed = allowedOn(path);
    if (allowed.length === 0) return sendErrorAt(reply, new AppError('ROUTE_NOT_FOUND', `Route ${method} ${path} not found`, { method, path }), dialects);
    reply.header('allow', allowed.join(', '));
    return sendErrorAt(reply, new AppError('METHOD_NOT_ALLOWED', `Method ${method} is not allowed on ${path}: use ${listOf(allowed)}`, { method, path, allowed }), dialects);
  };
  app.setNotFoundHandler(answerUnrouted);
  // Before the body is read: what a request sends to no route (a QUERY without Content-Type, malformed JSON) does not
  // change that there is no such route.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    // Answered here, so the hooks and body reading after this one never run.
    void answerUnrouted(request, reply);
  });
}
