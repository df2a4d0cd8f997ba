import { createServer } from 'node:net';
import { delay, http, HttpResponse, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MoxxyConfig } from '../src/config/schema.ts';
import { AppError } from '../src/domain/errors.ts';
import { createProvider, type ChatMessage, type ModelRequest, type ModelStreamEvent, type ToolSpec } from '../src/services/providers/index.ts';

const OPENAI_URL = 'https://openai.test/v1';
const ANTHROPIC_URL = 'https://anthropic.test';
const SECRETS: Record<string, string> = { '${vault:OPENAI_KEY}': 'sk-openai-secret', '${vault:ANTHROPIC_KEY}': 'sk-ant-secret' };

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** What the providers logged at warn, as the server's logger would get it. */
const logged: Array<{ details: Record<string, unknown>; message: string }> = [];
const log = (details: Record<string, unknown>, message: string) => void logged.push({ details, message });
afterEach(() => void (logged.length = 0));

const resolvedSecrets: string[] = [];
async function resolveSecret(value: string): Promise<string> {
  resolvedSecrets.push(value);
  return SECRETS[value] ?? value;
}

function providersConfig(overrides: Partial<{ openai: MoxxyConfig['providers']['openai']; anthropic: MoxxyConfig['providers']['anthropic'] }> = {}): MoxxyConfig['providers'] {
  return {
    openai: overrides.openai ?? { baseUrl: OPENAI_URL, apiKey: '${vault:OPENAI_KEY}' },
    anthropic: overrides.anthropic ?? { baseUrl: ANTHROPIC_URL, apiKey: '${vault:ANTHROPIC_KEY}' },
    timeoutMs: 5_000,
    maxRetries: 2,
    retryBaseDelayMs: 1,
  };
}

const memoryStore: ToolSpec = {
  name: 'memory.store',
  description: 'Store a memory',
  input_schema: { type: 'object', properties: { content: { type: 'string' } }, required: ['content'] },
};
const memorySearch: ToolSpec = {
  name: 'memory.search',
  description: 'Search memories',
  input_schema: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } }, required: ['query'] },
};

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Remember that I like tea.' },
  { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', name: 'memory.store', arguments: { content: 'likes tea' } }] },
  { role: 'tool', tool_call_id: 'call_1', name: 'memory.store', content: 'stored mem_1' },
  { role: 'user', content: 'What do I like?' },
];

function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return { model: 'test-model', messages: conversation, tools: [memoryStore], parameters: {}, ...overrides };
}

/** An SSE body delivered in the given chunks, then closed, broken, or left open. */
function sseResponse(chunks: string[], end: 'close' | 'break' | 'hang' = 'close'): HttpResponse<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = chunks[next++];
      if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
      else if (end === 'close') controller.close();
      else if (end === 'break') {
        // Erroring discards queued chunks, so let the ones already sent reach the client first.
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.error(new Error('connection reset'));
      }
    },
  });
  return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
}

/** Splits a payload at fixed offsets, so lines and JSON straddle chunk boundaries. */
function splitEvery(text: string, size: number): string[] {
  return Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
}

function openAiChunk(choice: Record<string, unknown> | null, usage?: Record<string, number>): string {
  const chunk = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini', choices: choice ? [{ index: 0, ...choice }] : [], usage: usage ?? null };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

function anthropicEvent(type: string, fields: Record<string, unknown> = {}): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
}

interface Captured {
  headers: Record<string, string>;
  body: unknown;
}

async function capture(requestToCapture: Request, into: Captured[]): Promise<void> {
  into.push({ headers: Object.fromEntries(requestToCapture.headers), body: await requestToCapture.json() });
}

