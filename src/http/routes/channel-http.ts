/**
 * Seed 001's HTTP channel: one agent turn per request, as JSON, SSE or audio. There is no human in the loop,
 * so the operator declares trust up front: a bearer token and a tool allow-list, both required — server-wide
 * (channels.http) or per agent (an `http` channel), the token telling which agent the request reaches.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  AudioTurnQuery,
  AudioTurnResponse,
  ChannelError,
  ChannelHealth,
  MoxxyEvent,
  turnRequestSchema,
  TurnResponse,
  type TurnRequest,
} from '../../domain/channel-http.ts';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../domain/errors.ts';
import { validationError } from '../../routers/errors.ts';
import { sameSecret } from '../../services/auth/same-secret.ts';
import type { HttpBinding } from '../../services/channels/service.ts';
import type { Services } from '../../services/container.ts';
import { createTranscriber } from '../../services/transcription.ts';
import { errorEnvelope } from '../envelope.ts';
import { defineRawRoute, type RawRouteSpec } from '../raw-routes.ts';
import { logOf } from '../logger.ts';
import { openSse } from '../sse.ts';

const TAG = 'channel-http';
const JSON_BODY_LIMIT = 64 * 1024;
const AUDIO_BODY_LIMIT = 10 * 1024 * 1024;
const SOURCE = 'channel:http';

const AUTH_NOTE =
  'Requires `Authorization: Bearer <token>`, a channel token, not an API token: either the token of an `http` channel configured ' +
  'for an agent (POST /api/agents/{name}/channels), which runs that agent with that channel\'s allowedTools, or the server-wide ' +
  'channels.http.authToken (MOXXY_HTTP_TOKEN), which runs agent channels.http.agent with channels.http.allowedTools. The channel\'s ' +
  'list narrows the agent\'s own, never widens it: a tool must be allowed by both. Answers 503 CHANNEL_NOT_CONFIGURED while no channel is fully ' +
  'configured. Each turn runs in a new session.';

/** Which agent and tools each authorized request runs with, set before the body is read. */
const bindings = new WeakMap<FastifyRequest, HttpBinding>();

/** The server-wide channel (moxxy.config / MOXXY_HTTP_TOKEN): its binding and token, or why it cannot serve. */
async function globalChannel(services: Services): Promise<{ binding: HttpBinding; token: string } | { problem: AppError }> {
  const channel = services.config.channels.http;
  if (!channel?.allowedTools) {
    return { problem: new AppError('CHANNEL_NOT_CONFIGURED', 'The HTTP channel needs channels.http.allowedTools: the tools it may use ([] disables all tools)') };
  }
  const token = channel.authToken ? await services.resolveSecret(channel.authToken) : '';
  if (!token) {
    return { problem: new AppError('CHANNEL_NOT_CONFIGURED', 'The HTTP channel needs a bearer token: set MOXXY_HTTP_TOKEN or channels.http.authToken') };
  }
  return { binding: { agent: channel.agent, channel: 'http', allowedTools: channel.allowedTools }, token };
}

/**
 * Runs before the body is read: finds the channel whose token the caller sent (the server-wide one, else an
 * agent's http channel) and refuses otherwise — with 503 while no channel could serve at all.
 */
async function authorizeTurn(request: FastifyRequest, services: Services): Promise<void> {
  const given = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '')?.[1];
  const global = await globalChannel(services);
  const binding =
    given === undefined
      ? undefined
      : 'binding' in global && sameSecret(given, global.token)
        ? global.binding
        : await services.channels.matchHttpToken(given);
  if (binding) {
    bindings.set(request, binding);
    return;
  }
  if ('problem' in global && !(await services.channels.hasHttpChannels())) throw global.problem;
  throw new AppError('UNAUTHORIZED', 'Missing or wrong bearer token: send Authorization: Bearer <the channel token>');
}

/** The binding authorizeTurn found. */
function bindingOf(request: FastifyRequest): HttpBinding {
  const binding = bindings.get(request);
  if (!binding) throw new AppError('UNAUTHORIZED', 'Missing or wrong bearer token');
  return binding;
}

const asErrorCode = (code: string): ErrorCode => (code in ERROR_STATUS ? (code as ErrorCode) : 'INTERNAL_ERROR');

/**
 * One turn as MoxxyEvents, built from the run's live updates. A failed run ends with an `error` event;
 * failures before the run starts (e.g. the channel's agent does not exist) are thrown.
 * `systemPrompt` reaches the model as context for this turn, after the agent's own prompt.
 */
