import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import type { AppRouter } from '../src/routers/app.ts';
import { runCli } from './helpers/process.ts';
import { makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

// Every answer below goes through server.api, which checks it against its document: /api/v1 against the MUXI one.

const API_KEY = 'muxi-api-key-for-the-seed-002-tests-0123456789';
const withKey = { headers: { authorization: `Bearer ${API_KEY}` } };

/** The seed's create body, as written. */
const CUSTOM_AGENT = {
  id: 'custom-agent-1',
  name: 'Custom Agent',
  description: 'A custom-tailored agent',
  model: { provider: 'openai', name: 'gpt-4', parameters: { temperature: 0.7, max_tokens: 1024 } },
};

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('MUXI dialect (seed 002) on an open loopback server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  describe('agents', () => {
    it('creates an agent from the seed body as written and answers its id, display name, description and "created"', async () => {
      const res = await server.api.post('/api/v1/agents', CUSTOM_AGENT);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ ...CUSTOM_AGENT, status: 'created' });
      // The same agent on /api: the MUXI id is its name, the MUXI name its display name.
      const same = await server.api.get('/api/agents/custom-agent-1');
      expect(same.body.data).toMatchObject({ name: 'custom-agent-1', display_name: 'Custom Agent', description: 'A custom-tailored agent' });
    });

    it('gets one agent with its model, as the seed shows it', async () => {
      const res = await server.api.get('/api/v1/agents/custom-agent-1');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(CUSTOM_AGENT);
    });

    it('lists agents under "agents" (the seed\'s example) and "items" with "pagination" (its pagination section)', async () => {
      const res = await server.api.get('/api/v1/agents');
      expect(res.status).toBe(200);
      expect(res.body.agents).toContainEqual(CUSTOM_AGENT);
      expect(res.body.agents).toContainEqual({ id: 'default', name: 'default', description: expect.any(String), model: { provider: 'echo', name: 'echo', parameters: {} } });
      expect(res.body.items).toEqual(res.body.agents);
      expect(res.body.pagination).toEqual({ total: 2, limit: 50, offset: 0, next_offset: null });
      const page = await server.api.get('/api/v1/agents?limit=1&offset=0');
      expect(page.body.items).toHaveLength(1);
      expect(page.body.pagination).toEqual({ total: 2, limit: 1, offset: 0, next_offset: 1 });
    });

    it('names an agent by its id when it has no display name', async () => {
      await server.api.post('/api/v1/agents', { id: 'plain' });
      expect((await server.api.get('/api/v1/agents/plain')).body).toMatchObject({ id: 'plain', name: 'plain', description: '' });
      await server.api.patch('/api/agents/plain', { display_name: 'Plain Agent' });
      expect((await server.api.get('/api/v1/agents/plain')).body.name).toBe('Plain Agent');
    });

    it('deletes an agent and answers "deleted" with its id', async () => {
      await server.api.post('/api/v1/agents', { id: 'assistant-1', name: 'General Assistant', description: 'A general-purpose AI assistant' });
      const res = await server.api.delete('/api/v1/agents/assistant-1');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'deleted', id: 'assistant-1' });
      expect((await server.api.get('/api/v1/agents/assistant-1')).status).toBe(404);
    });
  });

  describe('chat', () => {
    it('sends the seed\'s message and answers id, content, timestamp, agent_id and session_id', async () => {
      const res = await server.api.post('/api/v1/chat/default', {
        message: "What's the weather like today?",
        user_id: 'user123',
        session_id: 'session456',
        context: { location: 'New York' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ agent_id: 'default', session_id: 'session456' });
      expect(res.body.id).toMatch(/^msg_/);
      expect(res.body.content).toContain("What's the weather like today?");
      expect(res.body.timestamp).toMatch(ISO_TIME);
    });

    it('answers the session\'s history for a user, oldest first, each message with id, role, content and timestamp', async () => {
      const res = await server.api.get('/api/v1/chat/default/history?user_id=user123&session_id=session456');
      expect(res.status).toBe(200);
      expect(res.body.has_more).toBe(false);
      expect(res.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
      for (const message of res.body.messages) expect(Object.keys(message).sort()).toEqual(['content', 'id', 'role', 'timestamp']);
      expect(res.body.messages[0]).toMatchObject({ role: 'user', content: "What's the weather like today?" });
    });

    it('pages history with limit and before, saying has_more', async () => {
      await server.api.post('/api/v1/chat/default', { message: 'Second question', user_id: 'user123', session_id: 'session456' });
      const last = await server.api.get('/api/v1/chat/default/history?user_id=user123&session_id=session456&limit=2');
      expect(last.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
      expect(last.body.messages[0].content).toBe('Second question');
      expect(last.body.has_more).toBe(true);
      const before = last.body.messages[0].timestamp;
      const older = await server.api.get(`/api/v1/chat/default/history?user_id=user123&session_id=session456&before=${encodeURIComponent(before)}`);
      expect(older.body.messages[0].content).toBe("What's the weather like today?");
      expect(older.body.messages).toHaveLength(2);
      expect(older.body.messages.every((m: { timestamp: string }) => m.timestamp < before)).toBe(true);
      expect(older.body.has_more).toBe(false);
    });
  });

  describe('memory', () => {
    it('adds the seed\'s memory and answers its id, "created" and created_at', async () => {
      const res = await server.api.post('/api/v1/memory/default', {
        user_id: 'user123',
        content: 'User prefers vegetarian food',
        metadata: { source: 'conversation', importance: 'high' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.stringMatching(/^mem_/), status: 'created', created_at: expect.stringMatching(ISO_TIME) });
    });

    it('queries a user\'s memories, best first, each with id, content, created_at and relevance_score', async () => {
      await server.api.post('/api/v1/memory/default', { user_id: 'user123', content: 'User lives in New York' });
      await server.api.post('/api/v1/memory/default', { user_id: 'someone-else', content: 'Someone else lives in New York too' });
      const res = await server.api.get('/api/v1/memory/default?user_id=user123&query=New%20York');
      expect(res.status).toBe(200);
      expect(res.body.memories[0]).toEqual({ id: expect.stringMatching(/^mem_/), content: 'User lives in New York', created_at: expect.stringMatching(ISO_TIME), relevance_score: 1 });
      expect(res.body.memories.map((m: { content: string }) => m.content)).not.toContain('Someone else lives in New York too');
    });

    it('returns at most 10 memories unless limit says otherwise', async () => {
      for (let i = 0; i < 12; i++) await server.api.post('/api/v1/memory/default', { user_id: 'counter', content: `Note number ${i} about tea` });
      expect((await server.api.get('/api/v1/memory/default?user_id=counter&query=tea')).body.memories).toHaveLength(10);
      expect((await server.api.get('/api/v1/memory/default?user_id=counter&query=tea&limit=12')).body.memories).toHaveLength(12);
    });
  });

  describe('errors, as seed 002 writes them', () => {
    it('answers a missing parameter with the seed\'s own example: invalid_request naming the param', async () => {
      const res = await server.api.get('/api/v1/chat/default/history?session_id=session456');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: {
          code: 'invalid_request',
          message: 'Missing required parameter: user_id',
          details: expect.objectContaining({ param: 'user_id', moxxy_code: 'VALIDATION_ERROR' }),
        },
      });
    });

    it('names the param of an invalid value and of an unknown field', async () => {
      const tooMany = await server.api.get('/api/v1/memory/default?user_id=u&query=tea&limit=500');
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error).toMatchObject({ code: 'invalid_request', details: { param: 'limit' } });
      expect(tooMany.body.error.message).toMatch(/^Invalid parameter limit: /);
      const unknown = await server.api.post('/api/v1/agents', { id: 'with-extra', colour: 'blue' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatchObject({ code: 'invalid_request', message: 'Unrecognized parameter: colour', details: { param: 'colour' } });
      const missingQuery = await server.api.get('/api/v1/memory/default?user_id=u');
      expect(missingQuery.body.error).toMatchObject({ message: 'Missing required parameter: query', details: { param: 'query' } });
    });

    it('answers bad JSON, a conflict, a wrong method and a body too large as invalid_request with their own statuses', async () => {
      const badJson = await server.api.request('POST', '/api/v1/agents', { rawBody: '{"id": ', headers: { 'content-type': 'application/json' } });
      expect([badJson.status, badJson.body.error.code, badJson.body.error.details.moxxy_code]).toEqual([400, 'invalid_request', 'INVALID_JSON']);
      const taken = await server.api.post('/api/v1/agents', { id: 'default' });
      expect([taken.status, taken.body.error.code, taken.body.error.details.moxxy_code]).toEqual([409, 'invalid_request', 'AGENT_EXISTS']);
      const put = await server.api.request('PUT', '/api/v1/agents');
      expect([put.status, put.body.error.code, put.headers.get('allow')]).toEqual([405, 'invalid_request', 'GET, HEAD, POST']);
      const large = await server.api.post('/api/v1/memory/default', { content: 'x'.repeat(70_000) });
      expect([large.status, large.body.error.code, large.body.error.details.moxxy_code]).toEqual([413, 'invalid_request', 'PAYLOAD_TOO_LARGE']);
    });

    it('answers not_found for an unknown agent and for an unknown route under /api/v1', async () => {
      const agent = await server.api.post('/api/v1/chat/nobody', { message: 'hi' });
      expect(agent.status).toBe(404);
      expect(agent.body.error).toEqual({ code: 'not_found', message: "Agent 'nobody' not found", details: { moxxy_code: 'AGENT_NOT_FOUND', name: 'nobody' } });
      for (const path of ['/api/v1/nothing-here', '/api/v1']) {
        const route = await server.api.get(path);
        expect([route.status, route.body.error.code, route.body.error.details.moxxy_code]).toEqual([404, 'not_found', 'ROUTE_NOT_FOUND']);
      }
    });

    it('answers permission_denied to a cross-site write', async () => {
      const res = await server.api.post('/api/v1/agents', { id: 'csrf' }, { headers: { 'sec-fetch-site': 'cross-site' } });
      expect([res.status, res.body.error.code, res.body.error.details.moxxy_code]).toEqual([403, 'permission_denied', 'CROSS_SITE_REQUEST']);
    });

    it('answers internal_error for a failure it did not expect, without internals', async () => {
      const failure = vi.spyOn(server.services.agents, 'list').mockRejectedValueOnce(new Error('disk on fire'));
      const res = await server.api.get('/api/v1/agents');
      failure.mockRestore();
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'internal_error', message: 'Internal server error', details: { moxxy_code: 'INTERNAL_ERROR' } } });
    });

    it('leaves /api\'s envelope alone', async () => {
      const res = await server.api.get('/api/agents/nobody');
      expect(res.body).toMatchObject({ success: false, error: { code: 'AGENT_NOT_FOUND' } });
    });
  });
});

