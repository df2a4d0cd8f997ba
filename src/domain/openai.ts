/**
 * The OpenAI-compatible door's shapes: Models and Chat Completions as OpenAI's clients send and read them, each agent
 * being a model. The agent's prompt, memory and tools run server side, so a request carries only the conversation.
 */
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';
import { SessionId, UserId } from './chat.ts';

/** As long as a message to POST /api/agents/{name}/chat may be. */
const MESSAGE_CHARS = 32_000;

const TextPart = z.object({ type: z.literal('text'), text: z.string().max(MESSAGE_CHARS) });
const Content = z
  .union([z.string().max(MESSAGE_CHARS), z.array(TextPart).max(100)])
  .describe('Text, or text parts (`{"type": "text", "text"}`) joined by new lines; images and audio are not accepted.');
const Name = z.string().max(64).optional().describe('Accepted and not applied.');

const OpenAiMessage = z
  .discriminatedUnion(
    'role',
    [
      z.object({ role: z.enum(['system', 'developer']), content: Content, name: Name }).meta({ id: 'OpenAiSystemMessage' }),
      z.object({ role: z.literal('user'), content: Content, name: Name }).meta({ id: 'OpenAiUserMessage' }),
      z.object({ role: z.literal('assistant'), content: Content.nullable().optional(), name: Name }).meta({ id: 'OpenAiAssistantMessage' }),
    ],
    {
      error:
        'role must be system, developer, user or assistant: `tool` messages answer tool calls a client runs, and this ' +
        "server never asks for one (the agent's tools run server side)",
    },
  )
  .meta({ id: 'OpenAiMessage' });
type OpenAiMessage = z.infer<typeof OpenAiMessage>;

export const ChatCompletionRequest = z
  .object({
    model: z.string().min(1).max(200).describe('The agent that answers: its name, as GET /v1/models lists it.'),
    messages: z
      .array(OpenAiMessage)
      .min(1)
      .max(1000)
      .describe(
        'The conversation, ending with the user message this turn answers. System and developer messages are added to the ' +
          "agent's own system prompt for this turn. With X-Session-Id only the last user message is used: the session holds the rest.",
      ),
    stream: z.boolean().nullable().optional().describe('Answer with chat.completion.chunk events (SSE), ending with `data: [DONE]`.'),
    stream_options: z
      .object({ include_usage: z.boolean().nullable().optional().describe('Send a last chunk with `usage` and no choices.') })
      .nullable()
      .optional(),
    user: UserId.optional().describe('Your end user: the run\'s user_id, for history and memory.'),
  })
  .superRefine(({ messages }, ctx) => {
    const last = messages.length - 1;
    if (messages[last]?.role !== 'user') {
      ctx.addIssue({ code: 'custom', path: ['messages', last, 'role'], message: "The last message must be the user's: it is the turn to answer" });
    } else if (!textOf(messages[last].content)) {
      ctx.addIssue({ code: 'custom', path: ['messages', last, 'content'], message: 'The last user message is empty' });
    }
  })
  .describe(
    "Other fields OpenAI defines are accepted and not applied: the agent's model settings (temperature, max_tokens) and tools are " +
      "its own, and tools a client defines (`tools`, `tool_choice`) are not offered to it.",
  )
  .meta({ id: 'OpenAiChatCompletionRequest' });
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const ChatCompletionHeaders = z.object({
  'x-session-id': SessionId.optional().describe(
    'Keep the conversation on the server in this session (made on first use) instead of sending it with every request: the last ' +
      'user message is the turn, the session is its history. Every answer names its session in X-Session-Id.',
  ),
});

const OpenAiUsage = z
  .object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() })
  .meta({ id: 'OpenAiUsage' });
type OpenAiUsage = z.infer<typeof OpenAiUsage>;

export const FinishReason = z.enum(['stop', 'length']).describe('`length` when the agent used all its steps (max_steps) before answering.');
export type FinishReason = z.infer<typeof FinishReason>;

const ToolCall = z.object({ id: z.string(), name: z.string(), arguments: z.unknown() });
const ToolResult = z.object({ id: z.string(), name: z.string(), output: z.string(), is_error: z.boolean() });

export const ToolActivity = ToolCall.extend(ToolResult.shape).meta({ id: 'OpenAiToolActivity' });
export type ToolActivity = z.infer<typeof ToolActivity>;

const SERVER_TOOLS_NOTE =
  "The agent's own tools run on the server during the turn; they are never `tool_calls` for the client to run, and are " +
  'reported here instead (OpenAI clients ignore this field).';

