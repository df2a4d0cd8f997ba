/** The OpenAPI documents committed under openapi/: /api's, then each dialect's, with what renders each as committed. */
import { renderDialectOpenApiFile } from './dialect-openapi.ts';
import { DIALECTS } from './dialects/index.ts';
import { renderOpenApiFile } from './openapi-document.ts';

export interface OpenApiFile {
  /** Relative to the repository root. */
  path: string;
  render(): string;
}

export const OPENAPI_FILES: readonly OpenApiFile[] = [
  { path: 'openapi/openapi.json', render: renderOpenApiFile },
  ...DIALECTS.map((dialect) => ({ path: `openapi/${dialect.name}.openapi.json`, render: () => renderDialectOpenApiFile(dialect) })),
];
