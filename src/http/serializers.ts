/**
 * Compiled serializers for REST successes. Fastify turns a route's response schema into a fast-json-stringify
 * function, several times faster than JSON.stringify on our shapes (the agent read path spent ~11 µs of its
 * budget in JSON.stringify). The schemas are the OpenAPI document's own — the same zod schemas, once more
 * not written by hand — with its components shared under one id. The data has already passed the
 * operation's zod output schema, so it has exactly the documented shape.
 */
import type { FastifyInstance } from 'fastify';

export const SHARED_SCHEMAS_ID = 'moxxy';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface OpenApiLike {
  paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, { content?: Record<string, { schema?: Json }> }> }>>;
  components?: { schemas?: Record<string, Json> };
}

function rewriteRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: { [key: string]: Json } = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = key === '$ref' && typeof inner === 'string' ? inner.replace('#/components/schemas/', `${SHARED_SCHEMAS_ID}#/$defs/`) : rewriteRefs(inner);
  }
  return out;
}

/** Registers the shared components and returns each operation's JSON success schema by operationId and status. */
export function installResponseSchemas(app: FastifyInstance, document: OpenApiLike): (operationId: string, status: number) => Json | undefined {
  app.addSchema({ $id: SHARED_SCHEMAS_ID, $defs: rewriteRefs((document.components?.schemas ?? {}) as Json) });
  const byOperation = new Map<string, Json>();
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations)) {
      if (!operation.operationId) continue;
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const schema = response.content?.['application/json']?.schema;
        if (status.startsWith('2') && schema) byOperation.set(`${operation.operationId} ${status}`, rewriteRefs(schema));
      }
    }
  }
  return (operationId, status) => byOperation.get(`${operationId} ${status}`);
}
