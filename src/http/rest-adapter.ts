/** Serves every operation as a REST route: reads params/query/body, calls the procedure, wraps the envelope. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AnyRouter } from '@trpc/server';
import { validationError } from '../routers/errors.ts';
import type { Context } from '../routers/trpc.ts';
import { buildQueryCoercer } from './query-coercion.ts';
import { listOperations, type Operation } from './operations.ts';

type Caller = Record<string, unknown>;
type ProcedureFn = (input: unknown) => Promise<unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readInput(operation: Operation, request: FastifyRequest, coerce: (q: Record<string, unknown>) => Record<string, unknown>) {
  const params = request.params as Record<string, string>;
  if (!operation.hasBody) return { ...coerce(request.query as Record<string, unknown>), ...params };
  const body = request.body;
  if (body === undefined || body === null) return operation.pathKeys.length || operation.input ? { ...params } : undefined;
  if (!isPlainObject(body)) {
    throw validationError([{ path: '', message: 'Request body must be a JSON object', code: 'invalid_type' }]);
  }
  return { ...body, ...params };
}

function procedureAt(caller: Caller, id: string): ProcedureFn {
  let node: unknown = caller;
  for (const segment of id.split('.')) node = (node as Record<string, unknown>)[segment];
  return node as ProcedureFn;
}

export interface RestAdapterOptions {
  router: AnyRouter;
  createCaller: (ctx: Context) => Caller;
  createContext: (request: FastifyRequest) => Context;
}

export function registerRestRoutes(app: FastifyInstance, options: RestAdapterOptions): Operation[] {
  const operations = listOperations(options.router);
  for (const operation of operations) {
    const coerce = buildQueryCoercer(operation.input);
    const status = operation.meta.successStatus ?? 200;
    app.route({
      method: operation.meta.method,
      url: operation.route,
      config: { operation },
      handler: async (request, reply) => {
        const input = readInput(operation, request, coerce);
        const caller = options.createCaller(options.createContext(request));
        const data = await procedureAt(caller, operation.id)(input);
        return reply.code(status).send({ success: true, data });
      },
    });
  }
  return operations;
}
