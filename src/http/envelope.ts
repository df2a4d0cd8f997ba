/** The REST envelope: `{success: true, data}` or `{success: false, error: {code, message, details?}}`. */
import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { ERROR_CODES, type AppError, type ErrorCode } from '../domain/errors.ts';
import { JSON_CONTENT_TYPE } from './content-type.ts';

export function successEnvelope<T extends z.ZodType>(data: T) {
  return z.object({ success: z.literal(true), data });
}

export function errorEnvelope(codes: readonly ErrorCode[] = ERROR_CODES) {
  return z.object({
    success: z.literal(false),
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  });
}

export function errorBody(error: AppError) {
  return {
    success: false as const,
    error: error.details === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, details: error.details },
  };
}

export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  return reply.code(error.status).type(JSON_CONTENT_TYPE).send(errorBody(error));
}
