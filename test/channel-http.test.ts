import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { loadConfig } from '../src/config/load.ts';
import { MoxxyEvent } from '../src/domain/channel-http.ts';
import { startChannelServer } from '../src/http/channel-server.ts';
import type { RunningServer } from '../src/http/server.ts';
import { createServices } from '../src/services/container.ts';
import { rawRequest } from './helpers/raw-http.ts';
import { readSse } from './helpers/sse.ts';
import { createApi, makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

const TOKEN = 'channel-secret-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const OPENAI = 'https://api.openai.test/v1';
const STT = 'https://stt.test/v1';
const STORE_TAG = '<invoke name="memory.store">{"content":"x"}</invoke>';

const msw = setupServer();
const servers: Array<{ close(): Promise<void> }> = [];

async function serve(channel: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({
    ...(channel ? { channels: { http: channel } } : {}),
    providers: { openai: { baseUrl: OPENAI, apiKey: 'sk-test' }, maxRetries: 0, retryBaseDelayMs: 1 },
    ...extra,
  }, env);
  servers.push(server);
  return server;
}

/** An OpenAI-compatible stream: the given SSE chunks, then optionally a broken connection. */
function openAiStream(chunks: string[], options: { fail?: boolean; capture?: unknown[] } = {}) {
  msw.use(
    http.post(`${OPENAI}/chat/completions`, async ({ request }) => {
      options.capture?.push(await request.json());
      const encoder = new TextEncoder();
      const body = new ReadableStream({
        async start(controller) {
          for (const chunk of chunks) controller.enqueue(encoder.encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: chunk } }] })}\n\n`));
          // Erroring at once would discard the queued chunks: let the reader take them first.
          await new Promise((resolve) => setTimeout(resolve, 50));
          if (options.fail) controller.error(new Error('connection reset'));
          else {
            controller.enqueue(encoder.encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`));
            controller.close();
          }
        },
      });
      return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
    }),
  );
}

const events = (body: { events: MoxxyEvent[] }) => body.events.map((event) => MoxxyEvent.parse(event));

let server: TestServer;

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  // The channel's agent allows memory.*, the channel allows nothing.
  server = await serve({ authToken: TOKEN, allowedTools: [], agent: 'toolbox' });
  expect((await server.api.post('/api/agents', { name: 'toolbox', allowed_tools: ['memory.*'] })).status).toBe(201);
});
afterEach(() => msw.resetHandlers());
afterAll(async () => {
  msw.close();
  await Promise.all(servers.map((s) => s.close()));
});

