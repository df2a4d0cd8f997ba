import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOperations } from '../src/http/operations.ts';
import { renderOpenApiFile } from '../src/http/openapi-document.ts';
import { appRouter } from '../src/routers/app.ts';
import { openApiDocument } from './helpers/openapi.ts';
import { runCli } from './helpers/process.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const committed = readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('openapi.json', () => {
  it('is served at /api/openapi.json as committed in openapi/openapi.json, naming the server it came from instead of the default address', async () => {
    const res = await server.api.get('/api/openapi.json');
    expect(res.status).toBe(200);
    const { servers, ...served } = res.body;
    const { servers: committedServers, ...rest } = JSON.parse(committed);
    expect(served).toEqual(rest);
    expect(committedServers).toEqual([{ url: 'http://127.0.0.1:17890' }]);
    expect(servers).toEqual([{ url: '/', description: 'This server (where this document was fetched from)' }]);
    expect(renderOpenApiFile()).toBe(committed);
  });

  it('passes an OpenAPI 3.1 validator with zero errors', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(committed));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every operation fully: id, tag, summary, security, success and error responses', () => {
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(openApiDocument.paths)) {
      for (const method of METHODS) {
        const op = (item as Record<string, any>)[method];
        if (!op) continue;
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, where).toMatch(/^[a-z][a-zA-Z]*\.[a-zA-Z]+$/);
        expect(operationIds.has(op.operationId), `${where} repeats ${op.operationId}`).toBe(false);
        operationIds.add(op.operationId);
        expect(op.tags?.length, where).toBeGreaterThan(0);
        expect(op.summary, where).toBeTruthy();
        expect(Array.isArray(op.security), where).toBe(true);
        const statuses = Object.keys(op.responses);
        expect(statuses.some((s) => s.startsWith('2')), where).toBe(true);
        expect(statuses, where).toContain('500');
        for (const pathParam of path.match(/\{\w+\}/g) ?? []) {
          expect(op.parameters?.some((p: { in: string; name: string }) => p.in === 'path' && `{${p.name}}` === pathParam), `${where} ${pathParam}`).toBe(true);
        }
      }
    }
    for (const operation of listOperations(appRouter)) expect(operationIds).toContain(operation.id);
  });

  it('declares the internal-token and bearer schemes and lists each operation\'s scope', () => {
    const schemes = (openApiDocument.components as any).securitySchemes;
    expect(schemes.internalToken).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Moxxy-Internal-Token' });
    expect(schemes.bearerToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(openApiDocument.paths['/api/agents']!.post!).toMatchObject({ security: [{ internalToken: [] }, { bearerToken: ['agents:write'] }] });
    expect((openApiDocument.paths['/api/health']!.get as any).security).toEqual([]);
  });

  it('names components from the schemas\' ids and wraps successes in the envelope', () => {
    const schemas = (openApiDocument.components as any).schemas;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['Agent', 'AgentCreate', 'AgentList', 'Pagination', 'ErrorEnvelope', 'Health']));
    const created = (openApiDocument.paths['/api/agents']!.post as any).responses['201'].content['application/json'].schema;
    expect(created.properties.data).toEqual({ $ref: '#/components/schemas/Agent' });
    const conflict = (openApiDocument.paths['/api/agents']!.post as any).responses['409'].content['application/json'].schema;
    expect(conflict).toEqual({ $ref: '#/components/schemas/AgentExistsError' });
    expect(schemas.AgentExistsError.properties.error.properties.code.enum).toEqual(['AGENT_EXISTS']);
    // Two codes under one status: a union of the per-code components.
    const badRequest = (openApiDocument.paths['/api/agents']!.post as any).responses['400'].content['application/json'].schema;
    expect(badRequest.anyOf).toEqual(
      expect.arrayContaining([{ $ref: '#/components/schemas/ValidationError' }, { $ref: '#/components/schemas/InvalidJsonError' }]),
    );
  });

  it('npm run openapi:check passes on the committed file', async () => {
    const result = await runCli(['openapi', '--check'], {});
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('the document states the server\'s real rules', () => {
  const doc = JSON.parse(committed);
  const schemas = doc.components.schemas;

  it('bounds every integer as zod does (safe integers), and the server takes the largest offset it states', async () => {
    const offset = doc.paths['/api/agents'].get.parameters.find((p: any) => p.name === 'offset').schema;
    expect(offset).toMatchObject({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
    expect((await server.api.get(`/api/agents?offset=${Number.MAX_SAFE_INTEGER}`)).status).toBe(200);
    expect((await server.api.get(`/api/agents?offset=${Number.MAX_SAFE_INTEGER + 2}`)).status).toBe(400);
  });

  it('says expires_in and expires_at exclude each other, as the server refuses both', async () => {
    expect(schemas.TokenCreate.not).toEqual({ required: ['expires_in', 'expires_at'] });
    const both = await server.api.post('/api/tokens', { name: 'both', scopes: ['chat'], expires_in: 60, expires_at: '2999-01-01T00:00:00Z' });
    expect(both.status).toBe(400);
  });

  it('states the channel token rule as a pattern the server agrees with', async () => {
    const pattern = new RegExp(schemas.HttpChannelConfig.properties.authToken.pattern);
    for (const token of ['fifteen-chars15', 'sixteen-chars-16', '${vault:T}', 'pre-${vault:TOKEN}']) {
      const res = await server.api.post('/api/agents/default/channels', { channel: 'rules', type: 'http', config: { authToken: token, allowedTools: [] } });
      expect([token, res.status === 201]).toEqual([token, pattern.test(token)]);
    }
    await server.api.delete('/api/agents/default/channels/rules');
  });

  it('names the key rules of MCP env and headers', () => {
    const body = schemas.McpAddServerBody.properties;
    expect(new RegExp(body.env.propertyNames.pattern).test('')).toBe(false);
    expect(new RegExp(body.env.propertyNames.pattern).test('API_KEY')).toBe(true);
    expect(new RegExp(body.headers.propertyNames.pattern).test('')).toBe(false);
  });

  it('marks a PATCH body of optional fields optional: no body is a no-op, a JSON null is refused', async () => {
    expect(doc.paths['/api/agents/{name}'].patch.requestBody.required).toBe(false);
    expect(doc.paths['/api/agents'].post.requestBody.required).toBe(true);
    expect((await server.api.request('PATCH', '/api/agents/default')).status).toBe(200);
    const nullBody = await server.api.request('PATCH', '/api/agents/default', { rawBody: 'null', headers: { 'content-type': 'application/json' } });
    expect(nullBody.status).toBe(400);
    expect(nullBody.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('declares the channel token on /v1/turn, /v1/turn/stream and /v1/turn/audio', () => {
    expect(doc.components.securitySchemes.channelToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const path of ['/v1/turn', '/v1/turn/stream', '/v1/turn/audio']) expect(doc.paths[path].post.security).toEqual([{ channelToken: [] }]);
  });
});
