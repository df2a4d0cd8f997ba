import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../src/domain/errors.ts';
import { openAiErrorCode } from '../src/domain/openai.ts';
import { SCOPES, type Scope } from '../src/domain/scopes.ts';
import type { AppRouter } from '../src/routers/app.ts';
import { assertMatchesOpenApi, openApiDocument } from './helpers/openapi.ts';
import { runCli } from './helpers/process.ts';
import { makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

// Long enough to bind a non-loopback address (32 characters at least).
const INTERNAL_TOKEN = 'internal-token-for-the-auth-tests-0123456789';
const internal = { 'x-moxxy-internal-token': INTERNAL_TOKEN };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface SecuredOperation {
  id: string;
  method: string;
  path: string;
  scope: Scope;
  sse: boolean;
}

/** Every operation of openapi.json that needs credentials, with placeholder path parameters. */
const secured: SecuredOperation[] = Object.entries(openApiDocument.paths).flatMap(([template, item]) =>
  Object.entries(item as Record<string, any>).flatMap(([method, op]) => {
    const bearerScheme = (op.security as Array<Record<string, string[]>>).find((s) => s.bearerToken);
    if (!bearerScheme) return [];
    return [{
      id: op.operationId as string,
      method: method.toUpperCase(),
      path: template.replace(/\{\w+\}/g, 'zz-placeholder'),
      scope: bearerScheme.bearerToken![0] as Scope,
      sse: Object.values(op.responses as Record<string, { content?: Record<string, unknown> }>).some((r) => r.content?.['text/event-stream']),
    }];
  }),
);

/** Sends the operation with a minimal body; streams are read only up to their status. Every answer is checked against openapi.json. */
async function call(server: TestServer, op: SecuredOperation, headers: Record<string, string>) {
  const hasBody = ['POST', 'PUT', 'PATCH'].includes(op.method);
  if (!op.sse) return server.api.request(op.method, op.path, { headers, ...(hasBody ? { body: {} } : {}) });
  const controller = new AbortController();
  const response = await fetch(`${server.url}${op.path}`, {
    method: op.method,
    headers: { ...headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
    ...(hasBody ? { body: '{}' } : {}),
    signal: controller.signal,
  });
  const contentType = response.headers.get('content-type');
  if (contentType?.includes('text/event-stream')) {
    controller.abort();
    return { status: response.status, headers: response.headers, body: undefined as any };
  }
  const body = await response.json();
  assertMatchesOpenApi(op.method, op.path, response.status, contentType, body);
  return { status: response.status, headers: response.headers, body };
}

const otherScope = (scope: Scope): Scope => (scope === 'events:read' ? 'agents:read' : 'events:read');

/** The OpenAI door answers refusals as OpenAI does (src/domain/openai.ts): its codes as OpenAI names them, no details. */
const speaksOpenAi = (op: SecuredOperation) => op.id.startsWith('openai.');
const codeAt = (op: SecuredOperation, code: ErrorCode) => (speaksOpenAi(op) ? openAiErrorCode(code) : code);

describe('auth with an internal token configured', () => {
  let server: TestServer;
  const tokenFor = new Map<Scope, string>();

  beforeAll(async () => {
    server = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
    for (const scope of SCOPES) {
      const res = await server.api.post('/api/tokens', { name: `only ${scope}`, scopes: [scope] }, { headers: internal });
      expect(res.status).toBe(201);
      tokenFor.set(scope, res.body.data.token);
    }
  });
  afterAll(() => server.close());

  it('walks a non-trivial set of secured operations, including the SSE streams', () => {
    expect(secured.length).toBeGreaterThan(30);
    expect(secured.filter((op) => op.sse).map((op) => op.id)).toEqual(
      expect.arrayContaining(['events.stream', 'chat.streamGet', 'chat.streamPost', 'runs.eventStream']),
    );
  });

  it('answers 401 UNAUTHORIZED with WWW-Authenticate to every secured operation called without credentials', async () => {
    for (const op of secured) {
      const res = await call(server, op, {});
      expect(res.status, `${op.method} ${op.path}`).toBe(401);
      expect(res.body.error.code).toBe(codeAt(op, 'UNAUTHORIZED'));
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="moxxy"');
    }
  });

  it('answers 401 to a wrong internal token and to an unknown bearer token', async () => {
    for (const op of secured) {
      const wrongInternal = await call(server, op, { 'x-moxxy-internal-token': `${INTERNAL_TOKEN}x` });
      expect(wrongInternal.status, `${op.method} ${op.path}`).toBe(401);
      const unknown = await call(server, op, bearer('mox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'));
      expect(unknown.status, `${op.method} ${op.path}`).toBe(401);
      expect(unknown.body.error.code).toBe(codeAt(op, 'UNAUTHORIZED'));
    }
  });

  it('answers 403 FORBIDDEN with the required scope to a token lacking it', async () => {
    for (const op of secured) {
      const res = await call(server, op, bearer(tokenFor.get(otherScope(op.scope))!));
      expect(res.status, `${op.method} ${op.path}`).toBe(403);
      const scopeNamed = speaksOpenAi(op) ? { message: expect.stringContaining(`'${op.scope}'`) } : { details: { required_scope: op.scope } };
      expect(res.body.error).toMatchObject({ code: codeAt(op, 'FORBIDDEN'), ...scopeNamed });
    }
  });

  it('lets a token with exactly the required scope, a `*` token (but for `admin` operations) and the internal token through', async () => {
    for (const op of secured) {
      const wildcard = bearer(tokenFor.get('*')!);
      for (const headers of [bearer(tokenFor.get(op.scope)!), ...(op.scope === 'admin' ? [] : [wildcard]), internal]) {
        const res = await call(server, op, headers);
        expect([401, 403], `${op.method} ${op.path} answered ${res.status}`).not.toContain(res.status);
      }
      if (op.scope === 'admin') {
        const res = await call(server, op, wildcard);
        expect(res.status, `${op.method} ${op.path} with a \`*\` token`).toBe(403);
      }
    }
  });

  it('serves public operations without credentials', async () => {
    expect((await server.api.get('/api/health')).status).toBe(200);
    expect((await server.api.get('/api/openapi.json')).status).toBe(200);
    expect((await server.api.get('/v1/health')).status).toBe(200);
  });

  describe('over tRPC', () => {
    const trpc = (headers: Record<string, string>) =>
      createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${server.url}/trpc`, transformer: superjson, headers })] });

    async function codeOf(promise: Promise<unknown>): Promise<string> {
      try {
        await promise;
        return 'OK';
      } catch (error) {
        expect(error).toBeInstanceOf(TRPCClientError);
        return (error as TRPCClientError<AppRouter>).data?.code as string;
      }
    }

    it('gives queries and mutations the same codes: UNAUTHORIZED, FORBIDDEN, or through', async () => {
      const create = (headers: Record<string, string>, name: string) => trpc(headers).agents.create.mutate({ name });
      expect(await codeOf(trpc({}).agents.list.query({}))).toBe('UNAUTHORIZED');
      expect(await codeOf(trpc(bearer('mox_nope')).agents.list.query({}))).toBe('UNAUTHORIZED');
      expect(await codeOf(trpc(bearer(tokenFor.get('chat')!)).agents.list.query({}))).toBe('FORBIDDEN');
      expect(await codeOf(trpc(bearer(tokenFor.get('agents:read')!)).agents.list.query({}))).toBe('OK');
      expect(await codeOf(create({}, 'trpc-a'))).toBe('UNAUTHORIZED');
      expect(await codeOf(create(bearer(tokenFor.get('agents:read')!), 'trpc-a'))).toBe('FORBIDDEN');
      expect(await codeOf(create(bearer(tokenFor.get('agents:write')!), 'trpc-a'))).toBe('OK');
      expect(await codeOf(create(internal, 'trpc-b'))).toBe('OK');
      expect(await codeOf(trpc({}).system.health.query())).toBe('OK');
    });

    it('checks subscriptions (SSE at /trpc/<path>) before the stream opens', async () => {
      const input = encodeURIComponent(JSON.stringify(superjson.serialize({ agent_id: 'nobody' })));
      const open = async (headers: Record<string, string>) => {
        const controller = new AbortController();
        const response = await fetch(`${server.url}/trpc/events.subscribe?input=${input}`, { headers, signal: controller.signal });
        const text = response.headers.get('content-type')?.includes('event-stream') ? '' : await response.text();
        controller.abort();
        return { status: response.status, text };
      };
      const anonymous = await open({});
      expect(anonymous.status).toBe(401);
      expect(anonymous.text).toContain('UNAUTHORIZED');
      const lacking = await open(bearer(tokenFor.get('chat')!));
      expect(lacking.status).toBe(403);
      expect(lacking.text).toContain('FORBIDDEN');
      expect((await open(bearer(tokenFor.get('events:read')!))).status).toBe(200);
    });
  });
});

describe('auth without an internal token (loopback)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('lets requests without credentials through, as seed 000\'s "no authentication by default"', async () => {
    expect((await server.api.get('/api/agents')).status).toBe(200);
    expect((await server.api.get('/api/tokens')).status).toBe(200);
  });

  it('still checks credentials that are sent: a wrong token is 401, a token lacking the scope 403', async () => {
    const created = await server.api.post('/api/tokens', { name: 'reader', scopes: ['agents:read'] });
    const token = created.body.data.token as string;
    expect((await server.api.get('/api/agents', { headers: bearer(token) })).status).toBe(200);
    expect((await server.api.get('/api/tokens', { headers: bearer(token) })).status).toBe(403);
    expect((await server.api.get('/api/agents', { headers: bearer(`${token}x`) })).status).toBe(401);
    expect((await server.api.get('/api/agents', { headers: internal })).status).toBe(401);
  });
});

describe('binding a non-loopback address', () => {
  it('`moxxy serve` refuses to start without an internal token, with a clear message', async () => {
    const home = makeTempHome();
    const result = await runCli(['serve'], { HOST: '0.0.0.0', PORT: '0', MOXXY_HOME: home, MOXXY_INTERNAL_TOKEN: '' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Refusing to listen on 0.0.0.0 without authentication: set MOXXY_INTERNAL_TOKEN');
  });

  it('starts with an internal token', async () => {
    const server = await startTestServer({ host: '0.0.0.0' }, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
    try {
      const url = server.url.replace('0.0.0.0', '127.0.0.1');
      expect((await fetch(`${url}/api/agents`, { headers: internal })).status).toBe(200);
      expect((await fetch(`${url}/api/agents`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
