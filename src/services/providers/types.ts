/** The contract between the agent runtime and the model providers (echo, OpenAI-compatible, Anthropic). */
import type { ModelParameters, ModelProvider } from '../../domain/agents.ts';
import type { ToolCall, Usage } from '../../domain/chat.ts';

export type { ToolCall, Usage };

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; tool_calls?: ToolCall[] }
  | { role: 'tool'; content: string; tool_call_id: string; name: string };

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  input_schema: Record<string, unknown>;
}

export interface ModelRequest {
  model: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  parameters: ModelParameters;
  signal?: AbortSignal;
}

export type ModelStreamEvent =
  | { type: 'text'; delta: string }
  /** Emitted once per call, with its arguments fully assembled. */
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'usage'; usage: Usage }
  | { type: 'done'; finish_reason: 'stop' | 'tool_calls' | 'length' | 'cancelled' };

/** A provider's name, as agents store it. */
export type ProviderName = ModelProvider;

/** Where a provider reports a failed request (at warn): what failed, never a secret. */
export type ProviderLog = (details: Record<string, unknown>, message: string) => void;

/** One model provider's client: what the runtime streams a model call through. */
export interface ProviderClient {
  readonly name: ProviderName;
  stream(request: ModelRequest): AsyncIterable<ModelStreamEvent>;
}
