/**
 * A dialect's OpenAPI 3.1 document: its routes, documented as openapi.json documents /api's (src/http/openapi.ts),
 * with the dialect's codec: bare answers, its error bodies, its security schemes and its X-RateLimit-Reset.
 */
import { z } from 'zod';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { AnyRouter } from '@trpc/server';
import { appRouter } from '../routers/app.ts';
import { VERSION } from '../services/system.ts';
import { dialectOperations } from './dialect-adapter.ts';
import type { Dialect } from './dialects/dialect.ts';
import {
  boundIntegers,
  HEADER_COMPONENTS,
  rawRouteConfig,
  routeConfig,
  TAGS,
  type DocumentCodec,
  type OpenApiDocumentOptions,
} from './openapi.ts';
import { defineRawRoute, type RawRouteSpec } from './raw-routes.ts';
import { JSON_CONTENT_TYPE } from './content-type.ts';

/** `GET <prefix>/openapi.json`: the dialect's document, raw. */
export function dialectDocumentRoute(dialect: Dialect): RawRouteSpec {
  return defineRawRoute({
    id: 'system.openapi',
    method: 'GET',
    path: `${dialect.prefix}/openapi.json`,
    tags: ['system'],
    summary: 'This OpenAPI 3.1 document (raw JSON)',
    scope: null,
    rateLimit: false,
    responses: {
      200: { description: 'The OpenAPI 3.1 document', contentType: 'application/json', schema: z.record(z.string(), z.unknown()) },
    },
    handler: async (_input, _request, reply) => reply.type(JSON_CONTENT_TYPE).send(dialectOpenApiJson(dialect)),
  });
}

export function buildDialectDocument(router: AnyRouter, dialect: Dialect, options: OpenApiDocumentOptions) {
  const { openApi } = dialect;
  const registry = new OpenAPIRegistry();
  for (const [name, scheme] of Object.entries(openApi.securitySchemes)) registry.registerComponent('securitySchemes', name, scheme);
  for (const [name, header] of Object.entries(HEADER_COMPONENTS)) registry.registerComponent('headers', name, header);
  registry.register(String(openApi.error.meta()?.id), openApi.error);
  const codec: DocumentCodec = {
    success: (output) => output,
    security: (scope) => (scope === null ? [] : openApi.security(scope)),
    errorOf: openApi.errorOf,
  };
  const operations = dialectOperations(router, dialect).map(({ operation }) => operation);
  for (const operation of operations) registry.registerPath(routeConfig(operation, registry, codec));
  registry.registerPath(rawRouteConfig(dialectDocumentRoute(dialect), openApi.errorOf));
  const tags = new Set(['system', ...operations.flatMap((operation) => operation.meta.tags)]);
  return boundIntegers(
    new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: { title: openApi.title, version: options.version, description: openApi.description, license: { name: 'MIT', identifier: 'MIT' } },
      servers: [{ url: options.serverUrl ?? 'http://127.0.0.1:17890' }],
      tags: TAGS.filter((tag) => tags.has(tag.name)),
    }),
  );
}

export function dialectOpenApiDocument(dialect: Dialect) {
  return buildDialectDocument(appRouter, dialect, { version: VERSION });
}

const served = new Map<Dialect, string>();

/** The document as served: compact JSON, computed on first use. */
export function dialectOpenApiJson(dialect: Dialect): string {
  let json = served.get(dialect);
  if (json === undefined) served.set(dialect, (json = JSON.stringify(dialectOpenApiDocument(dialect))));
  return json;
}

/** The document as committed in openapi/<name>.openapi.json. */
export function renderDialectOpenApiFile(dialect: Dialect): string {
  return `${JSON.stringify(dialectOpenApiDocument(dialect), null, 2)}\n`;
}