describe('HTTP channel (seed 001)', () => {
  it('answers GET /v1/health without a token', async () => {
    const res = await server.api.get('/v1/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers 401 UNAUTHORIZED without the bearer token or with a wrong one', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token' }, { authorization: TOKEN }, { authorization: `Bearer ${TOKEN}x` }];
    for (const headers of attempts) {
      for (const path of ['/v1/turn', '/v1/turn/stream']) {
        const res = await server.api.post(path, { prompt: 'hi' }, { headers });
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHORIZED');
      }
    }
    const audio = await server.api.request('POST', '/v1/turn/audio', { rawBody: new Uint8Array([1, 2, 3]), headers: { 'content-type': 'audio/m4a' } });
    expect(audio.status).toBe(401);
  });

  it('checks the token before reading or validating the body', async () => {
    const res = await server.api.request('POST', '/v1/turn', { rawBody: '{not json', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(401);
  });

  it('answers 503 CHANNEL_NOT_CONFIGURED without allowedTools, even with a token (MOXXY_HTTP_TOKEN)', async () => {
    const unconfigured = await serve(undefined, {}, { MOXXY_HTTP_TOKEN: TOKEN });
    const res = await unconfigured.api.post('/v1/turn', { prompt: 'hi' }, { headers: AUTH });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'CHANNEL_NOT_CONFIGURED', message: expect.stringContaining('allowedTools') });
    expect((await unconfigured.api.get('/v1/health')).status).toBe(200);
  });

  it('answers 503 CHANNEL_NOT_CONFIGURED without a token, never serving turns unauthenticated', async () => {
    const tokenless = await serve({ allowedTools: [] });
    const res = await tokenless.api.post('/v1/turn', { prompt: 'hi' });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'CHANNEL_NOT_CONFIGURED', message: expect.stringContaining('MOXXY_HTTP_TOKEN') });
  });

  it('runs a turn on POST /v1/turn: the events and the assistant text', async () => {
    const res = await server.api.post('/v1/turn', { prompt: 'Hello over the channel' }, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.body.assistant).toBe('Hello over the channel');
    const turn = events(res.body);
    expect(turn.map((e) => e.type)).toEqual(['turn_started', 'assistant_chunk', 'assistant_chunk', 'assistant_chunk', 'assistant_chunk', 'assistant_message', 'turn_completed']);
    expect(turn[0]).toMatchObject({ type: 'turn_started', run_id: expect.stringMatching(/^run_/), session_id: expect.stringMatching(/^ses_/), agent: 'toolbox', model: { provider: 'echo', name: 'echo' } });
    expect(turn.flatMap((e) => (e.type === 'assistant_chunk' ? [e.delta] : [])).join('')).toBe('Hello over the channel');
    expect(turn.at(-1)).toMatchObject({ type: 'turn_completed', status: 'completed', usage: { input_tokens: expect.any(Number), output_tokens: 4 } });

    const runId = turn[0]!.type === 'turn_started' ? turn[0]!.run_id : '';
    const run = (await server.api.get(`/api/runs/${runId}`)).body.data;
    expect(run).toMatchObject({ source: 'channel:http', agent_id: 'toolbox', status: 'completed', output: 'Hello over the channel' });

    const again = events((await server.api.post('/v1/turn', { prompt: 'second' }, { headers: AUTH })).body);
    expect(again[0]!.type === 'turn_started' && again[0]!.session_id).not.toBe(turn[0]!.type === 'turn_started' && turn[0]!.session_id);
  });

  it('records channel.message_received and channel.message_sent around a turn', async () => {
    const res = await server.api.post('/v1/turn', { prompt: 'audit me' }, { headers: AUTH });
    const runId = res.body.events[0].run_id;
    const audit = (await server.api.get('/api/audit?agent_id=toolbox&event_type=channel.message_received,channel.message_sent&limit=1000')).body.data.events;
    const received = audit.filter((e: any) => e.event_type === 'channel.message_received' && e.payload.content === 'audit me');
    const sent = audit.filter((e: any) => e.event_type === 'channel.message_sent' && e.run_id === runId);
    expect(received).toHaveLength(1);
    expect(received[0].payload).toMatchObject({ channel: 'http' });
    expect(sent).toHaveLength(1);
    expect(sent[0].payload).toMatchObject({ channel: 'http', status: 'completed', content: 'audit me' });
  });

  it('denies, with allowedTools [], a tool the agent itself allows, and stores nothing', async () => {
    const res = await server.api.post('/v1/turn', { prompt: `Remember ${STORE_TAG}` }, { headers: AUTH });
    expect(res.status).toBe(200);
    const turn = events(res.body);
    expect(turn.find((e) => e.type === 'tool_call_requested')).toMatchObject({ name: 'memory.store', arguments: { content: 'x' } });
    expect(turn.find((e) => e.type === 'tool_result')).toMatchObject({ name: 'memory.store', is_error: true, output: expect.stringContaining('not allowed') });
    expect((await server.api.get('/api/agents/toolbox/memory')).body.data.memories).toEqual([]);

    // The same message over the API, under the agent's own allow-list, does store it.
    await server.api.post('/api/agents/toolbox/chat', { message: `Remember ${STORE_TAG}` });
    expect((await server.api.get('/api/agents/toolbox/memory')).body.data.memories.map((m: any) => m.content)).toEqual(['x']);
  });

  it('streams POST /v1/turn/stream as one data line per MoxxyEvent, then [DONE]', async () => {
    const res = await readSse(`${server.url}/v1/turn/stream`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Stream this please' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.events.at(-1)).toEqual({ data: '[DONE]' });
    const turn = res.events.slice(0, -1).map((e) => {
      expect(e.event).toBeUndefined();
      return MoxxyEvent.parse(JSON.parse(e.data));
    });
    expect(turn[0]!.type).toBe('turn_started');
    expect(turn.flatMap((e) => (e.type === 'assistant_chunk' ? [e.delta] : [])).join('')).toBe('Stream this please');
    expect(turn.slice(-2).map((e) => e.type)).toEqual(['assistant_message', 'turn_completed']);
  });

  it('validates the turn body against turnRequestSchema', async () => {
    for (const body of [{}, { prompt: '' }, { prompt: 'hi', extra: true }, { prompt: 42 }]) {
      const res = await server.api.post('/v1/turn', body, { headers: AUTH });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
  });

  it('caps JSON bodies at 64 KB with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await server.api.post('/v1/turn', { prompt: 'a'.repeat(70 * 1024) }, { headers: AUTH });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers POST /v1/turn/audio with 503 no_transcriber when none is configured', async () => {
    const res = await server.api.request('POST', '/v1/turn/audio', { rawBody: new Uint8Array([1, 2, 3]), headers: { ...AUTH, 'content-type': 'audio/m4a' } });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: 'no_transcriber', message: expect.stringContaining('transcription') });
  });

  it('transcribes audio, runs the transcript as the turn, and accepts more than 64 KB of audio', async () => {
    const withStt = await serve({ authToken: TOKEN, allowedTools: [] }, { transcription: { baseUrl: STT, apiKey: 'stt-key' } });
    const uploads: Array<{ auth: string | null; model: unknown; language: unknown; file: File }> = [];
    msw.use(
      http.post(`${STT}/audio/transcriptions`, async ({ request }) => {
        const form = await request.formData();
        uploads.push({ auth: request.headers.get('authorization'), model: form.get('model'), language: form.get('language'), file: form.get('file') as File });
        return HttpResponse.json({ text: ' summarize today\'s calendar ' });
      }),
    );
    const audio = Buffer.alloc(200 * 1024, 'voice');
    const res = await withStt.api.request('POST', '/v1/turn/audio?model=claude-sonnet-4-6&language=en', {
      rawBody: audio,
      headers: { ...AUTH, 'content-type': 'audio/m4a' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ transcript: 'summarize today\'s calendar', assistant: 'summarize today\'s calendar' });
    expect(events(res.body).at(-1)!.type).toBe('turn_completed');
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ auth: 'Bearer stt-key', model: 'whisper-1', language: 'en' });
    expect(uploads[0]!.file.name).toBe('audio.m4a');
    expect(Buffer.from(await uploads[0]!.file.arrayBuffer()).equals(audio)).toBe(true);

    const json = await withStt.api.post('/v1/turn/audio', { prompt: 'not audio' }, { headers: AUTH });
    expect(json.status).toBe(415);
    const elsewhere = await withStt.api.request('POST', '/api/agents', { rawBody: new Uint8Array([1]), headers: { 'content-type': 'audio/m4a' } });
    expect(elsewhere.status).toBe(415);
  });

  it('answers 502 PROVIDER_ERROR when the transcriber fails', async () => {
    const withStt = await serve({ authToken: TOKEN, allowedTools: [] }, { transcription: { baseUrl: STT } });
    msw.use(http.post(`${STT}/audio/transcriptions`, () => HttpResponse.json({ error: { message: 'bad audio' } }, { status: 400 })));
    const res = await withStt.api.request('POST', '/v1/turn/audio', { rawBody: new Uint8Array([1, 2]), headers: { ...AUTH, 'content-type': 'audio/wav' } });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('PROVIDER_ERROR');
  });

  it('ends the stream with event: error when the turn cannot start or the run fails mid-stream', async () => {
    const ghostly = await serve({ authToken: TOKEN, allowedTools: [], agent: 'ghost' });
    const request = { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'anyone?' }) };

    const atStart = await readSse(`${ghostly.url}/v1/turn/stream`, request);
    expect(atStart.status).toBe(200);
    expect(atStart.events).toHaveLength(1);
    expect(atStart.events[0]!.event).toBe('error');
    expect(JSON.parse(atStart.events[0]!.data)).toEqual({ type: 'error', code: 'AGENT_NOT_FOUND', message: 'Agent \'ghost\' not found' });
    expect((await ghostly.api.post('/v1/turn', { prompt: 'anyone?' }, { headers: AUTH })).body.error.code).toBe('AGENT_NOT_FOUND');

    await ghostly.api.post('/api/agents', { name: 'ghost', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    openAiStream(['partial ', 'answer'], { fail: true });
    const midStream = await readSse(`${ghostly.url}/v1/turn/stream`, request);
    const types = midStream.events.map((e) => (e.event === 'error' ? 'event:error' : JSON.parse(e.data).type));
    expect(types).toEqual(['turn_started', 'assistant_chunk', 'assistant_chunk', 'event:error']);
    expect(JSON.parse(midStream.events.at(-1)!.data)).toMatchObject({ type: 'error', code: 'PROVIDER_ERROR' });
    expect(midStream.events.some((e) => e.data === '[DONE]')).toBe(false);

    openAiStream(['nope'], { fail: true });
    const failed = await ghostly.api.post('/v1/turn', { prompt: 'anyone?' }, { headers: AUTH });
    expect(failed.status).toBe(502);
    expect(failed.body.error).toMatchObject({ code: 'PROVIDER_ERROR', details: { run_id: expect.stringMatching(/^run_/) } });
  });

  it('adds systemPrompt to the agent\'s system prompt for that turn only, and runs on the agent\'s model', async () => {
    const guided = await serve({ authToken: TOKEN, allowedTools: [], agent: 'guided' });
    await guided.api.post('/api/agents', { name: 'guided', system_prompt: 'You are terse.', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    const bodies: any[] = [];
    openAiStream(['ok'], { capture: bodies });
    const res = await guided.api.post('/v1/turn', { prompt: 'hi', systemPrompt: 'Answer in French.', model: 'gpt-4o' }, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.body.assistant).toBe('ok');
    expect(res.body.events[0].model).toEqual({ provider: 'openai', name: 'gpt-4o-mini' });
    expect(bodies[0].model).toBe('gpt-4o-mini');
    const system = bodies[0].messages[0];
    expect(system.role).toBe('system');
    expect(system.content).toContain('You are terse.');
    expect(system.content).toContain('Answer in French.');
  });
});

