import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { loadConfig } from '../src/config/load.ts';
import { startServer } from '../src/http/server.ts';
import { appRouter } from '../src/routers/app.ts';
import { createServices } from '../src/services/container.ts';
import { readSse } from './helpers/sse.ts';
import { createApi, makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

const OPENAI = 'https://api.openai.test/v1';
const msw = setupServer();
let server: TestServer;

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  server = await startTestServer({ providers: { openai: { baseUrl: OPENAI, apiKey: 'sk-test-key' }, maxRetries: 0, retryBaseDelayMs: 1 } });
});
afterEach(() => msw.resetHandlers());
afterAll(async () => {
  msw.close();
  await server.close();
});

async function audit(runId: string): Promise<Array<{ event_type: string; payload: any }>> {
  const res = await server.api.get(`/api/audit?run_id=${runId}&limit=1000`);
  return res.body.data.events;
}

/** An OpenAI-compatible stream that holds its answer until released. */
function heldStream() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const began = new Promise<void>((resolve) => (started = resolve));
  msw.use(
    http.post(`${OPENAI}/chat/completions`, ({ request }) => {
      const encoder = new TextEncoder();
      const body = new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'thinking' } }] })}\n\n`));
          started();
          await Promise.race([released, new Promise((resolve) => request.signal.addEventListener('abort', resolve))]);
          try {
            controller.enqueue(encoder.encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: ' done' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`));
            controller.close();
          } catch {
            // the client went away
          }
        },
      });
      return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
    }),
  );
  return { began, release };
}

