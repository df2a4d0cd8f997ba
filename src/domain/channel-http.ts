/**
 * The HTTP channel (seed 001) as Moxxy's own channel speaks it: the turn request and how it names a model, the
 * events of a turn as the MoxxyEvent variants of Moxxy's SDK, and the channel's error shape.
 */
import { z } from 'zod';
import { ModelProvider } from './agents.ts';
import { AppError, type ErrorCode } from './errors.ts';

const MODEL_DESCRIPTION =
  'The model of this turn instead of the agent\'s: `gpt-4o-mini` is a model of the agent\'s own provider; ' +
  '`<provider>:<name>` (`openai:gpt-4o`, `anthropic:claude-sonnet-4-5`, `echo:echo`) names one of the server\'s providers. ' +
  'Any other prefix is part of the name (`llama3:8b` for Ollama, `meta-llama/llama-3-70b` for OpenRouter). ' +
  'An unknown model is a 400 `bad_request`: the provider answers the turn\'s first model request with 404, or the named provider ' +
  'has no settings on this server. The agent\'s temperature and max_tokens still apply.';

export const turnRequestSchema = z
  .strictObject({
    prompt: z.string().min(1).max(32_000).describe('The user message of this turn.'),
    model: z.string().min(1).max(200).optional().describe(MODEL_DESCRIPTION),
    systemPrompt: z
      .string()
      .min(1)
      .max(32_000)
      .optional()
      .describe('Extra instructions for this turn, appended to the agent\'s system prompt (it does not replace it).'),
  })
  .meta({ id: 'TurnRequest' });
export type TurnRequest = z.infer<typeof turnRequestSchema>;

export const AudioTurnQuery = z.object({
  model: turnRequestSchema.shape.model,
  language: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/, 'must be a language code such as "en" or "pt-BR"')
    .optional()
    .describe('Language of the audio (ISO 639-1), passed to the transcriber.'),
});
export type AudioTurnQuery = z.infer<typeof AudioTurnQuery>;

/**
 * Reads `model` as MODEL_DESCRIPTION says: a name, at `provider` when a `<provider>:` prefix names one of the server's
 * providers (else the prefix is part of the name).
 */
export function parseModelChoice(model: string): { provider?: ModelProvider; name: string } {
  const colon = model.indexOf(':');
  const provider = ModelProvider.safeParse(model.slice(0, colon));
  if (colon > 0 && colon < model.length - 1 && provider.success) return { provider: provider.data, name: model.slice(colon + 1) };
  return { name: model };
}

// The fields every MoxxyEvent has (EventBase in Moxxy's SDK).
const EventBase = {
  id: z.string().describe('Unique id of this event.'),
  seq: z.number().int().min(0).describe('Position in the turn, from 0.'),
  ts: z.number().int().describe('When it happened, in epoch milliseconds.'),
  sessionId: z.string().describe('The session of the turn (each channel turn has a new one).'),
  turnId: z.string().describe('The turn: the id of its run (GET /api/runs/{id}).'),
  source: z.enum(['user', 'model', 'tool', 'plugin', 'system']).describe('Who the event comes from.'),
};

function variant<T extends string, S extends z.ZodRawShape>(type: T, shape: S, id: string, description: string) {
  return z.object({ ...EventBase, type: z.literal(type), ...shape }).meta({ id, description });
}

const CallId = z.string().describe('The tool call this is about (its tool_call_requested).');

const UserPrompt = variant('user_prompt', { text: z.string() }, 'MoxxyUserPrompt', 'The prompt of the turn (source `user`).');
const ProviderRequest = variant(
  'provider_request',
  { provider: z.string(), model: z.string() },
  'MoxxyProviderRequest',
  'A model call starts, on this provider and model.',
);
const AssistantChunk = variant('assistant_chunk', { delta: z.string().describe('Append to the answer so far.') }, 'MoxxyAssistantChunk', 'Streamed model text.');
const ProviderResponse = variant(
  'provider_response',
  { provider: z.string(), model: z.string(), inputTokens: z.number().int().optional(), outputTokens: z.number().int().optional() },
  'MoxxyProviderResponse',
  'A model call ended, with its token usage.',
);
const AssistantMessage = variant(
  'assistant_message',
  {
    content: z.string().describe('The text of one model call; the last one, with `end_turn`, is the answer.'),
    stopReason: z.enum(['end_turn', 'tool_use', 'max_tokens', 'stop_sequence', 'error']),
  },
  'MoxxyAssistantMessage',
  'What one model call said, and why it stopped.',
);
const ToolCallRequested = variant(
  'tool_call_requested',
  { callId: z.string(), name: z.string(), input: z.unknown().describe('The arguments the model gave.') },
  'MoxxyToolCallRequested',
  'The model asks for a tool.',
);
const ToolCallApproved = variant(
  'tool_call_approved',
  { callId: CallId, decidedBy: z.enum(['policy', 'resolver', 'hook']), mode: z.enum(['allow', 'allow_session', 'allow_always']) },
  'MoxxyToolCallApproved',
  'The tool call may run: the run\'s allow-lists (the agent\'s and the channel\'s `allowedTools`) allow it (`decidedBy: policy`).',
);
const ToolCallDenied = variant(
  'tool_call_denied',
  { callId: CallId, decidedBy: z.enum(['policy', 'resolver', 'hook']), reason: z.string() },
  'MoxxyToolCallDenied',
  'The tool call is refused (an allow-list does not include the tool, or there is no such tool); the model is told why.',
);
const ToolResult = variant(
  'tool_result',
  {
    callId: CallId,
    ok: z.boolean(),
    output: z.unknown().optional().describe('What the tool answered, when ok.'),
    error: z.object({ message: z.string(), kind: z.enum(['aborted', 'threw', 'denied', 'timeout']) }).optional(),
  },
  'MoxxyToolResult',
  'A tool call ended (a denied one too, with `error.kind: denied`).',
);
const TurnError = variant(
  'error',
  { kind: z.enum(['retryable', 'fatal', 'tool_threw', 'hook_failed', 'provider_failed']), message: z.string() },
  'MoxxyError',
  'The turn failed; on /v1/turn/stream the stream then ends with `event: error`.',
);
const Abort = variant('abort', { reason: z.string() }, 'MoxxyAbort', 'The turn was cancelled (POST /api/runs/{id}/cancel).');

