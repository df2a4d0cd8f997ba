/**
 * Compiled serializers for REST successes. Fastify turns a route's response schema into a fast-json-stringify
 * function, several times faster than JSON.stringify on our shapes (the agent read path spent ~11 µs of its
 * budget in JSON.stringify). The schemas are the OpenAPI document's own — the same zod schemas, once more
 * not written by hand — each with the components it reaches. The data has already passed the
 * operation's zod output schema, so it has exactly the documented shape.
 *
 * Each serializer is compiled on its route's first success, not at start-up: compiling all of them (and loading
 * fast-json-stringify and ajv to do it) was about a fifth of the server's start. The compiled function is the one
 * fastify's own compiler makes (@fastify/fast-json-stringify-compiler), so the bytes sent are the same; the compiled
 * server's build has made most of them already (fast-json-stringify's standalone code), and loads each on first use.
 */
import type { FastifyInstance } from 'fastify';
import { builtSerializer, lazySerializerCompiler } from './schema-compilers.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface OpenApiLike {
  paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, { content?: Record<string, { schema?: Json }> }> }>>;
  components?: { schemas?: Record<string, Json> };
}

const COMPONENT_REF = '#/components/schemas/';
/** The key of a route's response schema in the route itself (what fastify hands the serializer compiler). */
const RESPONSE_KEY = 'x-moxxy-response';

/**
 * Each operation's JSON success schema, by `${operationId} ${status}`, as JSON text: self-contained, with the
 * components it reaches under its own `$defs`. The compiled server has them in its build (a small file, read at start
 * instead of the whole document: src/http/openapi-document.ts); without a build they come from the document made at
 * start.
 */
export function responseSchemaTexts(openApi: object): Record<string, string> {
  const document = openApi as OpenApiLike;
  const components = document.components?.schemas ?? {};
  const texts: Record<string, string> = {};
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations)) {
      if (!operation.operationId) continue;
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const schema = response.content?.['application/json']?.schema;
        if (status.startsWith('2') && schema) texts[`${operation.operationId} ${status}`] = JSON.stringify(selfContained(schema, components));
      }
    }
  }
  return texts;
}

function selfContained(schema: Json, components: Record<string, Json>): Json {
  const defs: Record<string, Json> = {};
  const visit = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const copy: Record<string, Json> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(COMPONENT_REF)) {
        const name = value.slice(COMPONENT_REF.length);
        if (!(name in defs)) {
          defs[name] = null; // a component reaching itself again finds it here
          defs[name] = visit(components[name] ?? null);
        }
        copy[key] = `#/$defs/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      } else {
        copy[key] = visit(value);
      }
    }
    return copy;
  };
  const root = visit(schema) as Record<string, Json>;
  // Beside a $ref other keywords are ignored (JSON Schema draft 7): a root that only refers is its target.
  const only = typeof root.$ref === 'string' && Object.keys(root).length === 1 ? root.$ref.slice('#/$defs/'.length) : undefined;
  const body = only === undefined ? root : (defs[only.replaceAll('~1', '/').replaceAll('~0', '~')] as Record<string, Json>);
  return Object.keys(defs).length === 0 ? body : { ...body, $defs: defs };
}

/**
 * Installs the lazy serializer compiler, and returns each operation's response schema for its route: a reference
 * to its text, which the compiler parses and compiles on the route's first success.
 */
export function installResponseSchemas(app: FastifyInstance, texts: Record<string, string>): (operationId: string, status: number) => Json | undefined {
  const keyOf = (schema: unknown) => (schema as { [RESPONSE_KEY]?: string } | null)?.[RESPONSE_KEY];
  app.setSerializerCompiler(
    lazySerializerCompiler(
      {},
      undefined,
      (schema) => {
        const key = keyOf(schema);
        return key === undefined ? schema : (JSON.parse(texts[key]!) as unknown);
      },
      // The compiled server's build made most of them (src/http/schema-compilers.ts).
      (schema) => {
        const key = keyOf(schema);
        return key === undefined ? undefined : builtSerializer(key);
      },
    ),
  );
  return (operationId, status) => {
    const key = `${operationId} ${status}`;
    return key in texts ? { [RESPONSE_KEY]: key } : undefined;
  };
}
