/** The error catalogue: every code the API can answer with, and its HTTP status. */

export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  URL_NOT_ALLOWED: 400,
  UNAUTHORIZED: 401,
  INVALID_SIGNATURE: 401,
  FORBIDDEN: 403,
  CROSS_SITE_REQUEST: 403,
  ROUTE_NOT_FOUND: 404,
  AGENT_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  APPROVAL_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  MEMORY_NOT_FOUND: 404,
  SKILL_NOT_FOUND: 404,
  MCP_SERVER_NOT_FOUND: 404,
  SECRET_NOT_FOUND: 404,
  PAIRED_CHAT_NOT_FOUND: 404,
  CHANNEL_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  HEARTBEAT_NOT_FOUND: 404,
  TOKEN_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  AGENT_EXISTS: 409,
  SKILL_EXISTS: 409,
  MCP_SERVER_EXISTS: 409,
  WEBHOOK_EXISTS: 409,
  HEARTBEAT_EXISTS: 409,
  WEBHOOK_REPLAYED: 409,
  WEBHOOK_DISABLED: 409,
  SESSION_BUSY: 409,
  RUN_NOT_ACTIVE: 409,
  APPROVAL_DECIDED: 409,
  SKILL_CONSENT_REQUIRED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HOST_NOT_ALLOWED: 421,
  SKILL_FAILED: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  PROVIDER_ERROR: 502,
  MCP_ERROR: 502,
  SKILL_INSTALL_FAILED: 502,
  NO_TRANSCRIBER: 503,
  PROVIDER_NOT_CONFIGURED: 503,
  CONFIG_UNRESOLVED: 503,
  SANDBOX_UNAVAILABLE: 503,
  CHANNEL_NOT_CONFIGURED: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** An expected failure with a stable code. Anything else that is thrown becomes INTERNAL_ERROR. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: ErrorStatus;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** One problem with a request, as `details.issues` lists it. */
export interface ValidationIssue {
  path: string;
  message: string;
  code: string;
}

/** The issues of a failed schema parse (zod's, or any with the same fields), in the API's form. */
export function validationIssuesOf(issues: ReadonlyArray<{ path?: ReadonlyArray<PropertyKey>; message?: string; code?: string }>): ValidationIssue[] {
  return issues.map((issue) => ({
    path: (issue.path ?? []).map(String).join('.'),
    message: issue.message ?? 'Invalid value',
    code: issue.code ?? 'invalid',
  }));
}

/**
 * The one VALIDATION_ERROR: `Invalid request: ` and the first three issues, then `context` in parentheses when
 * given (what the issues depend on, e.g. a channel's type).
 */
export function validationError(issues: ValidationIssue[], context?: string): AppError {
  const summary = issues
    .slice(0, 3)
    .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
    .join('; ');
  return new AppError('VALIDATION_ERROR', `Invalid request: ${summary}${context ? ` (${context})` : ''}`, { issues });
}
