/** The OpenAI-compatible door, driven with OpenAI's own client (the `openai` package) pointed at a live server. */
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError, PermissionDeniedError, RateLimitError } from 'openai';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletion, ChatCompletionChunk } from '../src/domain/openai.ts';
import { readSse } from './helpers/sse.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const PROVIDER = 'https://api.openai.test/v1';
const STORE_TAG = '<invoke name="memory.store">{"content":"x"}</invoke>';

/** What the door adds to OpenAI's answers: the session, and the tools that ran on the server. */
const moxxyOf = (completion: object) => (completion as ChatCompletion).moxxy;
const chunkMoxxyOf = (chunk: object) => (chunk as ChatCompletionChunk).moxxy;

const msw = setupServer();
const servers: TestServer[] = [];
let server: TestServer;
let key: string;

/** OpenAI's client for a server, with an API token as its key; no retries, so a 429 is seen as it is. */
const clientOf = (target: TestServer, apiKey: string) => new OpenAI({ baseURL: `${target.url}/v1`, apiKey, maxRetries: 0 });

/** A token for the door: OpenAI's clients always send a key, so even an open server is given one of its tokens. */
async function tokenFor(target: TestServer, scopes: string[], headers: Record<string, string> = {}): Promise<string> {
  const res = await target.api.post('/api/tokens', { name: scopes.join(' '), scopes }, { headers });
  expect(res.status).toBe(201);
  return res.body.data.token;
}

async function serve(overrides: Record<string, unknown> = {}, options: Parameters<typeof startTestServer>[2] = {}): Promise<TestServer> {
  const started = await startTestServer({ providers: { openai: { baseUrl: PROVIDER, apiKey: 'sk-upstream' }, maxRetries: 0 }, ...overrides }, {}, options);
  servers.push(started);
  return started;
}

/** The upstream model the `relay` agent uses: answers "upstream answer" and keeps each request it got. */
function upstream(requests: any[]) {
  msw.use(
    http.post(`${PROVIDER}/chat/completions`, async ({ request }) => {
      requests.push(await request.json());
      const events = [{ choices: [{ index: 0, delta: { content: 'upstream answer' } }] }, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }];
      const body = `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')}data: [DONE]\n\n`;
      return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
    }),
  );
}

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  server = await serve();
  expect((await server.api.post('/api/agents', { name: 'toolbox', description: 'Remembers things', allowed_tools: ['memory.*'] })).status).toBe(201);
  const relay = { name: 'relay', system_prompt: 'You are the relay.', model: { provider: 'openai', name: 'gpt-test' } };
  expect((await server.api.post('/api/agents', relay)).status).toBe(201);
  key = await tokenFor(server, ['chat', 'agents:read']);
});
afterEach(() => msw.resetHandlers());
afterAll(async () => {
  msw.close();
  await Promise.all(servers.map((s) => s.close()));
});

describe('GET /v1/models', () => {
  it('lists every agent as a model, and retrieves one by name', async () => {
    const openai = clientOf(server, key);
    const models = [];
    for await (const model of openai.models.list()) models.push(model);
    expect(models.map((model) => model.id)).toEqual(['default', 'toolbox', 'relay']);
    expect(models[1]).toEqual({ id: 'toolbox', object: 'model', created: expect.any(Number), owned_by: 'moxxy' });
    expect(await openai.models.retrieve('relay')).toMatchObject({ id: 'relay', object: 'model' });
  });

  it('answers an unknown model with 404 model_not_found (NotFoundError)', async () => {
    const error = await clientOf(server, key).models.retrieve('nobody').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });
  });
});

