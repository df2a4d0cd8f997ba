/**
 * Seed 002's errors: `{"error": {"code", "message", "details"}}` with the seed's six codes. Every code of the server's
 * catalogue (src/domain/errors.ts) maps to one of them in the table below, and keeps its HTTP status and its own name
 * in `details.moxxy_code`, so a 409 AGENT_EXISTS stays distinguishable from a 400 VALIDATION_ERROR, both
 * `invalid_request`.
 */
import { z } from 'zod';
import { ERROR_CODES, ERROR_STATUS, type AppError, type ErrorCode, type ErrorStatus, type ValidationIssue } from '../../../domain/errors.ts';

export const MUXI_ERROR_CODES = ['invalid_request', 'authentication_error', 'permission_denied', 'not_found', 'rate_limit_exceeded', 'internal_error'] as const;
export type MuxiErrorCode = (typeof MUXI_ERROR_CODES)[number];

/**
 * The one table from the server's codes to the seed's, by the status each code has in the catalogue (as tRPC's codes
 * are, src/routers/errors.ts): a new code is covered by its status, a new status does not compile until it is here.
 */
const MUXI_CODE_BY_STATUS: Record<ErrorStatus, MuxiErrorCode> = {
  400: 'invalid_request',
  401: 'authentication_error',
  403: 'permission_denied',
  404: 'not_found',
  405: 'invalid_request',
  408: 'invalid_request',
  409: 'invalid_request',
  413: 'invalid_request',
  415: 'invalid_request',
  // The server does not answer this Host name (DNS rebinding): a refusal, not a malformed request.
  421: 'permission_denied',
  422: 'invalid_request',
  429: 'rate_limit_exceeded',
  431: 'invalid_request',
  500: 'internal_error',
  502: 'internal_error',
  503: 'internal_error',
};

const muxiCodeOf = (code: ErrorCode): MuxiErrorCode => MUXI_CODE_BY_STATUS[ERROR_STATUS[code]];

const MuxiErrorDetails = z
  .object({
    moxxy_code: z.enum(ERROR_CODES).describe("The server's own code for the failure, as /api answers it (e.g. AGENT_EXISTS)."),
    param: z.string().optional().describe('The request field at fault, for invalid_request.'),
  })
  .catchall(z.unknown())
  .meta({ id: 'MuxiErrorDetails' });

function errorSchema(codes: readonly [MuxiErrorCode, ...MuxiErrorCode[]], id: string) {
  return z.object({ error: z.object({ code: z.enum(codes), message: z.string(), details: MuxiErrorDetails }) }).meta({ id });
}

const pascal = (code: string) => code.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase());

/** Any failure, for paths no operation answers. */
export const MuxiError = errorSchema(MUXI_ERROR_CODES, 'MuxiError');

/** One component per seed code (`NotFoundError`), each allowing only that code. */
const SCHEMA_OF_CODE = new Map(MUXI_ERROR_CODES.map((code) => [code, errorSchema([code], pascal(code).endsWith('Error') ? pascal(code) : `${pascal(code)}Error`)]));

/** The documented body of a failure with a server code. */
export function muxiErrorSchema(code: ErrorCode): z.ZodType {
  return SCHEMA_OF_CODE.get(muxiCodeOf(code))!;
}

export function muxiErrorBody(error: AppError): z.input<typeof MuxiError> {
  // A validation failure names the first field at fault, as the seed's example does.
  const issues = error.code === 'VALIDATION_ERROR' ? (error.details?.issues as ValidationIssue[] | undefined) : undefined;
  const param = issues?.[0]?.path;
  return {
    error: {
      code: muxiCodeOf(error.code),
      message: error.message,
      details: { ...error.details, moxxy_code: error.code, ...(param ? { param } : {}) },
    },
  };
}

/**
 * How input issues read in this dialect: a missing field as the seed writes it ("Missing required parameter: user_id"),
 * others with the field's name in front. Passed to zod as the error map of MUXI inputs.
 */
export const muxiIssueMessage: z.core.$ZodErrorMap = (issue) => {
  const param = issue.path?.join('.');
  if (issue.code === 'unrecognized_keys') return `Unrecognized parameter${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map((key) => (param ? `${param}.${key}` : key)).join(', ')}`;
  if (!param) return undefined;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `Missing required parameter: ${param}`;
  const message = z.config().localeError?.(issue);
  return `Invalid parameter ${param}: ${typeof message === 'string' ? message : message?.message}`;
};
