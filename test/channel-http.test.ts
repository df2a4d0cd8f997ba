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
import { parseSse, readSse } from './helpers/sse.ts';
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
            controller.enqueue(encoder.encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 2 } })}\n\ndata: [DONE]\n\n`));
            controller.close();
          }
        },
      });
      return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
    }),
  );
}

/** OpenAI's answer to a model it does not have. */
function openAiUnknownModel(capture: unknown[] = []) {
  msw.use(
    http.post(`${OPENAI}/chat/completions`, async ({ request }) => {
      const body = (await request.json()) as { model: string };
      capture.push(body);
      return HttpResponse.json({ error: { message: `The model \`${body.model}\` does not exist`, code: 'model_not_found' } }, { status: 404 });
    }),
  );
}

const events = (body: { events: MoxxyEvent[] }) => body.events.map((event) => MoxxyEvent.parse(event));
const ofType = <T extends MoxxyEvent['type']>(turn: MoxxyEvent[], type: T) => turn.filter((e): e is Extract<MoxxyEvent, { type: T }> => e.type === type);

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

  it('answers 401 {"error": "unauthorized"} without the bearer token or with a wrong one', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token' }, { authorization: TOKEN }, { authorization: `Bearer ${TOKEN}x` }];
    for (const headers of attempts) {
      for (const path of ['/v1/turn', '/v1/turn/stream']) {
        const res = await server.api.post(path, { prompt: 'hi' }, { headers });
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ error: 'unauthorized', message: expect.stringContaining('bearer token') });
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="moxxy"');
      }
    }
    const audio = await server.api.request('POST', '/v1/turn/audio', { rawBody: new Uint8Array([1, 2, 3]), headers: { 'content-type': 'audio/m4a' } });
    expect(audio.status).toBe(401);
    expect(audio.body.error).toBe('unauthorized');
  });

  it('checks the token before reading or validating the body', async () => {
    const res = await server.api.request('POST', '/v1/turn', { rawBody: '{not json', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('unauthorized');
  });

  it('answers 503 channel_not_configured without allowedTools, even with a token (MOXXY_HTTP_TOKEN)', async () => {
    const unconfigured = await serve(undefined, {}, { MOXXY_HTTP_TOKEN: TOKEN });
    const res = await unconfigured.api.post('/v1/turn', { prompt: 'hi' }, { headers: AUTH });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'channel_not_configured', message: expect.stringContaining('allowedTools') });
    expect((await unconfigured.api.get('/v1/health')).status).toBe(200);
  });

  it('serves a channel without a token openly on an open loopback server, still refusing a wrong token', async () => {
    const tokenless = await serve({ allowedTools: [] });
    const res = await tokenless.api.post('/v1/turn', { prompt: 'open on loopback' });
    expect(res.status).toBe(200);
    expect(res.body.assistant).toBe('open on loopback');
    const stream = await readSse(`${tokenless.url}/v1/turn/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"hi"}' });
    expect(stream.events.at(-1)).toEqual({ data: '[DONE]' });
    const wrong = await tokenless.api.post('/v1/turn', { prompt: 'hi' }, { headers: { authorization: 'Bearer guessed' } });
    expect(wrong.status).toBe(401);
    // The open server answers loopback names only, as the API does (DNS rebinding).
    const rebound = await rawRequest(tokenless.url, { method: 'POST', path: '/v1/turn', headers: { host: 'attacker.example', 'content-type': 'application/json' }, body: '{"prompt":"hi"}' });
    expect(rebound.status).toBe(421);
    expect(rebound.body.error).toBe('host_not_allowed');
  });

  it('answers 503 channel_not_configured without a token on a server that is not open', async () => {
    const guarded = await serve({ allowedTools: [] }, {}, { MOXXY_INTERNAL_TOKEN: 'internal-token-of-the-channel-suite-0123456' });
    const res = await guarded.api.post('/v1/turn', { prompt: 'hi' });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'channel_not_configured', message: expect.stringContaining('MOXXY_HTTP_TOKEN') });
  });

  it('runs a turn on POST /v1/turn as the MoxxyEvents of Moxxy\'s SDK, and the assistant text', async () => {
    const before = Date.now();
    const res = await server.api.post('/v1/turn', { prompt: 'Hello over the channel' }, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.body.assistant).toBe('Hello over the channel');
    const turn = events(res.body);
    expect(turn.map((e) => e.type)).toEqual([
      'user_prompt', 'provider_request', 'assistant_chunk', 'assistant_chunk', 'assistant_chunk', 'assistant_chunk', 'provider_response', 'assistant_message',
    ]);
    const [first] = turn;
    expect(turn.map((e) => e.seq)).toEqual(turn.map((_, i) => i));
    expect(new Set(turn.map((e) => e.id)).size).toBe(turn.length);
    for (const event of turn) {
      expect(event).toMatchObject({ sessionId: first!.sessionId, turnId: first!.turnId });
      expect(event.ts).toBeGreaterThanOrEqual(before);
      expect(event.ts).toBeLessThanOrEqual(Date.now());
    }
    expect(first).toMatchObject({ type: 'user_prompt', source: 'user', text: 'Hello over the channel', sessionId: expect.stringMatching(/^ses_/), turnId: expect.stringMatching(/^run_/) });
    expect(turn[1]).toMatchObject({ type: 'provider_request', source: 'model', provider: 'echo', model: 'echo' });
    expect(ofType(turn, 'assistant_chunk').map((e) => e.delta).join('')).toBe('Hello over the channel');
    expect(turn[6]).toMatchObject({ type: 'provider_response', provider: 'echo', model: 'echo', inputTokens: expect.any(Number), outputTokens: 4 });
    expect(turn[7]).toMatchObject({ type: 'assistant_message', source: 'model', content: 'Hello over the channel', stopReason: 'end_turn' });

    const run = (await server.api.get(`/api/runs/${first!.turnId}`)).body.data;
    expect(run).toMatchObject({ source: 'channel:http', agent_id: 'toolbox', status: 'completed', output: 'Hello over the channel', session_id: first!.sessionId });

    const again = events((await server.api.post('/v1/turn', { prompt: 'second' }, { headers: AUTH })).body);
    expect(again[0]!.sessionId).not.toBe(first!.sessionId);
  });

  it('records channel.message_received and channel.message_sent around a turn', async () => {
    const res = await server.api.post('/v1/turn', { prompt: 'audit me' }, { headers: AUTH });
    const runId = res.body.events[0].turnId;
    const audit = (await server.api.get('/api/audit?agent_id=toolbox&event_type=channel.message_received,channel.message_sent&limit=1000')).body.data.events;
    const received = audit.filter((e: any) => e.event_type === 'channel.message_received' && e.payload.content === 'audit me');
    const sent = audit.filter((e: any) => e.event_type === 'channel.message_sent' && e.run_id === runId);
    expect(received).toHaveLength(1);
    expect(received[0].payload).toMatchObject({ channel: 'http' });
    expect(sent).toHaveLength(1);
    expect(sent[0].payload).toMatchObject({ channel: 'http', status: 'completed', content: 'audit me' });
  });

  it('denies, with allowedTools [], a tool the agent itself allows: tool_call_denied by policy, and nothing stored', async () => {
    const res = await server.api.post('/v1/turn', { prompt: `Remember ${STORE_TAG}` }, { headers: AUTH });
    expect(res.status).toBe(200);
    const turn = events(res.body);
    const [requested] = ofType(turn, 'tool_call_requested');
    expect(requested).toMatchObject({ source: 'model', callId: 'call_1', name: 'memory.store', input: { content: 'x' } });
    expect(ofType(turn, 'tool_call_approved')).toEqual([]);
    expect(ofType(turn, 'tool_call_denied')).toEqual([
      expect.objectContaining({ callId: 'call_1', decidedBy: 'policy', reason: expect.stringContaining("the channel 'http' allow-list does not include it") }),
    ]);
    expect(ofType(turn, 'tool_result')).toEqual([
      expect.objectContaining({ source: 'tool', callId: 'call_1', ok: false, error: { kind: 'denied', message: expect.stringContaining('not allowed') } }),
    ]);
    expect(ofType(turn, 'assistant_message').map((e) => e.stopReason)).toEqual(['tool_use', 'end_turn']);
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
    expect(turn.map((e) => e.seq)).toEqual(turn.map((_, i) => i));
    expect(turn[0]).toMatchObject({ type: 'user_prompt', text: 'Stream this please' });
    expect(ofType(turn, 'assistant_chunk').map((e) => e.delta).join('')).toBe('Stream this please');
    expect(turn.slice(-2).map((e) => e.type)).toEqual(['provider_response', 'assistant_message']);
  });

  it('answers an invalid body with 400 bad_request', async () => {
    for (const body of [{}, { prompt: '' }, { prompt: 'hi', extra: true }, { prompt: 42 }, { prompt: 'hi', model: '' }]) {
      const res = await server.api.post('/v1/turn', body, { headers: AUTH });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'bad_request', message: expect.stringContaining('Invalid request') });
    }
    const malformed = await server.api.request('POST', '/v1/turn/stream', { rawBody: '{"prompt": ', headers: { ...AUTH, 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ error: 'bad_request', message: expect.stringContaining('Request body is not valid JSON') });
  });

  it('caps JSON bodies at 64 KB with 413 payload_too_large', async () => {
    const res = await server.api.post('/v1/turn', { prompt: 'a'.repeat(70 * 1024) }, { headers: AUTH });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: 'payload_too_large', message: 'Request body is larger than 65536 bytes' });
  });

  it('answers POST /v1/turn/audio with 503 no_transcriber when none is configured', async () => {
    const res = await server.api.request('POST', '/v1/turn/audio', { rawBody: new Uint8Array([1, 2, 3]), headers: { ...AUTH, 'content-type': 'audio/m4a' } });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'no_transcriber', message: expect.stringContaining('transcription') });
  });

  it('transcribes audio, runs the transcript as the turn on ?model=, and accepts more than 64 KB of audio', async () => {
    const withStt = await serve({ authToken: TOKEN, allowedTools: [] }, { transcription: { baseUrl: STT, apiKey: 'stt-key' } });
    const uploads: Array<{ auth: string | null; model: unknown; language: unknown; file: File }> = [];
    msw.use(
      http.post(`${STT}/audio/transcriptions`, async ({ request }) => {
        const form = await request.formData();
        uploads.push({ auth: request.headers.get('authorization'), model: form.get('model'), language: form.get('language'), file: form.get('file') as File });
        return HttpResponse.json({ text: ' summarize today\'s calendar ' });
      }),
    );
    const bodies: any[] = [];
    openAiStream(['three meetings'], { capture: bodies });
    const audio = Buffer.alloc(200 * 1024, 'voice');
    const res = await withStt.api.request('POST', '/v1/turn/audio?model=openai:gpt-4o-mini-transcribed&language=en', {
      rawBody: audio,
      headers: { ...AUTH, 'content-type': 'audio/m4a' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ transcript: 'summarize today\'s calendar', assistant: 'three meetings' });
    const turn = events(res.body);
    expect(turn[0]).toMatchObject({ type: 'user_prompt', text: 'summarize today\'s calendar' });
    expect(ofType(turn, 'provider_request')).toEqual([expect.objectContaining({ provider: 'openai', model: 'gpt-4o-mini-transcribed' })]);
    expect(bodies.map((body) => body.model)).toEqual(['gpt-4o-mini-transcribed']);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ auth: 'Bearer stt-key', model: 'whisper-1', language: 'en' });
    expect(uploads[0]!.file.name).toBe('audio.m4a');
    expect(Buffer.from(await uploads[0]!.file.arrayBuffer()).equals(audio)).toBe(true);

    const json = await withStt.api.post('/v1/turn/audio', { prompt: 'not audio' }, { headers: AUTH });
    expect(json.status).toBe(415);
    expect(json.body.error).toBe('unsupported_media_type');
    const elsewhere = await withStt.api.request('POST', '/api/agents', { rawBody: new Uint8Array([1]), headers: { 'content-type': 'audio/m4a' } });
    expect(elsewhere.status).toBe(415);
    expect(elsewhere.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('names each audio failure: empty_body, transcription_failed, empty_transcript', async () => {
    const withStt = await serve({ authToken: TOKEN, allowedTools: [] }, { transcription: { baseUrl: STT } });
    const send = (bytes: Uint8Array) => withStt.api.request('POST', '/v1/turn/audio', { rawBody: bytes, headers: { ...AUTH, 'content-type': 'audio/wav' } });

    const empty = await send(new Uint8Array());
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({ error: 'empty_body', message: 'The audio is empty' });

    msw.use(http.post(`${STT}/audio/transcriptions`, () => HttpResponse.json({ error: { message: 'bad audio' } }, { status: 400 })));
    const failed = await send(new Uint8Array([1, 2]));
    expect(failed.status).toBe(502);
    expect(failed.body).toEqual({ error: 'transcription_failed', message: expect.stringContaining('HTTP 400') });

    msw.use(http.post(`${STT}/audio/transcriptions`, () => HttpResponse.json({ text: '   ' })));
    const silent = await send(new Uint8Array([1, 2]));
    expect(silent.status).toBe(422);
    expect(silent.body).toEqual({ error: 'empty_transcript', message: 'The transcriber heard no speech in the audio' });
  });

  it('answers a turn that cannot start with turn_failed, and ends a stream failing mid-way with the error event and event: error', async () => {
    const ghostly = await serve({ authToken: TOKEN, allowedTools: [], agent: 'ghost' });
    const request = { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'anyone?' }) };

    // Nothing was streamed yet: the failure keeps its HTTP status, as on /v1/turn.
    const atStart = await ghostly.api.post('/v1/turn/stream', { prompt: 'anyone?' }, { headers: AUTH });
    expect(atStart.status).toBe(500);
    expect(atStart.body).toEqual({ error: 'turn_failed', message: 'Agent \'ghost\' not found' });
    expect((await ghostly.api.post('/v1/turn', { prompt: 'anyone?' }, { headers: AUTH })).body.error).toBe('turn_failed');

    await ghostly.api.post('/api/agents', { name: 'ghost', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    openAiStream(['partial ', 'answer'], { fail: true });
    const midStream = await readSse(`${ghostly.url}/v1/turn/stream`, request);
    expect(midStream.status).toBe(200);
    const types = midStream.events.map((e) => (e.event === 'error' ? 'event:error' : JSON.parse(e.data).type));
    expect(types).toEqual(['user_prompt', 'provider_request', 'assistant_chunk', 'assistant_chunk', 'error', 'event:error']);
    const runId = JSON.parse(midStream.events[0]!.data).turnId;
    expect(MoxxyEvent.parse(JSON.parse(midStream.events.at(-2)!.data))).toMatchObject({ type: 'error', kind: 'provider_failed', message: expect.stringContaining('openai') });
    expect(JSON.parse(midStream.events.at(-1)!.data)).toEqual({ error: 'turn_failed', message: expect.stringContaining('openai'), run_id: runId });
    expect(midStream.events.some((e) => e.data === '[DONE]')).toBe(false);

    openAiStream(['nope'], { fail: true });
    const failed = await ghostly.api.post('/v1/turn', { prompt: 'anyone?' }, { headers: AUTH });
    expect(failed.status).toBe(502);
    expect(failed.body).toEqual({ error: 'turn_failed', message: expect.stringContaining('openai'), run_id: expect.stringMatching(/^run_/) });
  });

  it('adds systemPrompt to the agent\'s system prompt for that turn only', async () => {
    const guided = await serve({ authToken: TOKEN, allowedTools: [], agent: 'guided' });
    await guided.api.post('/api/agents', { name: 'guided', system_prompt: 'You are terse.', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    const bodies: any[] = [];
    openAiStream(['ok'], { capture: bodies });
    const res = await guided.api.post('/v1/turn', { prompt: 'hi', systemPrompt: 'Answer in French.' }, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.body.assistant).toBe('ok');
    const system = bodies[0].messages[0];
    expect(system.role).toBe('system');
    expect(system.content).toContain('You are terse.');
    expect(system.content).toContain('Answer in French.');
    openAiStream(['ok'], { capture: bodies });
    await guided.api.post('/v1/turn', { prompt: 'hi' }, { headers: AUTH });
    expect(bodies[1].messages[0].content).not.toContain('Answer in French.');
  });
});

describe('choosing the model of a turn (model, ?model=)', () => {
  let chooser: TestServer;
  beforeAll(async () => {
    chooser = await serve({ authToken: TOKEN, allowedTools: [], agent: 'chooser' });
    await chooser.api.post('/api/agents', { name: 'chooser', model: { provider: 'openai', name: 'gpt-4o-mini', parameters: { temperature: 0.3 } } });
  });

  it('runs a bare name on the agent\'s provider, keeping the agent\'s parameters, for that turn only', async () => {
    const bodies: any[] = [];
    openAiStream(['ok'], { capture: bodies });
    const res = await chooser.api.post('/v1/turn', { prompt: 'hi', model: 'gpt-4o' }, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(events(res.body).find((e) => e.type === 'provider_request')).toMatchObject({ provider: 'openai', model: 'gpt-4o' });
    expect(bodies[0]).toMatchObject({ model: 'gpt-4o', temperature: 0.3 });
    const run = (await chooser.api.get(`/api/runs/${res.body.events[0].turnId}`)).body.data;
    expect(run.status).toBe('completed');

    openAiStream(['ok'], { capture: bodies });
    await chooser.api.post('/v1/turn', { prompt: 'hi' }, { headers: AUTH });
    expect(bodies[1].model).toBe('gpt-4o-mini');
  });

  it('reads "<provider>:<name>" as one of the server\'s providers, and any other prefix as part of the name', async () => {
    const onEcho = await server.api.post('/v1/turn', { prompt: 'echoed', model: 'echo:echo' }, { headers: AUTH });
    expect(events(onEcho.body).find((e) => e.type === 'provider_request')).toMatchObject({ provider: 'echo', model: 'echo' });

    const bodies: any[] = [];
    openAiStream(['from openai'], { capture: bodies });
    // The channel's agent (toolbox) is on echo: the turn goes to openai all the same.
    const onOpenAi = await server.api.post('/v1/turn', { prompt: 'hi', model: 'openai:gpt-4o' }, { headers: AUTH });
    expect(onOpenAi.body.assistant).toBe('from openai');
    expect(bodies[0].model).toBe('gpt-4o');

    openAiStream(['from ollama'], { capture: bodies });
    const ollama = await chooser.api.post('/v1/turn', { prompt: 'hi', model: 'llama3:8b' }, { headers: AUTH });
    expect(events(ollama.body).find((e) => e.type === 'provider_request')).toMatchObject({ provider: 'openai', model: 'llama3:8b' });
    expect(bodies[1].model).toBe('llama3:8b');
  });

  it('answers 400 bad_request for a model the provider does not have, on /v1/turn and /v1/turn/stream alike', async () => {
    const asked: any[] = [];
    openAiUnknownModel(asked);
    const res = await chooser.api.post('/v1/turn', { prompt: 'hi', model: 'gpt-9-imaginary' }, { headers: AUTH });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'bad_request', message: expect.stringContaining("openai does not know the model 'gpt-9-imaginary'"), run_id: expect.stringMatching(/^run_/) });
    expect(asked.map((body) => body.model)).toEqual(['gpt-9-imaginary']);
    expect((await chooser.api.get(`/api/runs/${res.body.run_id}`)).body.data).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_ERROR' } });

    openAiUnknownModel();
    const streamed = await chooser.api.post('/v1/turn/stream', { prompt: 'hi', model: 'gpt-9-imaginary' }, { headers: AUTH });
    expect(streamed.status).toBe(400);
    expect(streamed.body.error).toBe('bad_request');
  });

  it('answers 400 bad_request for a provider the server has no settings for', async () => {
    const res = await chooser.api.post('/v1/turn', { prompt: 'hi', model: 'anthropic:claude-sonnet-4-5' }, { headers: AUTH });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'bad_request', message: expect.stringContaining('no settings for anthropic') });
  });

  it('keeps a provider failure of the agent\'s own model a turn_failed, not a bad request', async () => {
    openAiUnknownModel();
    const res = await chooser.api.post('/v1/turn', { prompt: 'hi' }, { headers: AUTH });
    expect(res.status).toBe(502);
    expect(res.body.error).toBe('turn_failed');
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

  it('serves only the seed 001 routes, approving by policy the tools its list allows', async () => {
    const api = createApi(host.url);
    expect((await api.get('/v1/health')).body).toEqual({ status: 'ok' });
    expect((await api.post('/v1/turn', { prompt: 'hi' })).status).toBe(401);
    const turn = await api.post('/v1/turn', { prompt: `Keep ${STORE_TAG}` }, { headers: AUTH });
    expect(turn.status).toBe(200);
    const turnEvents = events(turn.body);
    expect(ofType(turnEvents, 'tool_call_approved')).toEqual([expect.objectContaining({ source: 'system', callId: 'call_1', decidedBy: 'policy', mode: 'allow' })]);
    expect(ofType(turnEvents, 'tool_result')).toEqual([expect.objectContaining({ callId: 'call_1', ok: true, output: expect.stringMatching(/^Stored memory mem_/) })]);
    expect((await fetch(`${host.url}/api/agents`)).status).toBe(404);
  });

  it('rate-limits turns like the API: 429 too_many_turns with Retry-After after 10 in a second', async () => {
    clock += 1000;
    const api = createApi(host.url);
    for (let i = 0; i < 10; i++) expect((await api.post('/v1/turn', {}, { headers: AUTH })).status).toBe(400);
    const limited = await api.post('/v1/turn', {}, { headers: AUTH });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'too_many_turns', message: 'Too many chat requests: at most 10 a second' });
    expect(limited.headers.get('retry-after')).toBe('1');
  });

  it('answers bad input: deep JSON and a stray content type in the channel\'s shape, what no route takes in the envelope', async () => {
    clock += 1000;
    const api = createApi(host.url);
    const deep = await api.request('POST', '/v1/turn', { rawBody: `{"prompt":${'['.repeat(5_000)}${']'.repeat(5_000)}}`, headers: { ...AUTH, 'content-type': 'application/json' } });
    expect(deep.status).toBe(400);
    expect(deep.body).toEqual({ error: 'bad_request', message: expect.stringContaining('64') });
    const text = await api.request('POST', '/v1/turn', { rawBody: 'hello', headers: { ...AUTH, 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.error).toBe('unsupported_media_type');
    // No route answers these: the method is not the route's, the HTTP is broken before any route is known.
    const query = await api.request('QUERY', '/v1/turn', { headers: AUTH });
    expect(query.status).toBe(405);
    expect(query.headers.get('allow')).toBe('POST');
    expect(query.body.error.code).toBe('METHOD_NOT_ALLOWED');
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
    expect(throttled.body.error).toBe('too_many_turns');
    expect(throttled.headers['retry-after']).toBe('60');
  });

  it('refuses to start without allowedTools, or without a token on an address others can reach', async () => {
    for (const [http, host] of [[{ authToken: TOKEN }, '127.0.0.1'], [{ allowedTools: [] }, '0.0.0.0']] as const) {
      const other = makeTempHome();
      const config = await loadConfig({ cwd: other, env: { MOXXY_HOME: other }, overrides: { logLevel: 'silent', channels: { http } } });
      const services = await createServices(config);
      await expect(startChannelServer(services, { host, port: 0 })).rejects.toMatchObject({ code: 'CHANNEL_NOT_CONFIGURED' });
      await services.close();
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('serves openly on a loopback address without a token, answering loopback names only', async () => {
    const other = makeTempHome();
    const config = await loadConfig({ cwd: other, env: { MOXXY_HOME: other }, overrides: { logLevel: 'silent', channels: { http: { allowedTools: [] } } } });
    const open = await startChannelServer(await createServices(config), { host: '127.0.0.1', port: 0 });
    try {
      const turn = await createApi(open.url).post('/v1/turn', { prompt: 'no token needed' });
      expect(turn.status).toBe(200);
      expect(turn.body.assistant).toBe('no token needed');
      const rebound = await rawRequest(open.url, { method: 'POST', path: '/v1/turn', headers: { host: 'attacker.example', 'content-type': 'application/json' }, body: '{"prompt":"hi"}' });
      expect(rebound.status).toBe(421);
    } finally {
      await open.close();
      rmSync(other, { recursive: true, force: true });
    }
  });
});

/**
 * The assertions of Moxxy's own @moxxy/plugin-channel-http integration tests (src/integration.test.ts), run against
 * `moxxy channels http` as they run against Moxxy's HttpChannel: a seed 001 client written for Moxxy works here.
 */
describe("Moxxy's plugin-channel-http integration assertions", () => {
  let channel: RunningServer;
  let open: RunningServer;
  let baseUrl: string;
  const homes: string[] = [];

  async function start(http: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    const home = makeTempHome();
    homes.push(home);
    const config = await loadConfig({ cwd: home, env: { MOXXY_HOME: home }, overrides: { logLevel: 'silent', channels: { http }, ...extra } });
    return startChannelServer(await createServices(config), { host: '127.0.0.1', port: 0 });
  }

  beforeAll(async () => {
    channel = await start({ authToken: TOKEN, allowedTools: ['Read', 'Glob'] }, { transcription: { baseUrl: STT } });
    open = await start({ allowedTools: ['Read'] });
    baseUrl = channel.url;
  });
  afterAll(async () => {
    await channel?.close();
    await open?.close();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('GET /v1/health returns 200 ok without auth', async () => {
    const res = await fetch(`${baseUrl}/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('POST /v1/turn rejects missing and wrong Bearer tokens with 401', async () => {
    const missing = await fetch(`${baseUrl}/v1/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi' }) });
    expect(missing.status).toBe(401);
    const wrong = await fetch(`${baseUrl}/v1/turn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token' },
      body: JSON.stringify({ prompt: 'hi' }),
    });
    expect(wrong.status).toBe(401);
  });

  it('POST /v1/turn rejects malformed body with 400', async () => {
    const res = await fetch(`${baseUrl}/v1/turn`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: '{"not-prompt": 1}' });
    expect(res.status).toBe(400);
  });

  it('POST /v1/turn drives a full turn and returns events + assistant text', async () => {
    const res = await fetch(`${baseUrl}/v1/turn`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ prompt: 'say hi' }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { events: Array<{ type: string }>; assistant: string };
    expect(body.assistant).toContain('say hi');
    expect(body.events.some((e) => e.type === 'user_prompt')).toBe(true);
    expect(body.events.some((e) => e.type === 'assistant_message')).toBe(true);
  });

  it('POST /v1/turn/stream returns Server-Sent Events with [DONE] terminator', async () => {
    const res = await fetch(`${baseUrl}/v1/turn/stream`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ prompt: 'say hi' }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toContain('data: ');
    expect(text).toMatch(/data: \[DONE\]\n\n$/);
    const parsed = parseSse(text)
      .events.filter((event) => event.data !== '[DONE]')
      .map((event) => JSON.parse(event.data) as { type: string });
    expect(parsed.some((e) => e.type === 'user_prompt')).toBe(true);
    expect(parsed.some((e) => e.type === 'assistant_chunk')).toBe(true);
  });

  it('GET on an unknown path returns 404', async () => {
    expect((await fetch(`${baseUrl}/nonsense`)).status).toBe(404);
  });

  it('POST /v1/turn/audio transcribes the body and runs a full turn', async () => {
    msw.use(http.post(`${STT}/audio/transcriptions`, () => HttpResponse.json({ text: 'transcribed voice content' })));
    const res = await fetch(`${baseUrl}/v1/turn/audio`, {
      method: 'POST',
      headers: { 'content-type': 'audio/ogg', authorization: `Bearer ${TOKEN}` },
      body: new Uint8Array([0x4f, 0x67, 0x67, 0x53]),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { transcript: string; assistant: string; events: Array<{ type: string }> };
    expect(body.transcript).toBe('transcribed voice content');
    expect(body.assistant).toContain('transcribed voice content');
    expect(body.events.some((e) => e.type === 'user_prompt')).toBe(true);
    expect(body.events.some((e) => e.type === 'assistant_message')).toBe(true);
  });

  it('POST /v1/turn/audio rejects non-audio Content-Type with 415', async () => {
    const res = await fetch(`${baseUrl}/v1/turn/audio`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${TOKEN}` }, body: 'bytes' });
    expect(res.status).toBe(415);
  });

  it('without authToken, /v1/turn does not require Bearer header', async () => {
    const res = await fetch(`${open.url}/v1/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi' }) });
    expect(res.status).toBe(200);
  });
});