describe('the standalone channel host', () => {
  let host: RunningServer;
  let home: string;
  /** The rate limiter's clock, so a test starts a fresh window. */
  let clock = 1_700_000_000_000;

  beforeAll(async () => {
    home = makeTempHome();
    const config = await loadConfig({
      cwd: home,
      env: { MOXXY_HOME: home, MOXXY_HTTP_TOKEN: TOKEN },
      overrides: { logLevel: 'silent', channels: { http: { authToken: TOKEN, allowedTools: ['memory.*'] } } },
    });
    const services = await createServices(config);
    // The channel's list narrows the agent's own; the agent must allow memory tools too.
    await services.agents.update('default', { allowed_tools: ['memory.*'] });
    host = await startChannelServer(services, { host: '127.0.0.1', port: 0 }, { now: () => clock });
  });
  afterAll(async () => {
    await host?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('serves only the seed 001 routes', async () => {
    const api = createApi(host.url);
    expect((await api.get('/v1/health')).body).toEqual({ status: 'ok' });
    expect((await api.post('/v1/turn', { prompt: 'hi' })).status).toBe(401);
    const turn = await api.post('/v1/turn', { prompt: `Keep ${STORE_TAG}` }, { headers: AUTH });
    expect(turn.status).toBe(200);
    expect(events(turn.body).find((e) => e.type === 'tool_result')).toMatchObject({ name: 'memory.store', is_error: false });
    expect((await fetch(`${host.url}/api/agents`)).status).toBe(404);
  });

  it('rate-limits turns like the API: 429 RATE_LIMITED with Retry-After after 10 in a second', async () => {
    clock += 1000;
    const api = createApi(host.url);
    for (let i = 0; i < 10; i++) expect((await api.post('/v1/turn', {}, { headers: AUTH })).status).toBe(400);
    const limited = await api.post('/v1/turn', {}, { headers: AUTH });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(limited.headers.get('retry-after')).toBe('1');
  });

  it('answers bad input with the envelope: a wrong method, deep JSON, a stray content type, malformed HTTP', async () => {
    clock += 1000;
    const api = createApi(host.url);
    const query = await api.request('QUERY', '/v1/turn', { headers: AUTH });
    expect(query.status).toBe(405);
    expect(query.headers.get('allow')).toBe('POST');
    expect(query.body.error.code).toBe('METHOD_NOT_ALLOWED');
    const deep = await api.request('POST', '/v1/turn', { rawBody: `{"prompt":${'['.repeat(5_000)}${']'.repeat(5_000)}}`, headers: { ...AUTH, 'content-type': 'application/json' } });
    expect(deep.status).toBe(400);
    expect(deep.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { max_depth: 64 } });
    const text = await api.request('POST', '/v1/turn', { rawBody: 'hello', headers: { ...AUTH, 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    const malformed = await rawRequest(host.url, { path: '/v1/turn', method: 'POST', headers: { ...AUTH, 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'content-length': '5' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('throttles wrong bearer tokens per client address, as the API does', async () => {
    const from = '127.0.0.5';
    const turn = (token: string) =>
      rawRequest(host.url, { method: 'POST', path: '/v1/turn', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"prompt":"hi"}', localAddress: from });
    for (let i = 0; i < 10; i++) expect((await turn(`guess-${i}`)).status).toBe(401);
    const throttled = await turn(TOKEN);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('60');
  });

  it('refuses to start without allowedTools or without a token', async () => {
    for (const http of [{ authToken: TOKEN }, { allowedTools: [] }]) {
      const other = makeTempHome();
      const config = await loadConfig({ cwd: other, env: { MOXXY_HOME: other }, overrides: { logLevel: 'silent', channels: { http } } });
      const services = await createServices(config);
      await expect(startChannelServer(services, { host: '127.0.0.1', port: 0 })).rejects.toMatchObject({ code: 'CHANNEL_NOT_CONFIGURED' });
      await services.close();
      rmSync(other, { recursive: true, force: true });
    }
  });
});