describe('chat', () => {
  it('answers a turn on the echo provider with the seed fields and records the run', async () => {
    const res = await server.api.post('/api/agents/default/chat', { message: 'Hello!', user_id: 'user123' });
    expect(res.status).toBe(200);
    const reply = res.body.data;
    expect(reply).toMatchObject({ content: 'Hello!', agent_id: 'default', usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) } });
    expect(reply.id).toMatch(/^msg_/);
    expect(reply.run_id).toMatch(/^run_/);
    expect(reply.session_id).toMatch(/^ses_/);

    const run = (await server.api.get(`/api/runs/${reply.run_id}`)).body.data;
    expect(run).toMatchObject({ id: reply.run_id, status: 'completed', input: 'Hello!', output: 'Hello!', user_id: 'user123', source: 'api', error: null });
    expect(run.steps).toEqual([expect.objectContaining({ type: 'model', index: 0, content: 'Hello!', tool_calls: [], finish_reason: 'stop' })]);
    expect(Date.parse(run.completed_at)).toBeGreaterThanOrEqual(Date.parse(run.started_at));

    const types = (await audit(reply.run_id)).map((e) => e.event_type);
    expect(types[0]).toBe('run.started');
    expect(types).toEqual(expect.arrayContaining(['message.user', 'model.request', 'model.stream', 'model.response', 'message.assistant']));
    expect(types.at(-1)).toBe('run.completed');
  });

  it('gives tRPC callers the same turn', async () => {
    const reply = await server.trpc.chat.send.mutate({ name: 'default', message: 'over trpc', session_id: 'trpc-session' });
    expect(reply).toMatchObject({ content: 'over trpc', session_id: 'trpc-session', agent_id: 'default' });
    expect(reply.timestamp).toBeInstanceOf(Date);
    const run = await server.trpc.runs.get.query({ id: reply.run_id });
    expect(JSON.parse(JSON.stringify(run))).toEqual((await server.api.get(`/api/runs/${reply.run_id}`)).body.data);
  });

  it('keeps history per session and user, pages with before and has_more, and lists sessions', async () => {
    await server.api.post('/api/agents', { name: 'historian' });
    for (const message of ['one', 'two', 'three']) {
      await server.api.post('/api/agents/historian/chat', { message, session_id: 'session456', user_id: 'user123' });
    }
    await server.api.post('/api/agents/historian/chat', { message: 'other user', session_id: 'other', user_id: 'someone-else' });

    const all = (await server.api.get('/api/agents/historian/chat/history?session_id=session456&user_id=user123')).body.data;
    expect(all.messages.map((m: any) => `${m.role}:${m.content}`)).toEqual(['user:one', 'assistant:one', 'user:two', 'assistant:two', 'user:three', 'assistant:three']);
    expect(all.has_more).toBe(false);

    const latest = (await server.api.get('/api/agents/historian/chat/history?session_id=session456&limit=2')).body.data;
    expect(latest.messages.map((m: any) => m.content)).toEqual(['three', 'three']);
    expect(latest.has_more).toBe(true);
    const earlier = (await server.api.get(`/api/agents/historian/chat/history?session_id=session456&limit=2&before=${encodeURIComponent(latest.messages[0].timestamp)}`)).body.data;
    expect(earlier.messages.map((m: any) => m.content)).toEqual(['two', 'two']);

    const mine = (await server.api.get('/api/agents/historian/chat/history?user_id=user123')).body.data;
    expect(mine.messages.every((m: any) => m.user_id === 'user123')).toBe(true);

    const sessions = (await server.api.get('/api/agents/historian/sessions')).body.data;
    expect(sessions.sessions.map((s: any) => [s.id, s.message_count])).toEqual([['other', 2], ['session456', 6]]);
    expect((await server.api.get('/api/agents/historian/sessions?user_id=user123')).body.data.pagination.total).toBe(1);
    expect((await server.api.get('/api/agents/ghost/chat/history')).body.error.code).toBe('AGENT_NOT_FOUND');
  });

  it('pages history by next_cursor without losing messages that share a millisecond, and takes a message id or a time as before', async () => {
    await server.api.post('/api/agents', { name: 'same-ms' });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-03-01T12:00:00.000Z'));
    try {
      for (let i = 1; i <= 15; i++) {
        await server.services.conversations.appendMessage({ sessionId: 'burst', agent: 'same-ms', runId: null, userId: null, role: 'user', content: `m${i}` });
      }
    } finally {
      vi.useRealTimers();
    }

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await server.api.get(`/api/agents/same-ms/chat/history?session_id=burst&limit=1${cursor ? `&before=${cursor}` : ''}`)).body.data;
      expect(page.messages).toHaveLength(1);
      seen.unshift(page.messages[0].content);
      expect(page.next_cursor).toBe(page.has_more ? page.messages[0].id : null);
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => `m${i + 1}`));

    const newest = (await server.api.get('/api/agents/same-ms/chat/history?session_id=burst&limit=5')).body.data;
    expect(newest.messages.map((m: any) => m.content)).toEqual(['m11', 'm12', 'm13', 'm14', 'm15']);
    const byId = (await server.api.get(`/api/agents/same-ms/chat/history?session_id=burst&limit=5&before=${newest.messages[0].id}`)).body.data;
    expect(byId.messages.map((m: any) => m.content)).toEqual(['m6', 'm7', 'm8', 'm9', 'm10']);
    const byTime = (await server.api.get('/api/agents/same-ms/chat/history?session_id=burst&before=2025-03-01T12:00:00.001Z')).body.data;
    expect(byTime.messages).toHaveLength(15);
    expect((await server.trpc.chat.history.query({ name: 'same-ms', session_id: 'burst', limit: 2, before: newest.messages[0].id })).messages.map((m) => m.content)).toEqual(['m9', 'm10']);
    expect((await server.trpc.chat.history.query({ name: 'same-ms', session_id: 'burst', before: new Date('2025-03-01T12:00:00.000Z') })).messages).toEqual([]);
    const refused = await server.api.get('/api/agents/same-ms/chat/history?before=yesterday');
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.issues[0].path).toBe('before');
  });

  it('remembers earlier turns of a session in the model context', async () => {
    await server.api.post('/api/agents', { name: 'context-check', model: { provider: 'openai', name: 'gpt-4o-mini' }, system_prompt: 'Be kind.' });
    const bodies: any[] = [];
    msw.use(
      http.post(`${OPENAI}/chat/completions`, async ({ request }) => {
        bodies.push(await request.json());
        return new HttpResponse(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`, {
          headers: { 'content-type': 'text/event-stream' },
        });
      }),
    );
    await server.api.post('/api/agents/context-check/chat', { message: 'My name is Ada.', session_id: 'ctx' });
    await server.api.post('/api/agents/context-check/chat', { message: 'What is my name?', session_id: 'ctx', context: { location: 'New York' } });
    const messages = bodies[1].messages.map((m: any) => [m.role, m.content]);
    expect(messages[0][0]).toBe('system');
    expect(messages[0][1]).toContain('Be kind.');
    expect(messages[0][1]).toContain('"location":"New York"');
    expect(messages.slice(1)).toEqual([['user', 'My name is Ada.'], ['assistant', 'ok'], ['user', 'What is my name?']]);
    expect(bodies[1].model).toBe('gpt-4o-mini');
  });

  it('runs the tool loop: echo invoke tags call allowed tools, results go back to the model', async () => {
    await server.api.post('/api/agents', { name: 'toolbox', allowed_tools: ['memory.*'] });
    const res = await server.api.post('/api/agents/toolbox/chat', {
      message: 'Remember this <invoke name="memory.store">{"content": "User prefers green tea"}</invoke>',
      user_id: 'u-tools',
    });
    expect(res.status).toBe(200);
    const run = (await server.api.get(`/api/runs/${res.body.data.run_id}`)).body.data;
    expect(run.steps.map((s: any) => s.type)).toEqual(['model', 'tool', 'model']);
    expect(run.steps[1]).toMatchObject({ name: 'memory.store', arguments: { content: 'User prefers green tea' }, is_error: false });
    expect(run.steps[1].output).toMatch(/^Stored memory mem_/);
    expect(res.body.data.content).toContain('memory.store');

    const memories = (await server.api.get('/api/agents/toolbox/memory?user_id=u-tools')).body.data.memories;
    expect(memories.map((m: any) => m.content)).toEqual(['User prefers green tea']);

    const events = await audit(run.id);
    const called = events.find((e) => e.event_type === 'primitive.called');
    expect(called?.payload).toMatchObject({ name: 'memory.store', args: { content: 'User prefers green tea' } });
    expect(events.find((e) => e.event_type === 'primitive.result')?.payload).toMatchObject({ name: 'memory.store', is_error: false });
    expect(events.some((e) => e.event_type === 'memory.stored')).toBe(true);
  });

  it('refuses tools the agent does not allow, with a security.violation event', async () => {
    const res = await server.api.post('/api/agents/default/chat', { message: 'x <invoke name="memory.store">{"content": "sneaky"}</invoke>' });
    const run = (await server.api.get(`/api/runs/${res.body.data.run_id}`)).body.data;
    expect(run.steps[1]).toMatchObject({ type: 'tool', name: 'memory.store', is_error: true, output: "Tool 'memory.store' is not allowed: the agent 'default' allow-list does not include it" });
    const violation = (await audit(run.id)).find((e) => e.event_type === 'security.violation');
    expect(violation?.payload).toMatchObject({ reason: 'tool_not_allowed', tool: 'memory.store', refused_by: { list: 'agent', name: 'default' } });
    expect((await server.api.get('/api/agents/default/memory')).body.data.memories).toEqual([]);
  });

  it('stops at the agent\'s step limit', async () => {
    await server.api.post('/api/agents', { name: 'looper', allowed_tools: ['*'], max_steps: 1 });
    const res = await server.api.post('/api/agents/looper/chat', { message: '<invoke name="memory.search">{"query": "tea"}</invoke>' });
    const run = (await server.api.get(`/api/runs/${res.body.data.run_id}`)).body.data;
    expect(run.status).toBe('completed');
    expect(run.steps.filter((s: any) => s.type === 'model')).toHaveLength(1);
    expect((await audit(run.id)).at(-1)?.payload).toMatchObject({ reason: 'max_steps' });
  });

  it('answers 502 PROVIDER_ERROR when the model provider fails, and records the failed run', async () => {
    await server.api.post('/api/agents', { name: 'flaky', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    msw.use(http.post(`${OPENAI}/chat/completions`, () => HttpResponse.json({ error: { message: 'upstream down' } }, { status: 500 })));
    const res = await server.api.post('/api/agents/flaky/chat', { message: 'hi', session_id: 'flaky-session' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('PROVIDER_ERROR');
    expect(res.body.error.details).toEqual({ provider: 'openai', status: 500, cause: 'upstream down', run_id: expect.stringMatching(/^run_/) });
    expect(JSON.stringify(res.body)).not.toContain('sk-test-key');
    const runId = res.body.error.details.run_id;
    expect((await server.api.get(`/api/runs/${runId}`)).body.data).toMatchObject({
      status: 'failed',
      error: { code: 'PROVIDER_ERROR', message: 'openai answered HTTP 500: upstream down', details: { provider: 'openai', status: 500, cause: 'upstream down' } },
    });
    expect((await audit(runId)).at(-1)?.event_type).toBe('run.failed');
  });

  it('stores a run\'s end with its closing event: when that write fails, the run is failed and keeps no answer', async () => {
    await server.api.post('/api/agents', { name: 'closing', system_prompt: 'x' });
    // Another connection to the server's database file refuses this agent's run.completed events.
    const { createClient } = await import('@libsql/client');
    const db = createClient({ url: `file:${join(server.home, 'moxxy.db')}` });
    try {
      await db.execute(`CREATE TRIGGER refuse_closing BEFORE INSERT ON events
        WHEN NEW.agent_id = 'closing' AND NEW.event_type = 'run.completed' BEGIN SELECT RAISE(ABORT, 'refused'); END`);
      const res = await server.api.post('/api/agents/closing/chat', { message: 'hello', session_id: 'closing-session' });
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('INTERNAL_ERROR');
      const runId = res.body.error.details.run_id;
      // Not completed with its answer stored and its closing event lost: failed, with no assistant message.
      expect((await server.api.get(`/api/runs/${runId}`)).body.data.status).toBe('failed');
      const history = await server.api.get('/api/agents/closing/chat/history?session_id=closing-session&include_tools=true');
      expect(history.body.data.messages.map((m: { role: string }) => m.role)).toEqual(['user']);
      expect((await audit(runId)).map((e) => e.event_type)).not.toContain('run.completed');
      expect((await audit(runId)).at(-1)?.event_type).toBe('run.failed');
    } finally {
      await db.execute('DROP TRIGGER IF EXISTS refuse_closing');
      db.close();
    }
  });

  it('leaves what failed turns left out of the next turn\'s context, and shows it in history with its status', async () => {
    await server.api.post('/api/agents', { name: 'recovering', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    msw.use(http.post(`${OPENAI}/chat/completions`, () => HttpResponse.json({ error: { message: 'upstream down' } }, { status: 500 })));
    for (const message of ['hi', 'hi', 'again']) {
      expect((await server.api.post('/api/agents/recovering/chat', { message, session_id: 'recovering-session' })).status).toBe(502);
    }
    const seen: unknown[] = [];
    msw.use(
      http.post(`${OPENAI}/chat/completions`, async ({ request }) => {
        seen.push(((await request.json()) as { messages: unknown[] }).messages);
        return new HttpResponse(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`, {
          headers: { 'content-type': 'text/event-stream' },
        });
      }),
    );
    expect((await server.api.post('/api/agents/recovering/chat', { message: 'working now?', session_id: 'recovering-session' })).status).toBe(200);
    expect((await server.api.post('/api/agents/recovering/chat', { message: 'and now?', session_id: 'recovering-session' })).status).toBe(200);
    expect(seen[0]).toEqual([{ role: 'user', content: 'working now?' }]);
    expect(seen[1]).toEqual([
      { role: 'user', content: 'working now?' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'and now?' },
    ]);
    const history = (await server.api.get('/api/agents/recovering/chat/history?session_id=recovering-session')).body.data.messages;
    expect(history.map((m: any) => [m.role, m.content, m.run_status])).toEqual([
      ['user', 'hi', 'failed'],
      ['user', 'hi', 'failed'],
      ['user', 'again', 'failed'],
      ['user', 'working now?', 'completed'],
      ['assistant', 'ok', 'completed'],
      ['user', 'and now?', 'completed'],
      ['assistant', 'ok', 'completed'],
    ]);
  });

  it('logs a provider failure at warn, at the default log level, with the agent, provider, status and cause but never the key', async () => {
    const home = makeTempHome();
    const lines: string[] = [];
    const logStream = new Writable({ write: (chunk, _encoding, done) => void (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
    const config = await loadConfig({
      cwd: home,
      env: { MOXXY_HOME: home },
      overrides: { port: 0, rateLimits: { enabled: false }, providers: { openai: { baseUrl: OPENAI, apiKey: 'sk-logged-never' }, maxRetries: 0 } },
    });
    const logged = await startServer(await createServices(config, { logStream }));
    try {
      const api = createApi(logged.url);
      await api.post('/api/agents', { name: 'denied', model: { provider: 'openai', name: 'gpt-4o-mini' } });
      msw.use(http.post(`${OPENAI}/chat/completions`, () => HttpResponse.json({ error: { message: 'Incorrect API key provided' } }, { status: 401 })));
      expect((await api.post('/api/agents/denied/chat', { message: 'hi' })).status).toBe(502);
      const warnings = lines.map((line) => JSON.parse(line)).filter((line) => line.level === 40);
      expect(warnings).toEqual([
        expect.objectContaining({
          msg: 'openai answered HTTP 401: Incorrect API key provided',
          agent: 'denied',
          provider: 'openai',
          status: 401,
          cause: 'Incorrect API key provided',
          url: `${OPENAI}/chat/completions`,
        }),
      ]);
      expect(lines.join('\n')).not.toContain('sk-logged-never');
    } finally {
      await logged.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('answers 503 PROVIDER_NOT_CONFIGURED for an agent whose provider has no key', async () => {
    const bare = await startTestServer({ providers: { openai: { baseUrl: OPENAI } } });
    try {
      await bare.api.post('/api/agents', { name: 'keyless', model: { provider: 'openai', name: 'gpt-4o-mini' } });
      const res = await bare.api.post('/api/agents/keyless/chat', { message: 'hi' });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('PROVIDER_NOT_CONFIGURED');
      expect(res.body.error.message).toContain('OPENAI_API_KEY');
    } finally {
      await bare.close();
    }
  });
});

describe('streaming, busy sessions and cancellation', () => {
  it('streams the seed 000 SSE format over GET and POST', async () => {
    const get = await readSse(`${server.url}/api/agents/default/chat/stream?message=${encodeURIComponent('Hello streaming world')}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toContain('text/event-stream');
    const chunks = get.events.map((e) => JSON.parse(e.data));
    const done = chunks.at(-1);
    expect(done).toMatchObject({ done: true, status: 'completed', content: 'Hello streaming world' });
    expect(chunks.slice(0, -1).map((c) => c.content).join('')).toBe('Hello streaming world');
    expect(chunks.length).toBeGreaterThan(2);

    const post = await readSse(`${server.url}/api/agents/default/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'posted', session_id: done.session_id }),
    });
    const last = JSON.parse(post.events.at(-1)!.data);
    expect(last).toMatchObject({ done: true, session_id: done.session_id, content: 'posted' });
  });

  it('names the run in a header and on every frame, adding no frame the seed\'s EventSource example would print as undefined', async () => {
    const read = await readSse(`${server.url}/api/agents/default/chat/stream?message=${encodeURIComponent('name the run')}`);
    const runId = read.headers.get('x-moxxy-run-id');
    expect(runId).toMatch(/^run_/);
    const chunks = read.events.map((e) => JSON.parse(e.data));
    expect(chunks.every((chunk) => chunk.run_id === runId)).toBe(true);
    // Seed 000: `if (data.done) close(); else console.log(data.content)`. (Where the text splits may vary: the stream's
    // redaction holds back an end that could begin a secret, and this server's secrets are random.)
    const contents = chunks.filter((chunk) => !chunk.done).map((chunk) => chunk.content);
    expect(contents.every((content) => typeof content === 'string' && content.length > 0)).toBe(true);
    expect(contents.join('')).toBe('name the run');
    expect(contents.length).toBeGreaterThanOrEqual(3);
    expect((await server.api.get(`/api/runs/${runId}`)).body.data.status).toBe('completed');
  });

  it('cancels the run when the client closes the stream before the first token, unless it asked to keep it running', async () => {
    await server.api.post('/api/agents', { name: 'silent', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    let upstreamAborted = 0;
    msw.use(
      http.post(`${OPENAI}/chat/completions`, ({ request }) => {
        // Says nothing until it is aborted, like a slow model before its first token.
        const body = new ReadableStream({ start: (controller) => request.signal.addEventListener('abort', () => (upstreamAborted++, controller.close())) });
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const open = async (init: RequestInit, query = '') => {
      const controller = new AbortController();
      const response = await fetch(`${server.url}/api/agents/silent/chat/stream${query}`, { ...init, signal: controller.signal });
      const runId = response.headers.get('x-moxxy-run-id')!;
      expect(runId).toMatch(/^run_/);
      controller.abort();
      return runId;
    };
    const statusOf = async (runId: string) => (await server.api.get(`/api/runs/${runId}`)).body.data.status;
    const settled = async (runId: string) => {
      for (let i = 0; i < 100 && (await statusOf(runId)) === 'running'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      return statusOf(runId);
    };

    const dropped = await open({}, '?message=hi&session_id=dropped');
    expect(await settled(dropped)).toBe('cancelled');
    expect((await audit(dropped)).at(-1)?.event_type).toBe('run.cancelled');
    expect(upstreamAborted).toBe(1);

    const posted = await open({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'hi', session_id: 'posted' }) });
    expect(await settled(posted)).toBe('cancelled');

    const kept = await open({}, '?message=hi&session_id=kept&keep_running=true');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await statusOf(kept)).toBe('running');
    expect((await server.api.post(`/api/runs/${kept}/cancel`)).body.data.status).toBe('cancelled');

    const keptPost = await open({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'hi', session_id: 'kept-post', keep_running: true }) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await statusOf(keptPost)).toBe('running');
    await server.api.post(`/api/runs/${keptPost}/cancel`);
  });

  it('answers errors before the stream starts with the envelope', async () => {
    const unknown = await server.api.get('/api/agents/ghost/chat/stream?message=hi');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('AGENT_NOT_FOUND');
    const missing = await server.api.get('/api/agents/default/chat/stream');
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues[0].path).toBe('message');
  });

  it('answers 409 SESSION_BUSY to a second message on a busy session, and cancels a run mid-stream', async () => {
    await server.api.post('/api/agents', { name: 'slow', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    const held = heldStream();
    const first = server.api.post('/api/agents/slow/chat', { message: 'take your time', session_id: 'busy' });
    await held.began;
    const second = await server.api.post('/api/agents/slow/chat', { message: 'me too', session_id: 'busy' });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('SESSION_BUSY');
    const runId = second.body.error.details.run_id;
    expect((await server.api.get(`/api/runs/${runId}`)).body.data.status).toBe('running');
    // The refused turn's message is not stored: it goes in with the run's start, only when the run starts.
    const stored = (await server.api.get('/api/agents/slow/chat/history?session_id=busy')).body.data.messages;
    expect(stored.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([['user', 'take your time']]);

    const cancelled = await server.api.post(`/api/runs/${runId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.data).toMatchObject({ id: runId, status: 'cancelled' });
    const firstReply = await first;
    expect(firstReply.status).toBe(200);
    expect(firstReply.body.data.run_id).toBe(runId);
    expect((await audit(runId)).at(-1)?.event_type).toBe('run.cancelled');

    const again = await server.api.post(`/api/runs/${runId}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('RUN_NOT_ACTIVE');
    expect((await server.api.post('/api/runs/run_nope/cancel')).body.error.code).toBe('RUN_NOT_FOUND');
    held.release();
  });

  it('streams a run\'s events over SSE from the start, ends after the last, and resumes with Last-Event-ID', async () => {
    const reply = (await server.api.post('/api/agents/default/chat', { message: 'events please' })).body.data;
    const full = await readSse(`${server.url}/api/runs/${reply.run_id}/events`);
    expect(full.status).toBe(200);
    const types = full.events.map((e) => e.event);
    expect(types[0]).toBe('run.started');
    expect(types.at(-1)).toBe('run.completed');
    const envelopes = full.events.map((e) => JSON.parse(e.data));
    expect(envelopes.map((e) => e.event_id)).toEqual(full.events.map((e) => e.id));
    expect(envelopes.map((e) => e.sequence)).toEqual([...envelopes.map((e) => e.sequence)].sort((a, b) => a - b));

    const resumed = await readSse(`${server.url}/api/runs/${reply.run_id}/events`, { headers: { 'last-event-id': full.events[2]!.id! } });
    expect(resumed.events.map((e) => e.id)).toEqual(full.events.slice(3).map((e) => e.id));
    expect((await server.api.get('/api/runs/run_missing/events')).body.error.code).toBe('RUN_NOT_FOUND');
  });

  it('offers the same streams as tRPC subscriptions', async () => {
    const caller = appRouter.createCaller({ services: server.services });
    const chunks: any[] = [];
    for await (const chunk of await caller.chat.stream({ name: 'default', message: 'sub scribe' })) chunks.push(chunk);
    const done = chunks.at(-1);
    expect(done).toMatchObject({ done: true, content: 'sub scribe', status: 'completed' });

    const events: string[] = [];
    for await (const tracked of await caller.runs.events({ id: done.run_id })) events.push((tracked as any)[1].event_type);
    expect(events[0]).toBe('run.started');
    expect(events.at(-1)).toBe('run.completed');
  });
});