async function* runTurn(services: Services, binding: HttpBinding, turn: TurnRequest): AsyncGenerator<MoxxyEvent> {
  const agent = await services.agents.get(binding.agent);
  const channel = { channel: binding.channel, type: 'http' };
  await services.events.emit({
    agent_id: agent.name, run_id: null, event_type: 'channel.message_received', payload: { ...channel, content: turn.prompt },
  });
  const handle = await services.runtime.start({
    agent: agent.name,
    message: turn.prompt,
    source: SOURCE,
    restrictions: [{ source: 'channel', name: binding.channel, patterns: binding.allowedTools }],
    ...(turn.systemPrompt ? { context: { instructions: turn.systemPrompt } } : {}),
  });
  const { run } = handle;
  yield { type: 'turn_started', run_id: run.id, session_id: run.session_id, agent: agent.name, model: { provider: agent.model.provider, name: agent.model.name } };
  for await (const update of handle.updates) {
    switch (update.type) {
      case 'text':
        yield { type: 'assistant_chunk', delta: update.delta };
        break;
      case 'tool_call':
        yield { type: 'tool_call_requested', id: update.call.id, name: update.call.name, arguments: update.call.arguments };
        break;
      case 'tool_result':
        yield { type: 'tool_result', id: update.id, name: update.name, output: update.output, is_error: update.is_error };
        break;
      case 'done': {
        const ended = update.run;
        const content = ended.output ?? '';
        // Stored before the client sees the end of the turn, so the audit log is complete when it does.
        await services.events.emit({
          agent_id: agent.name,
          run_id: ended.id,
          event_type: 'channel.message_sent',
          payload: { ...channel, status: ended.status, content, ...(ended.error ? { error: ended.error } : {}) },
        });
        if (ended.status === 'failed') {
          yield { type: 'error', code: ended.error?.code ?? 'INTERNAL_ERROR', message: ended.error?.message ?? 'The run failed' };
        } else {
          yield { type: 'assistant_message', content };
          yield { type: 'turn_completed', run_id: ended.id, status: ended.status === 'cancelled' ? 'cancelled' : 'completed', usage: ended.usage };
        }
        return;
      }
    }
  }
}

/** The whole turn at once; a failed run answers with its error (e.g. 502 PROVIDER_ERROR) instead. */
async function collectTurn(services: Services, binding: HttpBinding, turn: TurnRequest): Promise<TurnResponse> {
  const events: MoxxyEvent[] = [];
  let runId: string | null = null;
  for await (const event of runTurn(services, binding, turn)) {
    if (event.type === 'turn_started') runId = event.run_id;
    if (event.type === 'error') throw new AppError(asErrorCode(event.code), event.message, { run_id: runId });
    events.push(event);
  }
  const answer = events.findLast((event) => event.type === 'assistant_message');
  return { events, assistant: answer?.content ?? '' };
}

const TURN_ERRORS: ErrorCode[] = ['UNAUTHORIZED', 'AGENT_NOT_FOUND', 'PROVIDER_ERROR', 'CHANNEL_NOT_CONFIGURED', 'PROVIDER_NOT_CONFIGURED'];

const turnRouteBase = {
  method: 'POST',
  tags: [TAG],
  scope: null,
  channelToken: true,
  rateLimit: 'chat',
  bodyLimit: JSON_BODY_LIMIT,
  onRequest: authorizeTurn,
} satisfies Partial<RawRouteSpec>;

export const channelHealthRoute = defineRawRoute({
  id: 'channelHttp.health',
  method: 'GET',
  path: '/v1/health',
  tags: [TAG],
  summary: 'Channel health (public)',
  scope: null,
  rateLimit: false,
  responses: { 200: { description: 'The channel is up', contentType: 'application/json', schema: ChannelHealth } },
  handler: async (_input, _request, reply) => reply.type('application/json; charset=utf-8').send({ status: 'ok' }),
});

export const channelTurnRoute = defineRawRoute({
  ...turnRouteBase,
  id: 'channelHttp.turn',
  path: '/v1/turn',
  summary: 'Run one turn and answer with its events and the final text',
  description: `${AUTH_NOTE} A failed run answers with the error envelope (e.g. 502 PROVIDER_ERROR, details.run_id).`,
  request: { body: { contentType: 'application/json', schema: turnRequestSchema } },
  responses: { 200: { description: 'The turn', contentType: 'application/json', schema: TurnResponse } },
  errors: TURN_ERRORS,
  handler: async ({ body }, request, reply, services) =>
    reply.type('application/json; charset=utf-8').send(await collectTurn(services, bindingOf(request), body)),
});

