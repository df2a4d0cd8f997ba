/** The request headers a door declares on its route, read with the same schema: an invalid one is a 400 like any input. */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { validationError, validationIssuesOf } from '../../domain/errors.ts';

export function headersOf<T>(schema: z.ZodType<T>, request: FastifyRequest): T {
  const parsed = schema.safeParse(request.headers);
  if (parsed.success) return parsed.data;
  throw validationError(validationIssuesOf(parsed.error.issues));
}