async function run(stream: AsyncIterable<ModelStreamEvent>): Promise<{ events: ModelStreamEvent[]; error: unknown }> {
  const events: ModelStreamEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

async function collect(stream: AsyncIterable<ModelStreamEvent>): Promise<ModelStreamEvent[]> {
  const { events, error } = await run(stream);
  if (error) throw error;
  return events;
}

describe('openai provider', () => {
  const openai = createProvider('openai', providersConfig(), resolveSecret, log);

  it('streams text and usage, sending mapped messages, tools and the bearer key', async () => {
    const sent: Captured[] = [];
    const payload = [
      openAiChunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }),
      openAiChunk({ delta: { content: 'You like' }, finish_reason: null }),
      openAiChunk({ delta: { content: ' tea.' }, finish_reason: null }),
      openAiChunk({ delta: {}, finish_reason: 'stop' }),
      openAiChunk(null, { prompt_tokens: 42, completion_tokens: 3, total_tokens: 45 }),
      'data: [DONE]\n\n',
    ].join('');
    server.use(
      http.post(`${OPENAI_URL}/chat/completions`, async ({ request: incoming }) => {
        await capture(incoming, sent);
        return sseResponse(splitEvery(payload, 97));
      }),
    );
    resolvedSecrets.length = 0;

    const events = await collect(openai.stream(request({ model: 'gpt-4o-mini', parameters: { temperature: 0.2 } })));

    expect(events).toEqual([
      { type: 'text', delta: 'You like' },
      { type: 'text', delta: ' tea.' },
      { type: 'usage', usage: { input_tokens: 42, output_tokens: 3 } },
      { type: 'done', finish_reason: 'stop' },
    ]);
    expect(resolvedSecrets).toEqual(['${vault:OPENAI_KEY}']);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers.authorization).toBe('Bearer sk-openai-secret');
    expect(sent[0]!.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Remember that I like tea.' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'memory__store', arguments: '{"content":"likes tea"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'stored mem_1' },
        { role: 'user', content: 'What do I like?' },
      ],
      tools: [{ type: 'function', function: { name: 'memory__store', description: 'Store a memory', parameters: memoryStore.input_schema } }],
      temperature: 0.2,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('assembles tool-call arguments split across chunks and maps tool names back', async () => {
    server.use(
      http.post(`${OPENAI_URL}/chat/completions`, () =>
        sseResponse([
          openAiChunk({
            delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_abc', type: 'function', function: { name: 'memory__store', arguments: '' } }] },
            finish_reason: null,
          }),
          openAiChunk({ delta: { tool_calls: [{ index: 0, function: { arguments: '{"conte' } }] }, finish_reason: null }),
          openAiChunk({ delta: { tool_calls: [{ index: 0, function: { arguments: 'nt": "likes' } }] }, finish_reason: null }),
          openAiChunk({ delta: { tool_calls: [{ index: 0, function: { arguments: ' green tea"}' } }] }, finish_reason: null }),
          openAiChunk({ delta: { tool_calls: [{ index: 1, id: 'call_def', type: 'function', function: { name: 'host_shell', arguments: '["ls' } }] }, finish_reason: null }),
          openAiChunk({ delta: { tool_calls: [{ index: 1, function: { arguments: ' -la"]' } }] }, finish_reason: null }),
          openAiChunk({ delta: {}, finish_reason: 'tool_calls' }),
          openAiChunk(null, { prompt_tokens: 80, completion_tokens: 25, total_tokens: 105 }) + 'data: [DONE]\n\n',
        ]),
      ),
    );

    const events = await collect(openai.stream(request()));

    expect(events).toEqual([
      { type: 'tool_call', call: { id: 'call_abc', name: 'memory.store', arguments: { content: 'likes green tea' } } },
      { type: 'tool_call', call: { id: 'call_def', name: 'host_shell', arguments: ['ls -la'] } },
      { type: 'usage', usage: { input_tokens: 80, output_tokens: 25 } },
      { type: 'done', finish_reason: 'tool_calls' },
    ]);
  });

  it('retries a 429 after its Retry-After, then streams the answer', async () => {
    let calls = 0;
    server.use(
      http.post(`${OPENAI_URL}/chat/completions`, () => {
        calls += 1;
        if (calls === 1) return HttpResponse.json({ error: { message: 'Rate limit reached' } }, { status: 429, headers: { 'retry-after': '1' } });
        return sseResponse([openAiChunk({ delta: { content: 'ok' }, finish_reason: 'stop' }), 'data: [DONE]\n\n']);
      }),
    );
    const started = Date.now();

    const events = await collect(openai.stream(request()));

    expect(calls).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(events).toEqual([
      { type: 'text', delta: 'ok' },
      { type: 'done', finish_reason: 'stop' },
    ]);
  });

  it('retries a network error before the stream starts', async () => {
    let calls = 0;
    server.use(
      http.post(`${OPENAI_URL}/chat/completions`, () => {
        calls += 1;
        if (calls === 1) return HttpResponse.error();
        return sseResponse([openAiChunk({ delta: { content: 'back' }, finish_reason: 'stop' }), 'data: [DONE]\n\n']);
      }),
    );

    const events = await collect(openai.stream(request()));

    expect(calls).toBe(2);
    expect(events[0]).toEqual({ type: 'text', delta: 'back' });
  });

  it('fails with PROVIDER_ERROR, without retrying, when the connection drops mid-stream', async () => {
    let calls = 0;
    server.use(
      http.post(`${OPENAI_URL}/chat/completions`, () => {
        calls += 1;
        return sseResponse([openAiChunk({ delta: { content: 'Hel' }, finish_reason: null })], 'break');
      }),
    );

    const { events, error } = await run(openai.stream(request()));

    expect(events).toEqual([{ type: 'text', delta: 'Hel' }]);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', status: 502, details: { provider: 'openai' } });
    expect(calls).toBe(1);
  });

  it('fails with PROVIDER_ERROR on malformed stream data', async () => {
    server.use(http.post(`${OPENAI_URL}/chat/completions`, () => sseResponse(['data: {"choices": [{"delta":\n\n', 'data: [DONE]\n\n'])));

    const { error } = await run(openai.stream(request()));

    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', message: expect.stringContaining('malformed stream data') });
  });

  it('fails with PROVIDER_ERROR when the stream closes before [DONE]', async () => {
    server.use(http.post(`${OPENAI_URL}/chat/completions`, () => sseResponse([openAiChunk({ delta: { content: 'Hel' }, finish_reason: null })])));

    const { events, error } = await run(openai.stream(request()));

    expect(events).toEqual([{ type: 'text', delta: 'Hel' }]);
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', message: 'openai request failed: the stream ended before [DONE]' });
  });

  it('fails with PROVIDER_ERROR, without retrying, when the server does not answer within timeoutMs', async () => {
    let calls = 0;
    server.use(
      http.post(`${OPENAI_URL}/chat/completions`, async () => {
        calls += 1;
        await delay(1_000);
        return sseResponse(['data: [DONE]\n\n']);
      }),
    );
    const impatient = createProvider('openai', { ...providersConfig(), timeoutMs: 100 }, resolveSecret, log);

    const { error } = await run(impatient.stream(request()));

    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', message: 'openai did not answer within 100 ms', details: { provider: 'openai' } });
    expect(calls).toBe(1);
  });

  it('fails with PROVIDER_ERROR when a started stream goes silent for timeoutMs', async () => {
    server.use(http.post(`${OPENAI_URL}/chat/completions`, () => sseResponse([openAiChunk({ delta: { content: 'Hel' }, finish_reason: null })], 'hang')));
    const impatient = createProvider('openai', { ...providersConfig(), timeoutMs: 100 }, resolveSecret, log);

    const { events, error } = await run(impatient.stream(request()));

    expect(events).toEqual([{ type: 'text', delta: 'Hel' }]);
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', message: 'openai request failed: no data received for 100 ms' });
  });

  it('stops reading and finishes cancelled when the signal aborts mid-stream', async () => {
    server.use(http.post(`${OPENAI_URL}/chat/completions`, () => sseResponse([openAiChunk({ delta: { content: 'Once upon' }, finish_reason: null })], 'hang')));
    const controller = new AbortController();
    const events: ModelStreamEvent[] = [];

    for await (const event of openai.stream(request({ signal: controller.signal }))) {
      events.push(event);
      if (event.type === 'text') controller.abort();
    }

    expect(events).toEqual([
      { type: 'text', delta: 'Once upon' },
      { type: 'done', finish_reason: 'cancelled' },
    ]);
  });

  it('sends nothing when the signal is already aborted', async () => {
    let calls = 0;
    server.use(
      http.post(`${OPENAI_URL}/chat/completions`, () => {
        calls += 1;
        return HttpResponse.error();
      }),
    );

    const events = await collect(openai.stream(request({ signal: AbortSignal.abort() })));

    expect(events).toEqual([{ type: 'done', finish_reason: 'cancelled' }]);
    expect(calls).toBe(0);
  });

  it('answers PROVIDER_NOT_CONFIGURED naming OPENAI_API_KEY when no key is set', async () => {
    const unconfigured = createProvider('openai', providersConfig({ openai: { baseUrl: OPENAI_URL } }), resolveSecret, log);

    const { error } = await run(unconfigured.stream(request()));

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED', status: 503, message: expect.stringContaining('OPENAI_API_KEY'), details: { provider: 'openai' } });
  });

  it('needs no key for a local OpenAI-compatible server such as Ollama', async () => {
    const sent: Captured[] = [];
    server.use(
      http.post('http://127.0.0.1:11434/v1/chat/completions', async ({ request: incoming }) => {
        await capture(incoming, sent);
        return sseResponse([openAiChunk({ delta: { content: 'local' }, finish_reason: 'stop' }), 'data: [DONE]\n\n']);
      }),
    );
    const ollama = createProvider('openai', providersConfig({ openai: { baseUrl: 'http://127.0.0.1:11434/v1' } }), resolveSecret, log);

    const events = await collect(ollama.stream(request({ model: 'llama3.2', tools: [] })));

    expect(events).toEqual([
      { type: 'text', delta: 'local' },
      { type: 'done', finish_reason: 'stop' },
    ]);
    expect(sent[0]!.headers.authorization).toBeUndefined();
    expect(sent[0]!.body).toMatchObject({ model: 'llama3.2' });
    expect(sent[0]!.body).not.toHaveProperty('tools');
  });
});