export const channelTurnStreamRoute = defineRawRoute({
  ...turnRouteBase,
  id: 'channelHttp.turnStream',
  path: '/v1/turn/stream',
  summary: 'Run one turn, streaming its events (SSE)',
  description:
    `${AUTH_NOTE} One \`data:\` line per MoxxyEvent (append \`assistant_chunk.delta\` for the text), then \`data: [DONE]\`. ` +
    'Any failure once the stream is open, including the run failing, ends it with `event: error` and `data: {"type":"error","code","message"}` instead of [DONE].',
  request: { body: { contentType: 'application/json', schema: turnRequestSchema } },
  responses: { 200: { description: 'The turn as it happens', contentType: 'text/event-stream', schema: MoxxyEvent } },
  errors: ['UNAUTHORIZED', 'CHANNEL_NOT_CONFIGURED'],
  async handler({ body }, request, reply, services) {
    const binding = bindingOf(request);
    const stream = openSse(request, reply, { keepAliveMs: services.events.options.keepAliveMs });
    try {
      for await (const event of runTurn(services, binding, body)) {
        if (!(await stream.send(event.type === 'error' ? { event: 'error', data: event } : { data: event }))) return;
        if (event.type === 'error') return;
      }
      await stream.send({ data: '[DONE]' });
    } catch (error) {
      const app = error instanceof AppError ? error : new AppError('INTERNAL_ERROR', 'Internal server error');
      if (app.code === 'INTERNAL_ERROR') logOf(request).error({ err: error }, 'channel turn failed');
      await stream.send({ event: 'error', data: { type: 'error', code: app.code, message: app.message } satisfies MoxxyEvent });
    } finally {
      stream.close();
    }
  },
});

export const channelTurnAudioRoute = defineRawRoute({
  ...turnRouteBase,
  id: 'channelHttp.turnAudio',
  path: '/v1/turn/audio',
  summary: 'Run one turn from a voice note: the transcript becomes the prompt',
  description:
    `${AUTH_NOTE} The body is the raw audio (up to 10 MB) with its type in Content-Type (audio/m4a, audio/mpeg, audio/wav...). ` +
    'It is sent to the configured `transcription` endpoint (OpenAI-compatible /audio/transcriptions); without one the answer is ' +
    '503 `{"error": "no_transcriber"}`. `model` is accepted and not applied, as in POST /v1/turn.',
  bodyLimit: AUDIO_BODY_LIMIT,
  request: {
    query: AudioTurnQuery,
    body: { contentType: 'audio/*', schema: z.string().meta({ format: 'binary' }), description: 'The recording, up to 10 MB.' },
  },
  responses: { 200: { description: 'The transcript and the turn', contentType: 'application/json', schema: AudioTurnResponse } },
  errors: [...TURN_ERRORS, 'VALIDATION_ERROR', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
  rawErrors: {
    503: {
      description: 'no_transcriber (seed body) when no transcriber is configured; CHANNEL_NOT_CONFIGURED (error envelope)',
      contentType: 'application/json',
      schema: z.union([ChannelError, errorEnvelope(['CHANNEL_NOT_CONFIGURED'])]),
    },
  },
  async handler({ query, body }, request, reply, services) {
    const transcriber = createTranscriber(services.config.transcription, services.resolveSecret, services.config.providers.timeoutMs);
    if (!transcriber) {
      return reply.code(503).type('application/json; charset=utf-8').send({
        error: 'no_transcriber',
        message: 'No transcriber is configured: set `transcription` {baseUrl, apiKey?, model?} to an OpenAI-compatible /audio/transcriptions endpoint',
      } satisfies ChannelError);
    }
    if (!Buffer.isBuffer(body)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the audio bytes as the body, with Content-Type audio/*');
    if (body.length === 0) throw validationError([{ path: 'body', message: 'The audio is empty', code: 'too_small' }]);
    const transcript = await transcriber.transcribe({ audio: body, contentType: request.headers['content-type'] ?? 'audio/mpeg', language: query.language });
    if (!transcript) throw validationError([{ path: 'body', message: 'The transcriber heard no speech in the audio', code: 'invalid_value' }]);
    const turn = await collectTurn(services, bindingOf(request), { prompt: transcript });
    return reply.type('application/json; charset=utf-8').send({ transcript, ...turn });
  },
});

export const channelHttpRoutes: RawRouteSpec[] = [channelHealthRoute, channelTurnRoute, channelTurnStreamRoute, channelTurnAudioRoute];