describe('POST /v1/chat/completions', () => {
  it('answers a turn of the agent named by `model`, with usage and the run as the id', async () => {
    const completion = await clientOf(server, key).chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Hello there' }] });
    expect(completion).toMatchObject({
      id: expect.stringMatching(/^run_/),
      object: 'chat.completion',
      model: 'default',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }],
      moxxy: { session_id: expect.stringMatching(/^ses_/), tools: [] },
    });
    const run = (await server.api.get(`/api/runs/${completion.id}`)).body.data;
    expect(run).toMatchObject({ agent_id: 'default', source: 'openai', status: 'completed', input: 'Hello there', output: 'Hello there' });
    const { input_tokens, output_tokens } = run.usage;
    expect(completion.usage).toEqual({ prompt_tokens: input_tokens, completion_tokens: output_tokens, total_tokens: input_tokens + output_tokens });
    expect(output_tokens).toBe(2);
  });

  it('sends the agent\'s prompt, the client\'s system message and the conversation to the model, the last user message as the turn', async () => {
    const requests: any[] = [];
    upstream(requests);
    const completion = await clientOf(server, key).chat.completions.create({
      model: 'relay',
      messages: [
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Hello Ada.' },
        { role: 'user', content: [{ type: 'text', text: 'What is my name?' }] },
      ],
      temperature: 0.1,
    });
    expect(completion.choices[0]!.message.content).toBe('upstream answer');
    const sent = requests[0].messages.map((m: any) => [m.role, m.content]);
    expect(sent[0][0]).toBe('system');
    expect(sent[0][1]).toContain('You are the relay.');
    expect(sent[0][1]).toContain('Answer in French.');
    expect(sent.slice(1)).toEqual([['user', 'My name is Ada.'], ['assistant', 'Hello Ada.'], ['user', 'What is my name?']]);
    // The conversation stays the client's: the session keeps only this turn.
    const history = (await server.api.get(`/api/agents/relay/chat/history?session_id=${moxxyOf(completion).session_id}`)).body.data.messages;
    expect(history.map((m: any) => [m.role, m.content])).toEqual([['user', 'What is my name?'], ['assistant', 'upstream answer']]);
  });

  it('keeps the history server-side in the X-Session-Id session, sending only the last user message as the turn', async () => {
    const requests: any[] = [];
    upstream(requests);
    const openai = clientOf(server, key);
    const session = { headers: { 'X-Session-Id': 'door-session-1' } };
    const first = await openai.chat.completions.create({ model: 'relay', messages: [{ role: 'user', content: 'first turn' }] }, session);
    const { data, response } = await openai.chat.completions
      .create({ model: 'relay', messages: [{ role: 'user', content: 'ignored, the session has it' }, { role: 'user', content: 'second turn' }] }, session)
      .withResponse();
    expect(response.headers.get('x-session-id')).toBe('door-session-1');
    expect([moxxyOf(first).session_id, moxxyOf(data).session_id]).toEqual(['door-session-1', 'door-session-1']);
    expect(requests[1].messages.slice(1).map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'first turn'],
      ['assistant', 'upstream answer'],
      ['user', 'second turn'],
    ]);
  });

  it('streams OpenAI chunks, ending with the finish reason, the usage chunk and data: [DONE]', async () => {
    const stream = await clientOf(server, key).chat.completions.create({
      model: 'default',
      messages: [{ role: 'user', content: 'Stream this please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Stream this please');
    expect(chunks.at(-2)!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    const run = (await server.api.get(`/api/runs/${chunks[0]!.id}`)).body.data;
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: run.usage.input_tokens, completion_tokens: 3 } });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);

    const raw = await readSse(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'raw' }], stream: true }),
    });
    expect(raw.headers.get('x-session-id')).toMatch(/^ses_/);
    expect(raw.events.at(-1)).toEqual({ data: '[DONE]' });
    expect(JSON.parse(raw.events.at(-2)!.data).choices[0].finish_reason).toBe('stop');
  });

  it('runs the agent\'s tools on the server and reports them in `moxxy`, never as tool_calls for the client', async () => {
    const openai = clientOf(server, key);
    const completion = await openai.chat.completions.create({ model: 'toolbox', messages: [{ role: 'user', content: `Remember ${STORE_TAG}` }], user: 'ada' });
    expect(completion.choices[0]!.message).toMatchObject({ role: 'assistant', content: expect.stringMatching(/^memory\.store: /) });
    expect(completion.choices[0]!.message.tool_calls).toBeUndefined();
    expect(moxxyOf(completion).tools).toEqual([{ id: 'call_1', name: 'memory.store', arguments: { content: 'x' }, output: expect.any(String), is_error: false }]);
    const memories = (await server.api.get('/api/agents/toolbox/memory?user_id=ada')).body.data.memories;
    expect(memories.map((m: any) => [m.content, m.user_id])).toEqual([['x', 'ada']]);

    const stream = await openai.chat.completions.create({ model: 'toolbox', messages: [{ role: 'user', content: `Again ${STORE_TAG}` }], stream: true });
    const activity = [];
    for await (const chunk of stream) {
      const moxxy = chunkMoxxyOf(chunk);
      if (moxxy?.tool_call || moxxy?.tool_result) activity.push(moxxy);
    }
    expect(activity).toEqual([
      { tool_call: { id: 'call_1', name: 'memory.store', arguments: { content: 'x' } } },
      { tool_result: { id: 'call_1', name: 'memory.store', output: expect.any(String), is_error: false } },
    ]);
  });

  it('maps `user` to the run\'s user id', async () => {
    const completion = await clientOf(server, key).chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'who am I' }], user: 'grace' });
    expect((await server.api.get(`/api/runs/${completion.id}`)).body.data.user_id).toBe('grace');
  });

  it('answers an unknown model with 404 model_not_found (NotFoundError)', async () => {
    const error = await clientOf(server, key).chat.completions.create({ model: 'nobody', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error', message: expect.stringContaining("'nobody'") });
  });

  it('answers invalid input with 400 invalid_request_error naming the field (BadRequestError)', async () => {
    const openai = clientOf(server, key);
    const noTurn = await openai.chat.completions.create({ model: 'default', messages: [{ role: 'system', content: 'alone' }] }).catch((e: unknown) => e);
    expect(noTurn).toBeInstanceOf(BadRequestError);
    expect(noTurn).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'VALIDATION_ERROR', param: 'messages.0.role' });
    const toolMessage = await openai.chat.completions
      .create({ model: 'default', messages: [{ role: 'tool', content: 'result', tool_call_id: 'c1' }, { role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(toolMessage).toMatchObject({ status: 400, param: 'messages.0.role', message: expect.stringContaining('server side') });
    const badSession = await openai.chat.completions
      .create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'X-Session-Id': 'not a session' } })
      .catch((e: unknown) => e);
    expect(badSession).toMatchObject({ status: 400, param: 'x-session-id' });
  });

  it('answers failures with OpenAI\'s documented error body', async () => {
    const res = await server.api.post('/v1/chat/completions', { model: 'nobody', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { message: "Agent 'nobody' not found", type: 'invalid_request_error', param: null, code: 'model_not_found' } });
    const malformed = await server.api.request('POST', '/v1/chat/completions', { rawBody: '{', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ type: 'invalid_request_error', code: 'INVALID_JSON' });
  });
});

