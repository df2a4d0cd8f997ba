/** Chat, sessions, runs and their history: the shapes of a conversation with an agent. */
import { z } from 'zod';
import { Pagination, PaginationInput, Slug } from './common.ts';

export const SessionId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'may contain letters, digits, "_", ".", ":" and "-"')
  .describe('Conversation id; a new one is created when omitted or unknown.');
export const UserId = z.string().min(1).max(256).describe('Your end user, for history and memory scoping.');

export const Usage = z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }).meta({ id: 'Usage' });
export type Usage = z.infer<typeof Usage>;

export const ChatInput = z
  .strictObject({
    message: z.string().min(1).max(32_000),
    session_id: SessionId.optional(),
    user_id: UserId.optional(),
    context: z.record(z.string(), z.unknown()).optional().describe('Facts for this turn, added to the system prompt as JSON.'),
  })
  .meta({ id: 'ChatInput' });
export type ChatInput = z.infer<typeof ChatInput>;

export const ChatReply = z
  .object({
    id: z.string().describe('Id of the assistant message.'),
    run_id: z.string(),
    content: z.string(),
    session_id: z.string(),
    agent_id: z.string(),
    timestamp: z.date(),
    usage: Usage,
  })
  .meta({ id: 'ChatReply' });
export type ChatReply = z.infer<typeof ChatReply>;

export const ToolCallRecord = z.object({ id: z.string(), name: z.string(), arguments: z.unknown() }).meta({ id: 'ToolCall' });

export const MessageRole = z.enum(['system', 'user', 'assistant', 'tool']);
export const RunStatus = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']).meta({ id: 'RunStatus' });
export type RunStatus = z.infer<typeof RunStatus>;

export const Message = z
  .object({
    id: z.string(),
    role: MessageRole,
    content: z.string(),
    timestamp: z.date(),
    session_id: z.string(),
    run_id: z.string().nullable(),
    user_id: z.string().nullable(),
    tool_calls: z.array(ToolCallRecord).optional(),
    tool_call_id: z.string().optional(),
    run_status: RunStatus.nullable().describe(
      'The status of the run that wrote it (null for none). Messages of failed or cancelled runs stay in history but are left out of what the model sees next.',
    ),
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof Message>;

export const HistoryInput = z.object({
  name: Slug,
  session_id: SessionId.optional(),
  user_id: UserId.optional(),
  limit: z.number().int().min(1).max(100).default(50),
  before: z.date().optional().describe('Only messages before this time (ISO 8601).'),
  include_tools: z.boolean().default(false).describe('Include tool results and tool-call steps.'),
});
export const History = z
  .object({ messages: z.array(Message).describe('Oldest first.'), has_more: z.boolean() })
  .meta({ id: 'ChatHistory' });

export const Session = z
  .object({
    id: z.string(),
    agent_id: z.string(),
    user_id: z.string().nullable(),
    message_count: z.number().int(),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Session' });
export type Session = z.infer<typeof Session>;
export const SessionsInput = PaginationInput.extend({ name: Slug, user_id: UserId.optional() });
export const SessionList = z.object({ sessions: z.array(Session), pagination: Pagination }).meta({ id: 'SessionList' });


export const RunStep = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('model'),
      index: z.number().int(),
      content: z.string(),
      tool_calls: z.array(ToolCallRecord),
      finish_reason: z.string(),
      usage: Usage,
      duration_ms: z.number(),
    }),
    z.object({
      type: z.literal('tool'),
      index: z.number().int(),
      tool_call_id: z.string(),
      name: z.string(),
      arguments: z.unknown(),
      output: z.string(),
      is_error: z.boolean(),
      duration_ms: z.number(),
    }),
  ])
  .meta({ id: 'RunStep' });
export type RunStep = z.infer<typeof RunStep>;

export const RunError = z.object({ code: z.string(), message: z.string() });

export const Run = z
  .object({
    id: z.string(),
    agent_id: z.string(),
    session_id: z.string(),
    user_id: z.string().nullable(),
    status: RunStatus,
    input: z.string(),
    output: z.string().nullable(),
    error: RunError.nullable(),
    steps: z.array(RunStep),
    usage: Usage,
    source: z.string().describe('What started it: api, stream, channel:http, webhook:<name>, heartbeat, cli, subagent.'),
    parent_run_id: z.string().nullable().describe('The run that spawned this one with subagent.spawn; null for a top-level run.'),
    depth: z.number().int().min(0).describe('How many sub-agent levels below a top-level run (0) this run is.'),
    created_at: z.date(),
    started_at: z.date().nullable(),
    completed_at: z.date().nullable(),
  })
  .meta({ id: 'Run' });
export type Run = z.infer<typeof Run>;

export const RunRef = z.object({ id: z.string().min(1).max(100).describe('Run id.') });

/** One chunk of a streamed chat answer (seed 000): content deltas, then `done`. */
export const ChatStreamChunk = z
  .union([
    // `done` first: a union keeps the first member that parses, and `done` also carries `content`.
    z.object({
      done: z.literal(true),
      run_id: z.string(),
      session_id: z.string(),
      message_id: z.string().nullable(),
      content: z.string(),
      status: RunStatus,
      usage: Usage,
      error: RunError.optional(),
    }),
    z.object({ tool_call: ToolCallRecord }),
    z.object({ tool_result: z.object({ id: z.string(), name: z.string(), output: z.string(), is_error: z.boolean() }) }),
    z.object({ content: z.string() }),
  ])
  .meta({ id: 'ChatStreamChunk' });
export type ChatStreamChunk = z.infer<typeof ChatStreamChunk>;