describe('provider failures, as the caller and the log see them', () => {
  const openai = createProvider('openai', providersConfig(), resolveSecret, log);

  /** A loopback port nothing listens on. */
  async function closedPort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    return port;
  }

  it.each([
    [401, { error: { message: 'Incorrect API key provided: sk-openai-secret' } }, 'Incorrect API key provided: [REDACTED]'],
    [404, { error: { message: 'The model `gpt-5-nano` does not exist' } }, 'The model `gpt-5-nano` does not exist'],
    [500, { error: { message: 'upstream exploded' } }, 'upstream exploded'],
  ])('logs an upstream %i at warn and puts the provider, the status and the cause in details, never the key', async (status, body, cause) => {
    server.use(http.post(`${OPENAI_URL}/chat/completions`, () => HttpResponse.json(body, { status })));

    const { error } = await run(openai.stream(request()));

    const details = { provider: 'openai', status, cause };
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', message: `openai answered HTTP ${status}: ${cause}`, details });
    expect(logged).toEqual([{ details: { ...details, url: `${OPENAI_URL}/chat/completions` }, message: `openai answered HTTP ${status}: ${cause}` }]);
    expect(JSON.stringify(logged)).not.toContain('sk-openai-secret');
  });

  it('names the address and the cause when the server cannot be reached, instead of "fetch failed"', async () => {
    const port = await closedPort();
    const baseUrl = `http://127.0.0.1:${port}/v1`;
    server.use(http.post(`${baseUrl}/chat/completions`, () => passthrough()));
    const local = createProvider('openai', providersConfig({ openai: { baseUrl } }), resolveSecret, log);

    const { error } = await run(local.stream(request()));

    const cause = `connect ECONNREFUSED 127.0.0.1:${port}`;
    const message = `openai could not be reached at ${baseUrl}/chat/completions: ${cause}`;
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', message, details: { provider: 'openai', cause } });
    expect((error as AppError).details).not.toHaveProperty('status');
    expect(logged).toEqual([{ details: { provider: 'openai', cause, url: `${baseUrl}/chat/completions` }, message }]);
  });

  it('logs a stream that breaks off, once, with its cause', async () => {
    server.use(http.post(`${OPENAI_URL}/chat/completions`, () => sseResponse([openAiChunk({ delta: { content: 'Hel' }, finish_reason: null })])));

    await run(openai.stream(request()));

    expect(logged).toEqual([
      { details: { provider: 'openai', cause: 'the stream ended before [DONE]', url: `${OPENAI_URL}/chat/completions` }, message: 'openai request failed: the stream ended before [DONE]' },
    ]);
  });

  it('accepts a whole JSON answer from a server that ignores stream: true, with text, tool calls and usage', async () => {
    server.use(
      http.post(`${OPENAI_URL}/chat/completions`, () =>
        HttpResponse.json({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: 'Storing it.',
                tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'memory__store', arguments: '{"content":"likes tea"}' } }],
              },
              finish_reason: 'tool_calls',
            },
          ],
          usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
        }),
      ),
    );

    const events = await collect(openai.stream(request()));

    expect(events).toEqual([
      { type: 'text', delta: 'Storing it.' },
      { type: 'tool_call', call: { id: 'call_9', name: 'memory.store', arguments: { content: 'likes tea' } } },
      { type: 'usage', usage: { input_tokens: 12, output_tokens: 4 } },
      { type: 'done', finish_reason: 'tool_calls' },
    ]);
    expect(logged).toEqual([]);
  });

  it('accepts a whole JSON answer from the anthropic Messages API too', async () => {
    server.use(
      http.post(`${ANTHROPIC_URL}/v1/messages`, () =>
        HttpResponse.json({
          type: 'message',
          role: 'assistant',
          content: [{ type: 'text', text: 'You like tea.' }],
          stop_reason: 'end_turn',
          usage: { input_tokens: 20, output_tokens: 5 },
        }),
      ),
    );
    const anthropic = createProvider('anthropic', providersConfig(), resolveSecret, log);

    expect(await collect(anthropic.stream(request()))).toEqual([
      { type: 'text', delta: 'You like tea.' },
      { type: 'usage', usage: { input_tokens: 20, output_tokens: 5 } },
      { type: 'done', finish_reason: 'stop' },
    ]);
  });
});