export const ChatCompletion = z
  .object({
    id: z.string().describe('The run that answered: GET /api/runs/{id} has its steps.'),
    object: z.literal('chat.completion'),
    created: z.number().int().describe('Unix seconds.'),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.literal(0),
        message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
        finish_reason: FinishReason,
        logprobs: z.null(),
      }),
    ),
    usage: OpenAiUsage,
    moxxy: z.object({ session_id: z.string(), tools: z.array(ToolActivity).describe('Tool calls of the turn, in order, with their results.') }).describe(SERVER_TOOLS_NOTE),
  })
  .meta({ id: 'OpenAiChatCompletion' });
export type ChatCompletion = z.infer<typeof ChatCompletion>;

export const ChatCompletionChunk = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.literal(0),
        delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
        finish_reason: FinishReason.nullable(),
        logprobs: z.null(),
      }),
    ).describe('Empty in the usage chunk.'),
    usage: OpenAiUsage.nullable().optional(),
    moxxy: z
      .object({ session_id: z.string().optional(), tool_call: ToolCall.optional(), tool_result: ToolResult.optional() })
      .optional()
      .describe(`The session (first chunk), and each tool call and result as it happens (chunks with an empty delta). ${SERVER_TOOLS_NOTE}`),
  })
  .meta({ id: 'OpenAiChatCompletionChunk' });
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunk>;

export const OpenAiModel = z
  .object({
    id: z.string().describe('The agent\'s name.'),
    object: z.literal('model'),
    created: z.number().int().describe('When the agent was made, in Unix seconds.'),
    owned_by: z.literal('moxxy'),
  })
  .meta({ id: 'OpenAiModel' });
export type OpenAiModel = z.infer<typeof OpenAiModel>;

export const OpenAiModelList = z.object({ object: z.literal('list'), data: z.array(OpenAiModel) }).meta({ id: 'OpenAiModelList' });
export const OpenAiModelRef = z.object({ model: z.string().min(1).max(200).describe('The agent\'s name.') });

export const OpenAiError = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.enum(['invalid_request_error', 'requests', 'server_error']),
      param: z.string().nullable().describe('The request field at fault, for invalid input.'),
      code: z
        .string()
        .describe("OpenAI's code where it has one (invalid_api_key, model_not_found, rate_limit_exceeded), else the server's (SESSION_BUSY, ...)."),
    }),
  })
  .meta({ id: 'OpenAiError' });
export type OpenAiError = z.infer<typeof OpenAiError>;

/** The failures OpenAI's clients know by name; every other code is the server's own. */
const OPENAI_CODES: Partial<Record<ErrorCode, string>> = {
  UNAUTHORIZED: 'invalid_api_key',
  AGENT_NOT_FOUND: 'model_not_found',
  RATE_LIMITED: 'rate_limit_exceeded',
};

export function openAiErrorCode(code: ErrorCode): string {
  return OPENAI_CODES[code] ?? code;
}

/** A failure as OpenAI answers it; its status is the code's own (src/domain/errors.ts). */
export function openAiError(code: ErrorCode, message: string, details?: Record<string, unknown>): OpenAiError {
  const status = ERROR_STATUS[code];
  const issues = details?.issues as Array<{ path?: string }> | undefined;
  return {
    error: {
      message,
      type: status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error',
      param: issues?.[0]?.path || null,
      code: openAiErrorCode(code),
    },
  };
}

export const toOpenAiUsage = (usage: { input_tokens: number; output_tokens: number }): OpenAiUsage => ({
  prompt_tokens: usage.input_tokens,
  completion_tokens: usage.output_tokens,
  total_tokens: usage.input_tokens + usage.output_tokens,
});

/** A message's text: its parts joined by new lines. */
function textOf(content: OpenAiMessage['content']): string {
  if (content === null || content === undefined) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

/** What a request asks of a run: the turn, the conversation before it, and the client's system text for this turn. */
interface OpenAiTurn {
  message: string;
  history: Array<{ role: 'user' | 'assistant'; content: string }>;
  instructions: string;
}

export function turnOf(messages: readonly OpenAiMessage[]): OpenAiTurn {
  const history: OpenAiTurn['history'] = [];
  const instructions: string[] = [];
  for (const message of messages) {
    const text = textOf(message.content);
    if (message.role === 'system' || message.role === 'developer') instructions.push(text);
    else history.push({ role: message.role, content: text });
  }
  const turn = history.pop();
  return { message: turn?.content ?? '', history, instructions: instructions.filter(Boolean).join('\n\n') };
}
