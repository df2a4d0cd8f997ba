import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblem, lintOpenApi } from '../scripts/lint-openapi.ts';
import { renderDialectOpenApiFile } from '../src/http/dialect-openapi.ts';
import { muxiDialect } from '../src/http/dialects/muxi/index.ts';
import { runCli } from './helpers/process.ts';
import { openApiDocument } from './helpers/openapi.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const committed = readFileSync(new URL('../openapi/muxi.openapi.json', import.meta.url), 'utf8');
const doc = JSON.parse(committed);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
  METHODS.filter((method) => item[method]).map((method) => ({ path, method, op: item[method] })),
);

describe('muxi.openapi.json (the MUXI dialect\'s document)', () => {
  it('is served at /api/v1/openapi.json exactly as committed in openapi/muxi.openapi.json', async () => {
    const res = await server.api.get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(doc);
    expect(renderDialectOpenApiFile(muxiDialect)).toBe(committed);
  });

  it('passes an OpenAPI 3.1 validator with zero errors', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('lints with no errors (Redocly recommended ruleset)', async () => {
    const { errors } = await lintOpenApi(committed, 'openapi/muxi.openapi.json');
    expect(errors.map(formatProblem)).toEqual([]);
  });

  it('has seed 002\'s endpoints under /api/v1, each the /api operation of the same operationId', () => {
    expect(operations.map(({ path, method }) => `${method.toUpperCase()} ${path}`)).toEqual([
      'GET /api/v1/agents',
      'POST /api/v1/agents',
      'GET /api/v1/agents/{agent_id}',
      'DELETE /api/v1/agents/{agent_id}',
      'POST /api/v1/chat/{agent_id}',
      'GET /api/v1/chat/{agent_id}/history',
      'GET /api/v1/memory/{agent_id}',
      'POST /api/v1/memory/{agent_id}',
      'GET /api/v1/openapi.json',
    ]);
    const apiOperationIds = Object.values(openApiDocument.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    for (const { op } of operations) expect(apiOperationIds).toContain(op.operationId);
  });

  it('lists the API key first among the credentials of every secured operation, with the /api scope', () => {
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/api/v1/agents'].post.security).toEqual([{ apiKey: [] }, { internalToken: [] }, { bearerToken: ['agents:write'] }]);
    expect(doc.paths['/api/v1/openapi.json'].get.security).toEqual([]);
  });

  it('answers bare bodies, and every failure as seed 002\'s error with the codes its status can carry', () => {
    const created = doc.paths['/api/v1/agents'].post.responses['201'].content['application/json'].schema;
    expect(created).toEqual({ $ref: '#/components/schemas/MuxiAgentCreated' });
    expect(doc.components.schemas.MuxiAgentCreated.required).toEqual(['id', 'name', 'description', 'model', 'status']);
    const codeOf = (ref: string) => doc.components.schemas[ref.split('/').at(-1)!].properties.error.properties.code.enum;
    const chat = doc.paths['/api/v1/chat/{agent_id}'].post.responses;
    expect(codeOf(chat['400'].content['application/json'].schema.$ref)).toEqual(['invalid_request']);
    expect(codeOf(chat['401'].content['application/json'].schema.$ref)).toEqual(['authentication_error']);
    expect(codeOf(chat['404'].content['application/json'].schema.$ref)).toEqual(['not_found']);
    expect(codeOf(chat['429'].content['application/json'].schema.$ref)).toEqual(['rate_limit_exceeded']);
    expect(chat['503'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/InternalError' });
    expect(doc.components.headers['X-RateLimit-Reset'].description).toBe('When the window resets, in UTC epoch seconds (Retry-After says how long to wait).');
    for (const { path, method, op } of operations) {
      expect(Object.keys(op.responses), `${method} ${path}`).toContain('500');
    }
  });

  it('gives a generated TypeScript client plain models: an agent is id, name, description and model', async () => {
    const types = astToString(await openapiTS(doc as OpenAPI3));
    expect(types).toMatch(/MuxiAgent: \{[^}]*id: string;[^}]*name: string;[^}]*description: string;[^}]*model: components\["schemas"\]\["ModelSettings"\];/s);
    expect(types).not.toContain('unknown[]');
  });

  it('npm run openapi:check checks it beside openapi.json', async () => {
    const result = await runCli(['openapi', '--check'], {});
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('openapi/muxi.openapi.json is up to date');
    expect(result.code).toBe(0);
  });
});