describe('MUXI dialect with an API key (moxxy serve --api-key)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ auth: { apiKey: API_KEY } });
  });
  afterAll(() => server.close());

  it('accepts Authorization: Bearer <api key> on /api/v1, /api and the SSE routes', async () => {
    expect((await server.api.get('/api/v1/agents', withKey)).status).toBe(200);
    expect((await server.api.get('/api/agents', withKey)).body.success).toBe(true);
    const stream = await fetch(`${server.url}/api/agents/default/chat/stream?message=hello`, withKey);
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain('"done":true');
  });

  it('accepts it on /trpc, queries and subscriptions alike', async () => {
    const trpc = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${server.url}/trpc`, transformer: superjson, headers: withKey.headers })] });
    expect((await trpc.agents.get.query({ name: 'default' })).name).toBe('default');
    const refused = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${server.url}/trpc`, transformer: superjson })] });
    await expect(refused.agents.get.query({ name: 'default' })).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED', httpStatus: 401 } });
    const input = encodeURIComponent(JSON.stringify(superjson.serialize({ name: 'default', message: 'hello' })));
    const subscription = await fetch(`${server.url}/trpc/chat.stream?input=${input}`, withKey);
    expect([subscription.status, subscription.headers.get('content-type')]).toEqual([200, 'text/event-stream']);
    await subscription.body?.cancel();
    expect((await fetch(`${server.url}/trpc/chat.stream?input=${input}`)).status).toBe(401);
  });

  it('answers authentication_error without credentials or with a wrong key, and keeps the server closed to both', async () => {
    for (const options of [{}, { headers: { authorization: 'Bearer not-the-key' } }]) {
      const res = await server.api.get('/api/v1/agents', options);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('authentication_error');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="moxxy"');
    }
    expect((await server.api.get('/api/v1/agents', { headers: { authorization: 'Bearer not-the-key' } })).body.error.message).toBe('Wrong API key');
    expect((await server.api.get('/api/agents')).body.error.code).toBe('UNAUTHORIZED');
  });

  it('still takes API tokens (mox_...) with their scopes: permission_denied without the scope', async () => {
    const made = await server.api.post('/api/tokens', { name: 'reader', scopes: ['agents:read'] }, withKey);
    const token = { headers: { authorization: `Bearer ${made.body.data.token}` } };
    expect((await server.api.get('/api/v1/agents/default', token)).body.id).toBe('default');
    const denied = await server.api.post('/api/v1/agents', { id: 'not-allowed' }, token);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'permission_denied', details: { moxxy_code: 'FORBIDDEN', required_scope: 'agents:write' } });
  });
});

