/** The server's OpenAPI document, built once from the app router and the raw routes. */
import { appRouter } from '../routers/app.ts';
import { VERSION } from '../services/system.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { rawRoutes } from './routes/index.ts';

let cached: string | undefined;

export function openApiDocument() {
  return buildOpenApiDocument(appRouter, rawRoutes, { version: VERSION });
}

/** The document as served: compact JSON, computed on first use. */
export function openApiJson(): string {
  cached ??= JSON.stringify(openApiDocument());
  return cached;
}

/** The document as committed in openapi/openapi.json. */
export function renderOpenApiFile(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
