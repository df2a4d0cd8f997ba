/**
 * Compiled serializers for REST successes. Fastify turns a route's response schema into a fast-json-stringify
 * function, several times faster than JSON.stringify on our shapes (the agent read path spent ~11 µs of its
 * budget in JSON.stringify). The schemas are the OpenAPI document's own — the same zod schemas, once more
 * not written by hand — with its components shared under one id. The data has already passed the
 * operation's zod output schema, so it has exactly the documented shape.
 *
 * Each serializer is compiled on its route's first success, not at start-up: compiling all of them (and loading
 * fast-json-stringify and ajv to do it) was about a fifth of the server's start. The compiled function is the one
 * fastify's own compiler makes (@fastify/fast-json-stringify-compiler, with the shared components as its
 * external schemas), so the bytes sent are the same.
 */
import type { FastifyInstance } from 'fastify';
import { lazySerializerCompiler } from './schema-compilers.ts';

export const SHARED_SCHEMAS_ID = 'moxxy';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface OpenApiLike {
  paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, { content?: Record<string, { schema?: Json }> }> }>>;
  components?: { schemas?: Record<string, Json> };
}

/**
 * Installs the lazy serializer compiler with the document's components shared under SHARED_SCHEMAS_ID, and returns
 * each operation's JSON success schema by operationId and status. `openApiJson` is the document's JSON text: its
 * component references are pointed at the shared id in the text, before the one parse.
 */
export function installResponseSchemas(app: FastifyInstance, openApiJson: string): (operationId: string, status: number) => Json | undefined {
  const document = JSON.parse(
    openApiJson.replaceAll('"$ref":"#/components/schemas/', `"$ref":"${SHARED_SCHEMAS_ID}#/$defs/`),
  ) as OpenApiLike;
  // The components go to the compiler as its external schemas directly: fastify's app.addSchema would deep-copy them.
  const shared = { [SHARED_SCHEMAS_ID]: { $id: SHARED_SCHEMAS_ID, $defs: document.components?.schemas ?? {} } };
  app.setSerializerCompiler(lazySerializerCompiler(shared));
  const byOperation = new Map<string, Json>();
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations)) {
      if (!operation.operationId) continue;
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const schema = response.content?.['application/json']?.schema;
        if (status.startsWith('2') && schema) byOperation.set(`${operation.operationId} ${status}`, schema);
      }
    }
  }
  return (operationId, status) => byOperation.get(`${operationId} ${status}`);
}