describe('anthropic provider', () => {
  const anthropic = createProvider('anthropic', providersConfig(), resolveSecret, log);

  it('streams text and a tool_use assembled from input_json_delta chunks, sending the Messages API shape', async () => {
    const sent: Captured[] = [];
    const payload = [
      anthropicEvent('message_start', {
        message: { id: 'msg_01', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-5', stop_reason: null, stop_sequence: null, usage: { input_tokens: 120, output_tokens: 1 } },
      }),
      anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent('ping'),
      anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Let me ' } }),
      anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'check.' } }),
      anthropicEvent('content_block_stop', { index: 0 }),
      anthropicEvent('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_01', name: 'memory__search', input: {} } }),
      anthropicEvent('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } }),
      anthropicEvent('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"query": ' } }),
      anthropicEvent('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '"tea", "lim' } }),
      anthropicEvent('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: 'it": 3}' } }),
      anthropicEvent('content_block_stop', { index: 1 }),
      anthropicEvent('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 48 } }),
      anthropicEvent('message_stop'),
    ].join('');
    server.use(
      http.post(`${ANTHROPIC_URL}/v1/messages`, async ({ request: incoming }) => {
        await capture(incoming, sent);
        return sseResponse(splitEvery(payload, 131));
      }),
    );

    const events = await collect(anthropic.stream(request({ model: 'claude-sonnet-4-5', tools: [memoryStore, memorySearch], parameters: { temperature: 0.5 } })));

    expect(events).toEqual([
      { type: 'text', delta: 'Let me ' },
      { type: 'text', delta: 'check.' },
      { type: 'tool_call', call: { id: 'toolu_01', name: 'memory.search', arguments: { query: 'tea', limit: 3 } } },
      { type: 'usage', usage: { input_tokens: 120, output_tokens: 48 } },
      { type: 'done', finish_reason: 'tool_calls' },
    ]);
    expect(sent[0]!.headers).toMatchObject({ 'x-api-key': 'sk-ant-secret', 'anthropic-version': '2023-06-01' });
    expect(sent[0]!.headers.authorization).toBeUndefined();
    expect(sent[0]!.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: 'You are terse.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Remember that I like tea.' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'memory__store', input: { content: 'likes tea' } }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: 'stored mem_1' },
            { type: 'text', text: 'What do I like?' },
          ],
        },
      ],
      tools: [
        { name: 'memory__store', description: 'Store a memory', input_schema: memoryStore.input_schema },
        { name: 'memory__search', description: 'Search memories', input_schema: memorySearch.input_schema },
      ],
      temperature: 0.5,
      stream: true,
    });
  });

  it('fails with PROVIDER_ERROR on an error event mid-stream', async () => {
    server.use(
      http.post(`${ANTHROPIC_URL}/v1/messages`, () =>
        sseResponse([
          anthropicEvent('message_start', { message: { usage: { input_tokens: 10, output_tokens: 1 } } }),
          anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
          anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Partial' } }),
          anthropicEvent('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
        ]),
      ),
    );

    const { events, error } = await run(anthropic.stream(request()));

    expect(events).toEqual([{ type: 'text', delta: 'Partial' }]);
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', message: 'anthropic stream failed: Overloaded', details: { provider: 'anthropic', type: 'overloaded_error' } });
  });

  it('gives up after maxRetries + 1 server errors with PROVIDER_ERROR and the status, never echoing the key', async () => {
    let calls = 0;
    server.use(
      http.post(`${ANTHROPIC_URL}/v1/messages`, () => {
        calls += 1;
        return HttpResponse.json({ type: 'error', error: { type: 'api_error', message: 'Internal error for key sk-ant-secret' } }, { status: 500 });
      }),
    );

    const { error } = await run(anthropic.stream(request()));

    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', status: 502, details: { provider: 'anthropic', status: 500 } });
    expect((error as AppError).message).toBe('anthropic answered HTTP 500: Internal error for key [REDACTED]');
  });

  it('answers PROVIDER_NOT_CONFIGURED naming ANTHROPIC_API_KEY when no key is set', async () => {
    const unconfigured = createProvider('anthropic', providersConfig({ anthropic: { baseUrl: ANTHROPIC_URL } }), resolveSecret, log);

    const { error } = await run(unconfigured.stream(request()));

    expect(error).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED', message: expect.stringContaining('ANTHROPIC_API_KEY') });
  });
});

