/** The server's OpenAPI document, built once from the app router and the raw routes. */
import { appRouter } from '../routers/app.ts';
import { VERSION } from '../services/system.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { rawRoutes } from './routes/index.ts';

/**
 * Where a served document says its API is: where it was fetched from. A relative URL resolves against the document's
 * own, so the docs page's "Try it out" (under a same-origin CSP) and tools that read the document call this server on
 * whatever host, port and scheme it was reached by. The committed file names the default address.
 */
export const SERVED_SERVERS = [{ url: '/', description: 'This server (where this document was fetched from)' }];

let cached: string | undefined;

export function openApiDocument() {
  return buildOpenApiDocument(appRouter, rawRoutes, { version: VERSION });
}

/** The document as served: compact JSON, computed on first use. */
export function openApiJson(): string {
  cached ??= JSON.stringify({ ...openApiDocument(), servers: SERVED_SERVERS });
  return cached;
}

/** The document as committed in openapi/openapi.json. */
export function renderOpenApiFile(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
