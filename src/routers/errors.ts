/** One mapping from anything thrown to an AppError with a stable code. */
import { TRPCError } from '@trpc/server';
import { AppError, validationError, validationIssuesOf, type ErrorCode, type ErrorStatus, type ValidationIssue } from '../domain/errors.ts';

const TRPC_CODE_BY_STATUS: Record<ErrorStatus, TRPCError['code']> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  408: 'TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  // Answered by the HTTP layer before any procedure runs; tRPC has no closer codes.
  421: 'BAD_REQUEST',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  431: 'PAYLOAD_TOO_LARGE',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
};

/** tRPC's own failures (no AppError behind them), as API codes. */
const APP_CODE_BY_TRPC_CODE: Partial<Record<TRPCError['code'], ErrorCode>> = {
  PARSE_ERROR: 'INVALID_JSON',
  BAD_REQUEST: 'VALIDATION_ERROR',
  NOT_FOUND: 'ROUTE_NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'ROUTE_NOT_FOUND',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
};

export function trpcCodeFor(error: AppError): TRPCError['code'] {
  return TRPC_CODE_BY_STATUS[error.status];
}

function issuesOf(cause: unknown): ValidationIssue[] | undefined {
  const issues = (cause as { issues?: unknown } | undefined)?.issues;
  return Array.isArray(issues) ? validationIssuesOf(issues) : undefined;
}

/** Turns any thrown value into an AppError; unknown failures become INTERNAL_ERROR with no internals. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof TRPCError) {
    if (error.cause instanceof AppError) return error.cause;
    const issues = issuesOf(error.cause);
    if (error.code === 'BAD_REQUEST' && issues) return validationError(issues);
    const code = APP_CODE_BY_TRPC_CODE[error.code];
    if (code) return new AppError(code, error.message);
  }
  return new AppError('INTERNAL_ERROR', 'Internal server error');
}
