/** The HTTP channel (seed 001): the turn request, the MoxxyEvent stream and the seed-shaped responses. */
import { z } from 'zod';
import { Usage } from './chat.ts';

export const turnRequestSchema = z
  .strictObject({
    prompt: z.string().min(1).max(32_000).describe('The user message of this turn.'),
    model: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe(
        'Accepted for seed compatibility but not applied: the turn runs on the channel agent\'s configured model, ' +
          'which turn_started reports. Change the agent (PATCH /api/agents/{name}) to change the model.',
      ),
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

const TurnStarted = z
  .object({
    type: z.literal('turn_started'),
    run_id: z.string(),
    session_id: z.string(),
    agent: z.string(),
    model: z.object({ provider: z.string(), name: z.string() }).describe('The model this turn runs on.'),
  })
  .meta({ id: 'MoxxyTurnStarted' });
const AssistantChunk = z
  .object({ type: z.literal('assistant_chunk'), delta: z.string().describe('Append to the answer so far.') })
  .meta({ id: 'MoxxyAssistantChunk' });
const ToolCallRequested = z
  .object({ type: z.literal('tool_call_requested'), id: z.string(), name: z.string(), arguments: z.unknown() })
  .meta({ id: 'MoxxyToolCallRequested' });
const ToolResult = z
  .object({ type: z.literal('tool_result'), id: z.string(), name: z.string(), output: z.string(), is_error: z.boolean() })
  .meta({ id: 'MoxxyToolResult' });
const AssistantMessage = z
  .object({ type: z.literal('assistant_message'), content: z.string().describe('The whole final answer.') })
  .meta({ id: 'MoxxyAssistantMessage' });
const TurnCompleted = z
  .object({ type: z.literal('turn_completed'), run_id: z.string(), status: z.enum(['completed', 'cancelled']), usage: Usage })
  .meta({ id: 'MoxxyTurnCompleted' });
const TurnError = z
  .object({ type: z.literal('error'), code: z.string().describe('An API error code, e.g. PROVIDER_ERROR.'), message: z.string() })
  .meta({ id: 'MoxxyError' });

export const MoxxyEvent = z
  .discriminatedUnion('type', [TurnStarted, AssistantChunk, ToolCallRequested, ToolResult, AssistantMessage, TurnCompleted, TurnError])
  .meta({ id: 'MoxxyEvent', description: 'One step of a turn; `type` tells which.' });
export type MoxxyEvent = z.infer<typeof MoxxyEvent>;

export const TurnResponse = z
  .object({ events: z.array(MoxxyEvent), assistant: z.string().describe('The final answer.') })
  .meta({ id: 'TurnResponse' });
export type TurnResponse = z.infer<typeof TurnResponse>;

export const AudioTurnResponse = z
  .object({ transcript: z.string().describe('What the transcriber heard; the turn\'s prompt.'), ...TurnResponse.shape })
  .meta({ id: 'AudioTurnResponse' });

export const ChannelHealth = z.object({ status: z.literal('ok') }).meta({ id: 'ChannelHealth' });

/** Seed 001's own error body, used where the seed names one (503 no_transcriber). */
export const ChannelError = z
  .object({ error: z.string().describe('A snake_case code, e.g. no_transcriber.'), message: z.string() })
  .meta({ id: 'ChannelError' });
export type ChannelError = z.infer<typeof ChannelError>;
