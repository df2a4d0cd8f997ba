/** Anthropic's Messages API, streamed. */
import { z } from 'zod';
import type { MoxxyConfig } from '../../config/schema.ts';
import { AppError } from '../../domain/errors.ts';
import { streamFromProvider } from './http.ts';
import { parseEventData, type SseEvent } from './sse.ts';
import { parseToolArguments, toolNameResolver, wireToolName } from './tool-calls.ts';
import type { ChatMessage, ProviderClient, ModelRequest, ModelStreamEvent, ProviderLog } from './types.ts';

const API_VERSION = '2023-06-01';
/** The API requires max_tokens; agents that do not set one get this. */
const DEFAULT_MAX_TOKENS = 1024;

const StreamEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message_start'),
    message: z.object({
      usage: z.object({
        input_tokens: z.number(),
        cache_creation_input_tokens: z.number().nullish(),
        cache_read_input_tokens: z.number().nullish(),
        output_tokens: z.number().nullish(),
      }),
    }),
  }),
  z.object({
    type: z.literal('content_block_start'),
    index: z.number(),
    content_block: z.object({ type: z.string(), id: z.string().optional(), name: z.string().optional() }),
  }),
  z.object({
    type: z.literal('content_block_delta'),
    index: z.number(),
    delta: z.object({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }),
  }),
  z.object({ type: z.literal('content_block_stop'), index: z.number() }),
  z.object({
    type: z.literal('message_delta'),
    delta: z.object({ stop_reason: z.string().nullish() }),
    usage: z.object({ output_tokens: z.number().nullish() }).nullish(),
  }),
  z.object({ type: z.literal('message_stop') }),
  z.object({ type: z.literal('error'), error: z.object({ type: z.string(), message: z.string() }) }),
]);

/** Anthropic may add event types (ping already exists); those are skipped rather than treated as errors. */
const HANDLED_EVENTS = new Set<string>(StreamEvent.options.map((option) => option.shape.type.value));

type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string };

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

/** The whole answer, from a server that ignores `stream: true`. */
const Message = z.object({
  content: z.array(z.object({ type: z.string(), text: z.string().optional(), id: z.string().optional(), name: z.string().optional(), input: z.unknown().optional() })),
  stop_reason: z.string().nullish(),
  usage: z.object({
    input_tokens: z.number(),
    output_tokens: z.number(),
    cache_creation_input_tokens: z.number().nullish(),
    cache_read_input_tokens: z.number().nullish(),
  }),
});

export function createAnthropicProvider(
  config: MoxxyConfig['providers'],
  resolveSecret: (value: string) => Promise<string>,
  log: ProviderLog,
): ProviderClient {
  return {
    name: 'anthropic',
    async *stream(request) {
      const apiKey = config.anthropic.apiKey ? await resolveSecret(config.anthropic.apiKey) : '';
      if (!apiKey) {
        throw new AppError('PROVIDER_NOT_CONFIGURED', 'The anthropic provider needs an API key: set ANTHROPIC_API_KEY or providers.anthropic.apiKey.', {
          provider: 'anthropic',
        });
      }
      const resolveToolName = toolNameResolver(request.tools);
      yield* streamFromProvider(
        {
          provider: 'anthropic',
          url: `${config.anthropic.baseUrl.replace(/\/+$/, '')}/v1/messages`,
          headers: { 'x-api-key': apiKey, 'anthropic-version': API_VERSION },
          body: requestBody(request),
          signal: request.signal,
          apiKey,
        },
        config,
        { stream: (events) => decodeStream(events, resolveToolName), json: (body) => decodeMessage(body, resolveToolName) },
        log,
      );
    },
  };
}

function requestBody(request: ModelRequest): Record<string, unknown> {
  const { temperature, max_tokens, top_p } = request.parameters;
  const system = request.messages.flatMap((message) => (message.role === 'system' ? [message.content] : [])).join('\n\n');
  return {
    model: request.model,
    max_tokens: max_tokens ?? DEFAULT_MAX_TOKENS,
    ...(system && { system }),
    messages: toAnthropicMessages(request.messages),
    ...(request.tools.length > 0 && {
      tools: request.tools.map((tool) => ({ name: wireToolName(tool.name), description: tool.description, input_schema: tool.input_schema })),
    }),
    temperature,
    top_p,
    stream: true,
  };
}