export const MoxxyEvent = z
  .discriminatedUnion('type', [
    UserPrompt,
    ProviderRequest,
    AssistantChunk,
    ProviderResponse,
    AssistantMessage,
    ToolCallRequested,
    ToolCallApproved,
    ToolCallDenied,
    ToolResult,
    TurnError,
    Abort,
  ])
  .meta({ id: 'MoxxyEvent', description: 'One step of a turn, as a MoxxyEvent of Moxxy\'s SDK; `type` tells which.' });
export type MoxxyEvent = z.infer<typeof MoxxyEvent>;

type Unnumbered<E> = E extends MoxxyEvent ? Omit<E, 'id' | 'seq' | 'ts' | 'sessionId' | 'turnId'> : never;
/** A MoxxyEvent before its turn numbers it: its type, source and own fields. */
export type MoxxyEventBody = Unnumbered<MoxxyEvent>;

export const TurnResponse = z
  .object({ events: z.array(MoxxyEvent), assistant: z.string().describe('The final answer.') })
  .meta({ id: 'TurnResponse' });
export type TurnResponse = z.infer<typeof TurnResponse>;

export const AudioTurnResponse = z
  .object({ transcript: z.string().describe('What the transcriber heard; the turn\'s prompt.'), ...TurnResponse.shape })
  .meta({ id: 'AudioTurnResponse' });

export const ChannelHealth = z.object({ status: z.literal('ok') }).meta({ id: 'ChannelHealth' });

/**
 * Every failure of /v1/turn*, by the name Moxxy's channel gives it and its status. Failures Moxxy's channel has no
 * name for are named after the API's code (host_not_allowed, cross_site_request, channel_disabled,
 * channel_not_configured). A failed turn is a 500, or the failure's own 502 (the model provider failed) or 503 (it
 * has no settings). What node refuses before any route is known (a request too slow or too large, malformed HTTP)
 * gets the API's envelope.
 */
export const CHANNEL_ERROR_STATUSES = {
  bad_request: [400],
  empty_body: [400],
  unauthorized: [401],
  cross_site_request: [403],
  payload_too_large: [413],
  unsupported_media_type: [415],
  host_not_allowed: [421],
  empty_transcript: [422],
  too_many_turns: [429],
  turn_failed: [500, 502, 503],
  transcription_failed: [502],
  no_transcriber: [503],
  channel_disabled: [503],
  channel_not_configured: [503],
} as const satisfies Record<string, readonly [number, ...number[]]>;

export type ChannelErrorCode = keyof typeof CHANNEL_ERROR_STATUSES;

/** The channel's error body, for the failures `codes` name. */
export function channelErrorSchema(codes: readonly ChannelErrorCode[]) {
  return z.object({
    error: z.enum(codes as [ChannelErrorCode, ...ChannelErrorCode[]]).describe('What went wrong, as a snake_case code.'),
    message: z.string(),
    run_id: z.string().optional().describe('The run of a turn that failed (GET /api/runs/{id}).'),
  });
}

export type ChannelError = z.infer<ReturnType<typeof channelErrorSchema>>;

/** The API's codes that Moxxy's channel (or the channel's own rules) names; any other failure is `turn_failed`. */
const CHANNEL_CODE_OF: Partial<Record<ErrorCode, ChannelErrorCode>> = {
  VALIDATION_ERROR: 'bad_request',
  INVALID_JSON: 'bad_request',
  UNAUTHORIZED: 'unauthorized',
  CROSS_SITE_REQUEST: 'cross_site_request',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  HOST_NOT_ALLOWED: 'host_not_allowed',
  RATE_LIMITED: 'too_many_turns',
  NO_TRANSCRIBER: 'no_transcriber',
  CHANNEL_NOT_CONFIGURED: 'channel_not_configured',
};

/** A failure only the channel has a name for (empty audio, a disabled channel...), thrown as the AppError `code` it also is. */
export class ChannelFailure extends AppError {
  constructor(
    readonly channelCode: ChannelErrorCode,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

/** A failure as the channel answers it: its status and body. `thrown` is what was thrown, when `error` was made from it. */
export function channelErrorOf(error: AppError, thrown: unknown = error): { status: number; body: ChannelError } {
  const code = thrown instanceof ChannelFailure ? thrown.channelCode : (CHANNEL_CODE_OF[error.code] ?? 'turn_failed');
  const statuses: readonly number[] = CHANNEL_ERROR_STATUSES[code];
  const runId = error.details?.run_id;
  return {
    status: statuses.includes(error.status) ? error.status : statuses[0]!,
    body: { error: code, message: error.message, ...(typeof runId === 'string' ? { run_id: runId } : {}) },
  };
}