describe('echo provider', () => {
  const echo = createProvider('echo', providersConfig(), resolveSecret, log);

  it('echoes the last user message in word-sized deltas', async () => {
    const events = await collect(
      echo.stream(request({ messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Hello there, moxxy!' }] })),
    );

    expect(events).toEqual([
      { type: 'text', delta: 'Hello ' },
      { type: 'text', delta: 'there, ' },
      { type: 'text', delta: 'moxxy!' },
      { type: 'usage', usage: { input_tokens: 6, output_tokens: 3 } },
      { type: 'done', finish_reason: 'stop' },
    ]);
  });

  it('turns invoke tags into tool calls with parsed arguments', async () => {
    const message = 'List files <invoke name="host_shell">["ls -la"]</invoke> then <invoke name="memory.store">{"a":1}</invoke> <invoke name="broken">{oops</invoke>';

    const events = await collect(echo.stream(request({ messages: [{ role: 'user', content: message }] })));

    expect(events).toEqual([
      { type: 'tool_call', call: { id: 'call_1', name: 'host_shell', arguments: ['ls -la'] } },
      { type: 'tool_call', call: { id: 'call_2', name: 'memory.store', arguments: { a: 1 } } },
      { type: 'tool_call', call: { id: 'call_3', name: 'broken', arguments: '{oops' } },
      { type: 'usage', usage: { input_tokens: 10, output_tokens: 7 } },
      { type: 'done', finish_reason: 'tool_calls' },
    ]);
  });

  it('answers tool results with one line per result', async () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: '<invoke name="host_shell">["ls"]</invoke><invoke name="memory.store">{"a":1}</invoke>' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'call_1', name: 'host_shell', arguments: ['ls'] },
          { id: 'call_2', name: 'memory.store', arguments: { a: 1 } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', name: 'host_shell', content: 'README.md' },
      { role: 'tool', tool_call_id: 'call_2', name: 'memory.store', content: 'stored mem_1' },
    ];

    const events = await collect(echo.stream(request({ messages })));

    const text = events.flatMap((event) => (event.type === 'text' ? [event.delta] : [])).join('');
    expect(text).toBe('host_shell: README.md\nmemory.store: stored mem_1');
    expect(events.at(-1)).toEqual({ type: 'done', finish_reason: 'stop' });
  });

  it('numbers new calls after the ones already in the conversation', async () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', name: 'host_shell', arguments: [] }] },
      { role: 'tool', tool_call_id: 'call_1', name: 'host_shell', content: '' },
      { role: 'assistant', content: 'host_shell: ' },
      { role: 'user', content: '<invoke name="host_shell">["pwd"]</invoke>' },
    ];

    const events = await collect(echo.stream(request({ messages })));

    expect(events[0]).toEqual({ type: 'tool_call', call: { id: 'call_2', name: 'host_shell', arguments: ['pwd'] } });
  });

  it('finishes cancelled when the signal aborts', async () => {
    const controller = new AbortController();
    const events: ModelStreamEvent[] = [];

    for await (const event of echo.stream(request({ messages: [{ role: 'user', content: 'one two three' }], signal: controller.signal }))) {
      events.push(event);
      controller.abort();
    }

    expect(events).toEqual([
      { type: 'text', delta: 'one ' },
      { type: 'done', finish_reason: 'cancelled' },
    ]);
  });
});
