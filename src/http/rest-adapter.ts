/**
 * Serves every operation as a REST route: reads params/query/body, runs the procedure, wraps the envelope.
 *
 * The route runs the procedure's own pipeline (its input schema, resolver, output schema) directly rather
 * than through tRPC's middleware runner, which costs ~20 µs a call in object spreads — most of the budget of
 * a cached read. To keep that safe, registration refuses a procedure carrying any middleware this adapter
 * does not know how to run: cross-cutting concerns (auth, rate limits) live in fastify hooks for REST.
 *
 * A result a service hands out frozen (src/domain/immutable.ts: cached agents) cannot change after it was
 * checked against the output schema and serialized, so the body sent for it is reused while it lives.
 */
import type { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AnyRouter } from '@trpc/server';
import { AppError, validationError, validationIssuesOf } from '../domain/errors.ts';
import { REST_SAFE_MIDDLEWARE, type Context } from '../routers/trpc.ts';
import { hasMark, isTrpcOwnMiddleware, procedureDefinitionAt, type ProcedureDefinition } from '../routers/trpc-internals.ts';
import { buildQueryCoercer } from './query-coercion.ts';
import { listOperations, type Operation } from './operations.ts';
import { logOf } from './logger.ts';
import { JSON_CONTENT_TYPE } from './content-type.ts';

/** The procedure's own resolver, run without tRPC's middleware runner (see above); also what dialects run. */
export function internalsOf(router: AnyRouter, operation: Operation): Required<Pick<ProcedureDefinition, 'middlewares' | 'resolver'>> {
  const def = procedureDefinitionAt(router, operation.id)!;
  const unknown = def.middlewares.filter((m, i) => i < def.middlewares.length - 1 && !isTrpcOwnMiddleware(m) && !hasMark(m, REST_SAFE_MIDDLEWARE));
  if (unknown.length || !def.resolver) {
    throw new Error(`Procedure ${operation.id} has middleware the REST adapter cannot run; move it to src/http or mark it REST-safe`);
  }
  return { middlewares: def.middlewares, resolver: def.resolver };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The raw input of a request: path parameters with the query string, or with the JSON body. */
export function readInput(operation: Operation, request: FastifyRequest, coerce: (q: Record<string, unknown>) => Record<string, unknown>) {
  const params = request.params as Record<string, string>;
  if (!operation.hasBody) return Object.assign(coerce(request.query as Record<string, unknown>), params);
  const body = request.body;
  // No body reads as {} (openapi.json marks such bodies optional); a JSON `null` is a body, and not an object.
  if (body === undefined) return operation.pathKeys.length || operation.input ? { ...params } : undefined;
  if (!isPlainObject(body)) {
    throw validationError([{ path: '', message: 'Request body must be a JSON object', code: 'invalid_type' }]);
  }
  return { ...body, ...params };
}

export function parseInput(schema: z.ZodType | undefined, raw: unknown): unknown {
  if (!schema) return raw;
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw validationError(validationIssuesOf(result.error.issues));
}

export interface RestAdapterOptions {
  router: AnyRouter;
  createContext: (request: FastifyRequest) => Context;
  /** The JSON schema of an operation's success, compiled by fastify into its serializer (src/http/serializers.ts). */
  responseSchema?: (operationId: string, status: number) => unknown;
}

export function registerRestRoutes(app: FastifyInstance, options: RestAdapterOptions): Operation[] {
  const operations = listOperations(options.router);
  for (const operation of operations) {
    const { resolver } = internalsOf(options.router, operation);
    const coerce = buildQueryCoercer(operation.input);
    const status = operation.meta.successStatus ?? 200;
    const output = operation.output;
    const responseSchema = options.responseSchema?.(operation.id, status);
    /** Frozen results already checked and serialized, with the body sent for them. */
    const sent = new WeakMap<object, string>();
    app.route({
      method: operation.meta.method,
      url: operation.route,
      config: { operation },
      ...(responseSchema ? { schema: { response: { [status]: responseSchema } } } : {}),
      handler: async (request, reply) => {
        const input = parseInput(operation.input, readInput(operation, request, coerce));
        const result = await resolver({ ctx: options.createContext(request), input, path: operation.id, type: operation.type, signal: undefined });
        reply.code(status).type(JSON_CONTENT_TYPE);
        // A frozen result cannot have changed since it was checked and serialized (src/domain/immutable.ts).
        const reusable = typeof result === 'object' && result !== null && Object.isFrozen(result);
        const known = reusable ? sent.get(result) : undefined;
        if (known !== undefined) return reply.send(known);
        const checked = output ? output.safeParse(result) : { success: true as const, data: result };
        if (!checked.success) {
          logOf(request).error({ operation: operation.id, issues: checked.error.issues }, 'output validation failed');
          throw new AppError('INTERNAL_ERROR', 'Internal server error');
        }
        const body = reply.serialize({ success: true, data: checked.data }) as string;
        if (reusable) sent.set(result, body);
        return reply.send(body);
      },
    });
  }
  return operations;
}
