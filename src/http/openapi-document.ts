/** The server's OpenAPI document, built once from the app router and the raw routes, and the raw route that serves it. */
import { appRouter } from '../routers/app.ts';
import { VERSION } from '../services/system.ts';
import { buildOpenApiDocument } from './openapi.ts';
import type { RawRouteSpec } from './raw-routes.ts';
import { responseSchemaTexts } from './serializers.ts';
import { readBuildJson } from './server-build.ts';
import { rawRoutes } from './routes/index.ts';
import { openApiRoute } from './routes/system.ts';

/**
 * Where a served document says its API is: where it was fetched from. A relative URL resolves against the document's
 * own, so the docs page's "Try it out" (under a same-origin CSP) and tools that read the document call this server on
 * whatever host, port and scheme it was reached by. The committed file names the default address.
 */
export const SERVED_SERVERS = [{ url: '/', description: 'This server (where this document was fetched from)' }];

let cached: string | undefined;

/** Every raw route the server serves and documents: openapi.json's own first, then src/http/routes/index.ts's. */
export const documentedRawRoutes: RawRouteSpec[] = [openApiRoute(() => openApiJson()), ...rawRoutes];

export function openApiDocument() {
  return buildOpenApiDocument(appRouter, documentedRawRoutes, { version: VERSION });
}

/**
 * The document the compiled server was built with (scripts/build-server.mjs writes it beside the bundle, from the
 * same sources, and bin/moxxy.cjs names the build's directory): start-up then skips generating it.
 */
function prebuiltDocument(): object | undefined {
  return readBuildJson<object>('openapi.json');
}

/**
 * Each operation's JSON success schema as its serializer compiles it (src/http/serializers.ts): in the compiled
 * server from the build (scripts/build-server.mjs writes them beside the bundle with `moxxy openapi
 * --response-schemas`), a small file read at start instead of the whole document; else from the document.
 */
export function responseSchemas(): Record<string, string> {
  // A build without the file: made from the document, as without a build.
  return readBuildJson<Record<string, string>>(RESPONSE_SCHEMAS_FILE) ?? responseSchemaTexts(JSON.parse(openApiJson()) as object);
}

/** The file in the build holding responseSchemas(). */
export const RESPONSE_SCHEMAS_FILE = 'response-schemas.json';

/** The document as served: compact JSON, computed on first use. */
export function openApiJson(): string {
  cached ??= JSON.stringify({ ...(prebuiltDocument() ?? openApiDocument()), servers: SERVED_SERVERS });
  return cached;
}

/** responseSchemas() for the build's file (`moxxy openapi --response-schemas`). */
export function renderResponseSchemasFile(): string {
  return JSON.stringify(responseSchemaTexts(openApiDocument()));
}

/** The document as committed in openapi/openapi.json. */
export function renderOpenApiFile(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
