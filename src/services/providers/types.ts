/** The contract between the agent runtime and the model providers (echo, OpenAI-compatible, Anthropic). */

export interface ToolCall {
  id: string;
  name: string;
  /** Parsed JSON (object or array); the raw string when the model produced invalid JSON. */
  arguments: unknown;
}

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
  parameters: { temperature?: number; max_tokens?: number; top_p?: number };
  signal?: AbortSignal;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
}

export type ModelStreamEvent =
  | { type: 'text'; delta: string }
  /** Emitted once per call, with its arguments fully assembled. */
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'usage'; usage: Usage }
  | { type: 'done'; finish_reason: 'stop' | 'tool_calls' | 'length' | 'cancelled' };

export type ProviderName = 'echo' | 'openai' | 'anthropic';

/** Where a provider reports a failed request (at warn): what failed, never a secret. */
export type ProviderLog = (details: Record<string, unknown>, message: string) => void;

export interface ModelProvider {
  readonly name: ProviderName;
  stream(request: ModelRequest): AsyncIterable<ModelStreamEvent>;
}