describe('the door\'s credentials and limits are the server\'s', () => {
  const INTERNAL_TOKEN = 'internal-token-for-the-openai-door-0123456789';
  let secured: TestServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    secured = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
    servers.push(secured);
    const internal = { 'x-moxxy-internal-token': INTERNAL_TOKEN };
    tokens.chat = await tokenFor(secured, ['chat'], internal);
    tokens.reader = await tokenFor(secured, ['agents:read'], internal);
  });

  it('answers a bad token with 401 invalid_api_key (AuthenticationError), on an open server too', async () => {
    for (const target of [secured, server]) {
      const openai = clientOf(target, 'mox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      const error = await openai.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
    }
    const anonymous = await secured.api.get('/v1/models');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="moxxy"');
    expect(anonymous.body.error.code).toBe('invalid_api_key');
  });

  it('asks chat of a token for completions and agents:read for models (PermissionDeniedError otherwise)', async () => {
    const chat = clientOf(secured, tokens.chat!);
    const reader = clientOf(secured, tokens.reader!);
    expect((await chat.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] })).choices[0]!.message.content).toBe('hi');
    expect((await reader.models.list()).data.map((model) => model.id)).toEqual(['default']);
    const denied = await reader.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied).toMatchObject({ status: 403, code: 'FORBIDDEN', message: expect.stringContaining("'chat'") });
    expect(await chat.models.list().catch((e: unknown) => e)).toBeInstanceOf(PermissionDeniedError);
  });

  it('counts completions against the caller\'s chat budget, shared with /api (RateLimitError)', async () => {
    const clock = 1_700_000_000_000;
    const limited = await serve({ rateLimits: { enabled: true, chat: 2 } }, { now: () => clock });
    const token = await tokenFor(limited, ['chat']);
    expect((await limited.api.post('/api/agents/default/chat', { message: 'one' }, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const openai = clientOf(limited, token);
    await openai.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'two' }] });
    const error = await openai.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'three' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    expect((error as RateLimitError).headers.get('retry-after')).toBe('1');
  });
});
