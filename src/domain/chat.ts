/** Chat, sessions, runs and their history: the shapes of a conversation with an agent. */
import { z } from 'zod';
import { Approval } from './approvals.ts';
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

export const RunStatus = z
  .enum(['queued', 'running', 'awaiting_approval', 'completed', 'failed', 'cancelled'])
  .describe('`awaiting_approval`: paused on a tool call a person must approve or deny; its session stays busy.')
  .meta({ id: 'RunStatus' });
export type RunStatus = z.infer<typeof RunStatus>;

export const ChatReply = z
  .object({
    id: z.string().describe('Id of the assistant message.'),
    run_id: z.string(),
    content: z.string(),
    session_id: z.string(),
    agent_id: z.string(),
    timestamp: z.date(),
    usage: Usage,
    status: RunStatus,
    pending_approval: Approval.optional().describe('The tool call waiting for approval, when status is awaiting_approval: decide it with POST /api/runs/{run_id}/approvals/{call_id}.'),
  })
  .meta({ id: 'ChatReply' });
export type ChatReply = z.infer<typeof ChatReply>;

/** A tool call a model asked for; `arguments` is parsed JSON (object or array), or the raw string when the model produced invalid JSON. */
export const ToolCallRecord = z.object({ id: z.string(), name: z.string(), arguments: z.unknown() }).meta({ id: 'ToolCall' });
export type ToolCall = z.infer<typeof ToolCallRecord>;

export const MessageRole = z.enum(['system', 'user', 'assistant', 'tool']);

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

/** A message id; ids grow with time, so one is a cursor that no two messages share (timestamps can be). */
export const MessageId = z.string().regex(/^msg_[0-9a-f-]{36}$/, 'must be a message id (msg_...)');

export const HistoryInput = z.object({
  name: Slug,
  session_id: SessionId.optional().describe('Only messages of this session.'),
  user_id: UserId.optional(),
  limit: z.number().int().min(1).max(100).default(50),
  before: z
    .union([MessageId, z.date()])
    .optional()
    .describe('Only messages older than this one: the `next_cursor` of the page you have (a message id), or a time (ISO 8601).'),
  include_tools: z.boolean().default(false).describe('Include tool results and tool-call steps.'),
});
export type HistoryQuery = Omit<z.infer<typeof HistoryInput>, 'name'>;

export const History = z
  .object({
    messages: z.array(Message).describe('Oldest first.'),
    has_more: z.boolean(),
    next_cursor: z.string().nullable().describe('Pass it as `before` for the page of older messages; null when has_more is false.'),
  })
  .meta({ id: 'ChatHistory' });
export type History = z.infer<typeof History>;

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


export const RunModelStep = z
  .object({
    type: z.literal('model'),
    index: z.number().int(),
    content: z.string(),
    tool_calls: z.array(ToolCallRecord),
    finish_reason: z.string(),
    usage: Usage,
    duration_ms: z.number(),
  })
  .meta({ id: 'RunModelStep', description: 'One call of the model.' });
export const RunToolStep = z
  .object({
    type: z.literal('tool'),
    index: z.number().int(),
    tool_call_id: z.string(),
    name: z.string(),
    arguments: z.unknown(),
    output: z.string(),
    is_error: z.boolean(),
    duration_ms: z.number(),
  })
  .meta({ id: 'RunToolStep', description: 'One tool call.' });
export const RunStep = z.discriminatedUnion('type', [RunModelStep, RunToolStep]).meta({ id: 'RunStep' });
export type RunStep = z.infer<typeof RunStep>;

export const RunError = z
  .object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional().describe('What the error carried, e.g. a provider failure\'s provider, upstream status and cause.'),
  })
  .meta({ id: 'RunError' });
export type RunError = z.infer<typeof RunError>;

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
    pending_approval: Approval.optional().describe('While status is awaiting_approval: the tool call waiting for a decision.'),
  })
  .meta({ id: 'Run' });
export type Run = z.infer<typeof Run>;

export const RunRef = z.object({ id: z.string().min(1).max(100).describe('Run id.') });

/** A streamed turn: a chat turn that may outlive the connection streaming it. */
export const ChatStreamInput = ChatInput.extend({
  keep_running: z
    .boolean()
    .default(false)
    .describe('Keep the run going when the connection closes before it ends (follow it at /api/runs/{run_id}); by default closing the stream cancels it.'),
}).meta({ id: 'ChatStreamInput' });
export type ChatStreamInput = z.infer<typeof ChatStreamInput>;

const RunIdField = z.string().describe('The run producing this answer; cancel it with POST /api/runs/{run_id}/cancel.');

/*
 * The chunks of a streamed chat answer (seed 000): content deltas, tool activity, then `done`. Every member is a named
 * component, so generated clients get one model per chunk rather than colliding anonymous ones.
 */
export const ChatStreamDone = z
  .object({
    done: z.literal(true),
    run_id: RunIdField,
    session_id: z.string(),
    message_id: z.string().nullable(),
    content: z.string(),
    status: RunStatus,
    usage: Usage,
    error: RunError.optional().describe('Why the run failed, when status is failed.'),
  })
  .meta({ id: 'ChatStreamDone', description: 'The last chunk: the whole answer, how the run ended and its usage.' });
export const ChatStreamToolCall = z
  .object({ tool_call: ToolCallRecord, run_id: RunIdField })
  .meta({ id: 'ChatStreamToolCall', description: 'The model called a tool.' });
export const ToolResultRecord = z
  .object({ id: z.string(), name: z.string(), output: z.string(), is_error: z.boolean() })
  .meta({ id: 'ToolResult', description: 'What a tool call answered.' });
export const ChatStreamToolResult = z
  .object({ tool_result: ToolResultRecord, run_id: RunIdField })
  .meta({ id: 'ChatStreamToolResult', description: 'A tool call answered.' });
export const ChatStreamApproval = z
  .object({ approval_required: Approval, run_id: RunIdField })
  .meta({
    id: 'ChatStreamApproval',
    description: 'The run paused on a tool call a person must approve or deny (POST /api/runs/{run_id}/approvals/{call_id}); the stream stays open until then.',
  });
export const ChatStreamContent = z
  .object({ content: z.string(), run_id: RunIdField })
  .meta({ id: 'ChatStreamContent', description: 'A piece of the answer as the model writes it.' });

// `done` first: a union keeps the first member that parses, and `done` also carries `content`.
export const ChatStreamChunk = z
  .union([ChatStreamDone, ChatStreamToolCall, ChatStreamToolResult, ChatStreamApproval, ChatStreamContent])
  .meta({ id: 'ChatStreamChunk' });
export type ChatStreamChunk = z.infer<typeof ChatStreamChunk>;
