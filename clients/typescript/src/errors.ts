/** The one error the REST client throws for an error answer: the envelope's code, message and details, and the HTTP status. */
import type { ErrorCode, OperationErrorCode, OperationId } from './types.ts';

/**
 * Codes the client itself reports, with status 0 when there was no answer (as the Python client does): the server
 * cannot be reached (CONNECTION_ERROR), it did not answer within the timeout (TIMEOUT), or its answer is not the
 * error envelope (UNEXPECTED_RESPONSE: a proxy's HTML page, a cut stream).
 */
export type ClientErrorCode = 'CONNECTION_ERROR' | 'TIMEOUT' | 'UNEXPECTED_RESPONSE';

export class MoxxyApiError<Code extends string = ErrorCode | ClientErrorCode> extends Error {
  override readonly name = 'MoxxyApiError';
  readonly code: Code;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  /** The operation that failed, e.g. `agents.get`. */
  readonly operationId: string;

  constructor(init: { code: Code; message: string; status: number; details?: Record<string, unknown> | undefined; operationId: string; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.details = init.details;
    this.operationId = init.operationId;
  }
}

/**
 * Narrows an unknown error to a MoxxyApiError, optionally of one code or of an operation's documented codes:
 * `if (isMoxxyApiError(error, 'AGENT_NOT_FOUND')) ...`.
 */
export function isMoxxyApiError<Code extends ErrorCode | ClientErrorCode>(error: unknown, code?: Code): error is MoxxyApiError<Code> {
  return error instanceof MoxxyApiError && (code === undefined || error.code === code);
}

/** The error of operation K, with its code typed as the codes it documents. */
export type OperationError<K extends OperationId> = MoxxyApiError<OperationErrorCode<K> | ClientErrorCode>;

/** Whether the server was never reached or never answered: worth trying again, unlike an answer. */
export function isTransportFailure(error: MoxxyApiError): boolean {
  return error.code === 'CONNECTION_ERROR' || error.code === 'TIMEOUT';
}

/** Why a request got no answer, as the one error the client throws (status 0); the original error is its `cause`. */
export function transportError(operationId: string, url: string, error: unknown, timedOut: boolean): MoxxyApiError {
  const where = url.split('?')[0];
  if (timedOut) return new MoxxyApiError({ code: 'TIMEOUT', status: 0, message: `${operationId}: no answer from ${where} within the timeout`, operationId, cause: error });
  // fetch says only "fetch failed"; what happened (ECONNREFUSED, a DNS failure, a reset) is its cause.
  const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
  return new MoxxyApiError({ code: 'CONNECTION_ERROR', status: 0, message: `${operationId}: cannot reach ${where}: ${reason}`, operationId, cause: error });
}

interface ErrorBody {
  success?: unknown;
  error?: unknown;
  message?: unknown;
}

/** Builds the error for a failed response from its body (the envelope, or a seed-shaped `{error, message}`). */
export function errorFromBody(operationId: string, status: number, text: string, knownCodes: ReadonlySet<string>): MoxxyApiError {
  let body: ErrorBody | undefined;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    body = undefined;
  }
  const envelope = body?.success === false && typeof body.error === 'object' && body.error !== null ? (body.error as Record<string, unknown>) : undefined;
  if (envelope && typeof envelope.code === 'string' && typeof envelope.message === 'string') {
    return new MoxxyApiError({
      code: envelope.code as ErrorCode,
      message: envelope.message,
      status,
      details: typeof envelope.details === 'object' && envelope.details !== null ? (envelope.details as Record<string, unknown>) : undefined,
      operationId,
    });
  }
  // Seed 001's channel errors: `{"error": "no_transcriber", "message": "..."}`.
  if (typeof body?.error === 'string' && knownCodes.has(body.error.toUpperCase())) {
    return new MoxxyApiError({
      code: body.error.toUpperCase() as ErrorCode,
      message: typeof body.message === 'string' ? body.message : body.error,
      status,
      operationId,
    });
  }
  return new MoxxyApiError({
    code: 'UNEXPECTED_RESPONSE',
    message: `${operationId} answered ${status} without the error envelope: ${text.slice(0, 200)}`,
    status,
    operationId,
  });
}