describe('MUXI rate limits', () => {
  let clock = 1_700_000_000_250;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ rateLimits: { enabled: true, read: 2 } }, {}, { now: () => clock });
  });
  afterAll(() => server.close());

  it('sends X-RateLimit-Reset in UTC epoch seconds on /api/v1 as on /api, then rate_limit_exceeded', async () => {
    const first = await server.api.get('/api/v1/agents');
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(first.headers.get('x-ratelimit-reset')).toBe('1700000001');
    expect((await server.api.get('/api/agents')).headers.get('x-ratelimit-reset')).toBe('1700000001');
    const limited = await server.api.get('/api/v1/agents/default');
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'rate_limit_exceeded', details: { moxxy_code: 'RATE_LIMITED', limit: 2 } });
    expect(limited.headers.get('x-ratelimit-reset')).toBe('1700000001');
    expect(limited.headers.get('retry-after')).toBe('1');
    clock += 1000;
    const next = await server.api.get('/api/v1/agents');
    expect([next.status, next.headers.get('x-ratelimit-reset')]).toEqual([200, '1700000002']);
  });
});

describe('the API key setting', () => {
  const home = makeTempHome();

  it('is read from MOXXY_API_KEY, and refused when it could be taken for an API token', async () => {
    expect((await loadConfig({ cwd: home, env: { MOXXY_HOME: home, MOXXY_API_KEY: API_KEY } })).auth.apiKey).toBe(API_KEY);
    await expect(loadConfig({ cwd: home, env: { MOXXY_HOME: home, MOXXY_API_KEY: 'mox_looks-like-a-token' } })).rejects.toThrow(
      /auth\.apiKey \(from MOXXY_API_KEY\): must not start with "mox_"/,
    );
  });

  it('needs 32 characters or more to serve a non-loopback address, given as --api-key', async () => {
    const result = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--api-key', 'short-key'], { MOXXY_HOME: home, MOXXY_INTERNAL_TOKEN: '' }, home);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Refusing to listen on 0.0.0.0 with an API key of 9 characters: MOXXY_API_KEY (auth.apiKey, --api-key) must have at least 32',
    );
  });
});
