/** The REST operations: every tRPC procedure that carries `meta.openapi`, in router order. */
import type { z } from 'zod';
import type { AnyRouter } from '@trpc/server';
import type { OpenApiMeta } from '../routers/trpc.ts';
import { definitionOf, proceduresOf } from '../routers/trpc-internals.ts';

export interface Operation {
  /** The procedure path, also the OpenAPI operationId: `agents.list`. */
  id: string;
  meta: OpenApiMeta;
  input: z.ZodType | undefined;
  output: z.ZodType | undefined;
  pathKeys: string[];
  /** The fastify form of the path: `/api/agents/:name`. */
  route: string;
  hasBody: boolean;
  /** The tRPC procedure type. */
  type: 'query' | 'mutation' | 'subscription';
}

export function listOperations(router: AnyRouter): Operation[] {
  const operations: Operation[] = [];
  const seen = new Map<string, string>();
  for (const [id, procedure] of Object.entries(proceduresOf<{ openapi?: OpenApiMeta }>(router))) {
    const def = definitionOf(procedure);
    const meta = def.meta?.openapi;
    if (!meta) continue;
    const key = `${meta.method} ${meta.path.replace(/\{\w+\}/g, '{}')}`;
    const clash = seen.get(key);
    if (clash) throw new Error(`Operations ${clash} and ${id} both answer ${meta.method} ${meta.path}`);
    seen.set(key, id);
    if (def.inputs.length > 1) throw new Error(`Operation ${id} has more than one input schema`);
    operations.push({ id, meta, input: def.inputs[0], output: def.output, ...routingOf(meta), type: def.type });
  }
  return operations;
}

/** Where an operation is served: its path's parameters, its fastify route, and whether it reads a body. */
export function routingOf(meta: Pick<OpenApiMeta, 'method' | 'path'>): Pick<Operation, 'pathKeys' | 'route' | 'hasBody'> {
  return {
    pathKeys: [...meta.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!),
    route: meta.path.replace(/\{(\w+)\}/g, ':$1'),
    hasBody: meta.method === 'POST' || meta.method === 'PUT' || meta.method === 'PATCH',
  };
}
