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
  it('is served at /api/openapi.json exactly as committed in openapi/openapi.json', async () => {
    const res = await server.api.get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(committed));
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
