/**
 * Serves a dialect (src/http/dialects/dialect.ts), the second codec over the procedures. Each route runs its procedure
 * the way the REST adapter does (src/http/rest-adapter.ts), with the dialect's schemas at both ends: the request is
 * read with the route's input schema and mapped to the procedure's input, which the procedure's own schema then
 * checks; the answer is mapped from the procedure's output and sent as the route's output schema lets it through.
 * A route carries an operation like /api's, with the procedure's scope and rate-limit class, so auth, rate limits,
 * body rules and the cross-site guard apply to it unchanged; failures on the dialect's paths take its error shape
 * (src/http/pipeline.ts).
 */
import type { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AnyRouter } from '@trpc/server';
import { AppError } from '../domain/errors.ts';
import type { Context } from '../routers/trpc.ts';
import type { AnyDialectRoute, Dialect } from './dialects/dialect.ts';
import { logOf } from './logger.ts';
import { listOperations, routingOf, type Operation } from './operations.ts';
import { buildQueryCoercer } from './query-coercion.ts';
import { internalsOf, parseInput, readInput } from './rest-adapter.ts';
import { JSON_CONTENT_TYPE } from './content-type.ts';

export interface DialectOperation {
  route: AnyDialectRoute;
  /** The procedure's operation, as /api serves it. */
  procedure: Operation;
  /** The same at the dialect's path, with its schemas: what the route hooks and the dialect's document read. */
  operation: Operation;
}

export function dialectOperations(router: AnyRouter, dialect: Dialect): DialectOperation[] {
  const procedures = new Map(listOperations(router).map((operation) => [operation.id, operation]));
  return dialect.routes.map((route) => {
    const procedure = procedures.get(route.operation);
    if (!procedure) throw new Error(`The ${dialect.name} dialect serves ${route.operation}, which is not an operation`);
    const meta = { ...procedure.meta, method: route.method, path: `${dialect.prefix}${route.path}` as const };
    return { route, procedure, operation: { ...procedure, meta, input: route.input, output: route.output, ...routingOf(meta) } };
  });
}

/** The request as the route's input, its issues in the dialect's words; an unknown field is named in `path` like others. */
function parseDialectInput(schema: z.ZodObject, raw: unknown, issueMessage: z.core.$ZodErrorMap): unknown {
  const result = schema.safeParse(raw, { error: issueMessage });
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...path, key]) : [path];
    return paths.map((at) => ({ path: at.join('.'), message: issue.message, code: issue.code }));
  });
  throw new AppError('VALIDATION_ERROR', issues[0]!.message, { issues });
}

export interface DialectAdapterOptions {
  router: AnyRouter;
  createContext: (request: FastifyRequest) => Context;
}

export function registerDialectRoutes(app: FastifyInstance, dialect: Dialect, options: DialectAdapterOptions): void {
  for (const { route, procedure, operation } of dialectOperations(options.router, dialect)) {
    const { resolver } = internalsOf(options.router, procedure);
    const coerce = buildQueryCoercer(route.input);
    const status = operation.meta.successStatus ?? 200;
    app.route({
      method: route.method,
      url: operation.route,
      config: { operation, dialect },
      handler: async (request, reply) => {
        const dialectInput = parseDialectInput(route.input, readInput(operation, request, coerce), dialect.issueMessage);
        const input = parseInput(procedure.input, route.toInput(dialectInput));
        const result = await resolver({ ctx: options.createContext(request), input, path: procedure.id, type: procedure.type, signal: undefined });
        const answer = route.output.safeParse(route.fromOutput(result));
        if (!answer.success) {
          logOf(request).error({ operation: procedure.id, dialect: dialect.name, issues: answer.error.issues }, 'output validation failed');
          throw new AppError('INTERNAL_ERROR', 'Internal server error');
        }
        return reply.code(status).type(JSON_CONTENT_TYPE).send(answer.data);
      },
    });
  }
}