/** Tool results travel as user messages, and the API wants user and assistant turns to alternate. */
function toAnthropicMessages(messages: ChatMessage[]): AnthropicMessage[] {
  const result: AnthropicMessage[] = [];
  for (const message of messages) {
    const turn = toAnthropicTurn(message);
    if (!turn) continue;
    const previous = result.at(-1);
    if (previous?.role === turn.role) previous.content.push(...turn.content);
    else result.push(turn);
  }
  return result;
}

function toAnthropicTurn(message: ChatMessage): AnthropicMessage | undefined {
  // The API rejects empty text blocks.
  const text = (content: string): ContentBlock[] => (content ? [{ type: 'text', text: content }] : []);
  switch (message.role) {
    case 'system':
      return undefined;
    case 'user':
      return { role: 'user', content: text(message.content) };
    case 'tool':
      return { role: 'user', content: [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: message.content }] };
    case 'assistant':
      return {
        role: 'assistant',
        content: [
          ...text(message.content),
          ...(message.tool_calls ?? []).map((call): ContentBlock => ({
            type: 'tool_use',
            id: call.id,
            name: wireToolName(call.name),
            // tool_use input must be an object; calls made under another provider may carry an array or string.
            input: isPlainObject(call.arguments) ? call.arguments : { value: call.arguments },
          })),
        ],
      };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function* decodeStream(events: AsyncIterable<SseEvent>, resolveToolName: (name: string) => string): AsyncGenerator<ModelStreamEvent> {
  const toolBlocks = new Map<number, { id: string; name: string; json: string }>();
  const usage = { input_tokens: 0, output_tokens: 0 };
  let stopReason: string | null | undefined;
  for await (const { event, data } of events) {
    if (!HANDLED_EVENTS.has(event)) continue;
    const payload = parseEventData(StreamEvent, data);
    switch (payload.type) {
      case 'message_start': {
        const start = payload.message.usage;
        usage.input_tokens = inputTokens(start);
        usage.output_tokens = start.output_tokens ?? 0;
        break;
      }
      case 'content_block_start':
        if (payload.content_block.type === 'tool_use') {
          toolBlocks.set(payload.index, { id: payload.content_block.id ?? '', name: payload.content_block.name ?? '', json: '' });
        }
        break;
      case 'content_block_delta':
        if (payload.delta.type === 'text_delta' && payload.delta.text) yield { type: 'text', delta: payload.delta.text };
        if (payload.delta.type === 'input_json_delta') {
          const block = toolBlocks.get(payload.index);
          if (block) block.json += payload.delta.partial_json ?? '';
        }
        break;
      case 'content_block_stop': {
        const block = toolBlocks.get(payload.index);
        if (block) yield { type: 'tool_call', call: { id: block.id, name: resolveToolName(block.name), arguments: parseToolArguments(block.json) } };
        break;
      }
      case 'message_delta':
        stopReason = payload.delta.stop_reason ?? stopReason;
        usage.output_tokens = payload.usage?.output_tokens ?? usage.output_tokens;
        break;
      case 'message_stop':
        yield { type: 'usage', usage };
        yield { type: 'done', finish_reason: finishReason(stopReason) };
        return;
      case 'error':
        throw new AppError('PROVIDER_ERROR', `anthropic stream failed: ${payload.error.message}`, {
          provider: 'anthropic',
          type: payload.error.type,
          cause: payload.error.message,
        });
    }
  }
  throw new Error('the stream ended before message_stop');
}

function* decodeMessage(body: unknown, resolveToolName: (name: string) => string): Generator<ModelStreamEvent> {
  const parsed = Message.safeParse(body);
  if (!parsed.success) throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 200)}`);
  const { content, stop_reason, usage } = parsed.data;
  for (const block of content) {
    if (block.type === 'text' && block.text) yield { type: 'text', delta: block.text };
  }
  for (const block of content) {
    if (block.type === 'tool_use') yield { type: 'tool_call', call: { id: block.id ?? '', name: resolveToolName(block.name ?? ''), arguments: block.input ?? {} } };
  }
  yield { type: 'usage', usage: { input_tokens: inputTokens(usage), output_tokens: usage.output_tokens } };
  yield { type: 'done', finish_reason: finishReason(stop_reason) };
}

/** Cached prompt tokens are reported apart from input_tokens but are input all the same. */
function inputTokens(usage: { input_tokens: number; cache_creation_input_tokens?: number | null; cache_read_input_tokens?: number | null }): number {
  return usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

function finishReason(stopReason: string | null | undefined): 'tool_calls' | 'length' | 'stop' {
  return stopReason === 'tool_use' ? 'tool_calls' : stopReason === 'max_tokens' ? 'length' : 'stop';
}
