/** Any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, vLLM, LM Studio, OpenRouter), streamed. */
import { z } from 'zod';
import type { MoxxyConfig } from '../../config/schema.ts';
import { AppError } from '../../domain/errors.ts';
import { isLoopbackHost } from '../../domain/hosts.ts';
import { streamFromProvider } from './http.ts';
import { parseEventData, type SseEvent } from './sse.ts';
import { parseToolArguments, toolNameResolver, wireToolName } from './tool-calls.ts';
import type { ChatMessage, ProviderClient, ModelRequest, ModelStreamEvent, ProviderLog, ToolCall, Usage } from './types.ts';

const Chunk = z.object({
  choices: z
    .array(
      z.object({
        delta: z
          .object({
            content: z.string().nullish(),
            tool_calls: z
              .array(
                z.object({
                  index: z.number(),
                  id: z.string().nullish(),
                  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
                }),
              )
              .nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish(),
  // OpenRouter and some proxies report failures inside an otherwise healthy stream.
  error: z.object({ message: z.string() }).nullish(),
});

/** The whole answer, from a server that ignores `stream: true`. */
const Completion = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          tool_calls: z
            .array(z.object({ id: z.string().nullish(), function: z.object({ name: z.string(), arguments: z.string().nullish() }) }))
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish(),
  error: z.object({ message: z.string() }).nullish(),
});

export function createOpenAiProvider(
  config: MoxxyConfig['providers'],
  resolveSecret: (value: string) => Promise<string>,
  log: ProviderLog,
): ProviderClient {
  const { baseUrl } = config.openai;
  return {
    name: 'openai',
    async *stream(request) {
      const apiKey = config.openai.apiKey ? await resolveSecret(config.openai.apiKey) : '';
      if (!apiKey && !isLoopback(baseUrl)) {
        throw new AppError('PROVIDER_NOT_CONFIGURED', 'The openai provider needs an API key: set OPENAI_API_KEY or providers.openai.apiKey.', {
          provider: 'openai',
        });
      }
      const resolveToolName = toolNameResolver(request.tools);
      yield* streamFromProvider(
        {
          provider: 'openai',
          url: `${baseUrl.replace(/\/+$/, '')}/chat/completions`,
          headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
          body: requestBody(request),
          signal: request.signal,
          apiKey,
        },
        config,
        { stream: (events) => decodeStream(events, resolveToolName), json: (body) => decodeCompletion(body, resolveToolName) },
        log,
      );
    },
  };
}

/** Local servers such as Ollama need no key. */
function isLoopback(baseUrl: string): boolean {
  return isLoopbackHost(new URL(baseUrl).hostname);
}

function requestBody(request: ModelRequest): Record<string, unknown> {
  const { temperature, max_tokens, top_p } = request.parameters;
  return {
    model: request.model,
    messages: request.messages.map(toOpenAiMessage),
    ...(request.tools.length > 0 && {
      tools: request.tools.map((tool) => ({
        type: 'function',
        function: { name: wireToolName(tool.name), description: tool.description, parameters: tool.input_schema },
      })),
    }),
    temperature,
    max_tokens,
    top_p,
    stream: true,
    stream_options: { include_usage: true },
  };
}

function toOpenAiMessage(message: ChatMessage): Record<string, unknown> {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'tool':
      return { role: 'tool', tool_call_id: message.tool_call_id, content: message.content };
    case 'assistant':
      if (!message.tool_calls?.length) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        content: message.content || null,
        tool_calls: message.tool_calls.map((call) => ({
          id: call.id,
          type: 'function',
          function: {
            name: wireToolName(call.name),
            arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
          },
        })),
      };
  }
}

/** Tool calls arrive as fragments keyed by index; they are emitted once `[DONE]` proves them complete. */
async function* decodeStream(events: AsyncIterable<SseEvent>, resolveToolName: (name: string) => string): AsyncGenerator<ModelStreamEvent> {
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let finishReason: string | null = null;
  let usage: Usage | undefined;
  let completed = false;
  for await (const { data } of events) {
    if (data === '[DONE]') {
      completed = true;
      break;
    }
    const chunk = parseEventData(Chunk, data);
    if (chunk.error) throw new AppError('PROVIDER_ERROR', `openai stream failed: ${chunk.error.message}`, { provider: 'openai', cause: chunk.error.message });
    if (chunk.usage) usage = { input_tokens: chunk.usage.prompt_tokens, output_tokens: chunk.usage.completion_tokens };
    for (const choice of chunk.choices ?? []) {
      if (choice.delta?.content) yield { type: 'text', delta: choice.delta.content };
      for (const part of choice.delta?.tool_calls ?? []) {
        const call = calls.get(part.index) ?? { id: `call_${part.index}`, name: '', arguments: '' };
        // Some servers repeat id and name on every fragment, so they replace rather than append.
        if (part.id) call.id = part.id;
        if (part.function?.name) call.name = part.function.name;
        call.arguments += part.function?.arguments ?? '';
        calls.set(part.index, call);
      }
      finishReason = choice.finish_reason ?? finishReason;
    }
  }
  if (!completed) throw new Error('the stream ended before [DONE]');
  const toolCalls = [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, call]): ToolCall => ({ id: call.id, name: resolveToolName(call.name), arguments: parseToolArguments(call.arguments) }));
  yield* finish(toolCalls, usage, finishReason);
}

function* decodeCompletion(body: unknown, resolveToolName: (name: string) => string): Generator<ModelStreamEvent> {
  const parsed = Completion.safeParse(body);
  if (!parsed.success) throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 200)}`);
  const { choices, usage, error } = parsed.data;
  if (error) throw new AppError('PROVIDER_ERROR', `openai request failed: ${error.message}`, { provider: 'openai', cause: error.message });
  const choice = choices?.[0];
  if (choice?.message.content) yield { type: 'text', delta: choice.message.content };
  const toolCalls = (choice?.message.tool_calls ?? []).map(
    (call, index): ToolCall => ({ id: call.id ?? `call_${index}`, name: resolveToolName(call.function.name), arguments: parseToolArguments(call.function.arguments ?? '') }),
  );
  yield* finish(toolCalls, usage ? { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens } : undefined, choice?.finish_reason ?? null);
}

function* finish(toolCalls: ToolCall[], usage: Usage | undefined, finishReason: string | null): Generator<ModelStreamEvent> {
  for (const call of toolCalls) yield { type: 'tool_call', call };
  if (usage) yield { type: 'usage', usage };
  // Some local servers report `stop` even when the answer is tool calls.
  yield { type: 'done', finish_reason: toolCalls.length > 0 ? 'tool_calls' : finishReason === 'length' ? 'length' : 'stop' };
}
