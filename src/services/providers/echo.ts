/**
 * The offline provider: the whole tool loop runs with no network. It answers with the last user
 * message verbatim; `<invoke name="skill">JSON</invoke>` tags in that message become tool calls;
 * and once tool results come back it answers with one `name: content` line per result.
 */
import { parseToolArguments } from './tool-calls.ts';
import type { ChatMessage, ProviderClient, ModelRequest, ModelStreamEvent } from './types.ts';

const INVOKE_TAG = /<invoke name="([^"]+)">([\s\S]*?)<\/invoke>/g;

export function createEchoProvider(): ProviderClient {
  return { name: 'echo', stream: streamEcho };
}

async function* streamEcho({ messages, signal }: ModelRequest): AsyncGenerator<ModelStreamEvent> {
  const last = messages.at(-1);
  const tags = last?.role === 'user' ? [...last.content.matchAll(INVOKE_TAG)] : [];
  // Numbering continues across the conversation so call ids stay unique within a run.
  const firstCall = previousCallCount(messages) + 1;
  const text = last?.role === 'tool' ? summariseToolResults(messages) : lastUserText(messages);
  // Text is split after whitespace so the deltas join back to exactly the original.
  const reply: ModelStreamEvent[] =
    tags.length > 0
      ? tags.map(([, name = '', args = ''], i) => ({ type: 'tool_call', call: { id: `call_${firstCall + i}`, name, arguments: parseToolArguments(args) } }))
      : text.split(/(?<=\s)(?=\S)/).filter(Boolean).map((delta) => ({ type: 'text', delta }));
  const output = tags.length > 0 ? tags.map(([tag]) => tag).join(' ') : text;
  const usage = { input_tokens: countWords(messages.map((message) => message.content).join(' ')), output_tokens: countWords(output) };
  for (const event of [...reply, { type: 'usage', usage } as const]) {
    if (signal?.aborted) {
      yield { type: 'done', finish_reason: 'cancelled' };
      return;
    }
    yield event;
  }
  yield { type: 'done', finish_reason: tags.length > 0 ? 'tool_calls' : 'stop' };
}

function previousCallCount(messages: ChatMessage[]): number {
  return messages.reduce((count, message) => count + (message.role === 'assistant' ? (message.tool_calls?.length ?? 0) : 0), 0);
}

/** The results of the latest round of tool calls: the tool messages at the end of the conversation. */
function summariseToolResults(messages: ChatMessage[]): string {
  const lines: string[] = [];
  for (const message of messages.toReversed()) {
    if (message.role !== 'tool') break;
    lines.unshift(`${message.name}: ${message.content}`);
  }
  return lines.join('\n');
}

function lastUserText(messages: ChatMessage[]): string {
  return messages.findLast((message) => message.role === 'user')?.content ?? '';
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
