/**
 * Seed 001's HTTP channel as Moxxy's own channel speaks it: one agent turn per request, as JSON, SSE or audio; the
 * turn's events are the MoxxyEvents of Moxxy's SDK and every failure is `{"error": "<snake_case>", "message"}`.
 * There is no human in the loop, so the operator declares trust up front: a tool allow-list and a bearer token,
 * server-wide (channels.http) or per agent (an `http` channel), the token telling which agent a request reaches.
 * Like the API, the server-wide channel may go without a token on a server that is open (a loopback bind, no auth).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  AudioTurnQuery,
  AudioTurnResponse,
  CHANNEL_ERROR_STATUSES,
  ChannelFailure,
  ChannelHealth,
  channelErrorOf,
  channelErrorSchema,
  MoxxyEvent,
  parseModelChoice,
  turnRequestSchema,
  TurnResponse,
  type ChannelErrorCode,
  type TurnRequest,
} from '../../domain/channel-http.ts';
import { AppError } from '../../domain/errors.ts';
import { toAppError } from '../../routers/errors.ts';
import { sameSecret } from '../../services/auth/same-secret.ts';
import type { HttpBinding } from '../../services/channels/service.ts';
import type { Services } from '../../services/container.ts';
import { turnEvents } from '../../services/runtime/moxxy-events.ts';
import { createTranscriber } from '../../services/transcription.ts';
import { WWW_AUTHENTICATE } from '../auth.ts';
import { errorEnvelope } from '../envelope.ts';
import { defineRawRoute, type RawResponseSpec, type RawRouteSpec } from '../raw-routes.ts';
import { logOf } from '../logger.ts';
import { openSse, type SseStream } from '../sse.ts';
import { JSON_CONTENT_TYPE } from '../content-type.ts';

const TAG = 'channel-http';
const JSON_BODY_LIMIT = 64 * 1024;
const AUDIO_BODY_LIMIT = 10 * 1024 * 1024;
const SOURCE = 'channel:http';

const AUTH_NOTE =
  'Requires `Authorization: Bearer <token>`, a channel token, not an API token: either the token of an `http` channel configured ' +
  'for an agent (POST /api/agents/{name}/channels), which runs that agent with that channel\'s allowedTools, or the server-wide ' +
  'channels.http.authToken (MOXXY_HTTP_TOKEN), which runs agent channels.http.agent with channels.http.allowedTools. On an open ' +
  'server (a loopback bind without MOXXY_INTERNAL_TOKEN, or `moxxy channels http` on a loopback address) the server-wide channel ' +
  'needs no token when none is configured; a token that is sent is always checked. The channel\'s list narrows the agent\'s own, ' +
  'never widens it: a tool must be allowed by both. Each turn runs in a new session. Every failure is `{"error", "message"}` ' +
  '(`channel_disabled` for a disabled channel\'s token, `channel_not_configured` while no channel can serve).';

/** Which agent and tools each authorized request runs with, set before the body is read. */
const bindings = new WeakMap<FastifyRequest, HttpBinding>();

/** The server-wide channel (moxxy.config / MOXXY_HTTP_TOKEN): its binding and token (none when it serves openly), or why it cannot serve. */
async function globalChannel(services: Services, open: boolean): Promise<{ binding: HttpBinding; token: string | undefined } | { problem: AppError }> {
  const channel = services.config.channels.http;
  if (!channel?.allowedTools) {
    return {
      problem: new AppError(
        'CHANNEL_NOT_CONFIGURED',
        'The HTTP channel is not configured: set channels.http.allowedTools (the tools it may use, [] for none) in moxxy.config.json, or configure an http channel for an agent (POST /api/agents/{name}/channels)',
      ),
    };
  }
  const binding = { agent: channel.agent, channel: 'http', allowedTools: channel.allowedTools };
  const token = channel.authToken ? await services.resolveSecret(channel.authToken) : '';
  if (token || open) return { binding, token: token || undefined };
  return {
    problem: new AppError(
      'CHANNEL_NOT_CONFIGURED',
      'The HTTP channel needs a bearer token on a server that is not open (one with MOXXY_INTERNAL_TOKEN or a non-loopback bind): set MOXXY_HTTP_TOKEN or channels.http.authToken',
    ),
  };
}

/**
 * Runs before the body is read: finds the channel whose token the caller sent (the server-wide one, else an agent's
 * http channel), or, without credentials, the server-wide channel when it serves openly; refuses otherwise — with
 * 503 while no channel could serve at all, or for the token of a disabled channel.
 */
async function authorizeTurn(request: FastifyRequest, services: Services, reply: FastifyReply): Promise<void> {
  const { authorization } = request.headers;
  const given = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '')?.[1];
  const global = await globalChannel(services, request.server.servesOpenly);
  if (given !== undefined) {
    const binding =
      'binding' in global && global.token !== undefined && sameSecret(given, global.token) ? global.binding : await services.channels.matchHttpToken(given);
    if (binding && 'enabled' in binding && !binding.enabled) {
      throw new ChannelFailure(
        'channel_disabled',
        'CHANNEL_NOT_CONFIGURED',
        `The http channel '${binding.channel}' of agent '${binding.agent}' is disabled: enable it with PATCH /api/agents/${binding.agent}/channels/${binding.channel} {"enabled": true}`,
      );
    }
    if (binding) {
      bindings.set(request, binding);
      return;
    }
  } else if (authorization === undefined && 'binding' in global && global.token === undefined) {
    bindings.set(request, global.binding);
    return;
  }
  if ('problem' in global && !(await services.channels.hasHttpChannels())) throw global.problem;
  reply.header('www-authenticate', WWW_AUTHENTICATE);
  throw new AppError('UNAUTHORIZED', 'Missing or wrong bearer token: send Authorization: Bearer <the channel token>');
}

/** The binding authorizeTurn found. */
function bindingOf(request: FastifyRequest): HttpBinding {
  const binding = bindings.get(request);
  if (!binding) throw new AppError('UNAUTHORIZED', 'Missing or wrong bearer token');
  return binding;
}

/**
 * One turn as MoxxyEvents (src/services/runtime/moxxy-events.ts). A failed run ends with an `error` event and then
 * throws; failures before the run starts (the channel's agent does not exist) are thrown. `systemPrompt` reaches the
 * model as context for this turn, after the agent's own prompt; `model` chooses the turn's model.
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
    ...(binding.toolPolicy ? { policies: [{ source: 'channel' as const, name: binding.channel, policy: binding.toolPolicy }] } : {}),
    // Seed 001: no person answers on this channel, so a tool policy's `ask` means deny here.
    noApprover: true,
    ...(turn.systemPrompt ? { context: { instructions: turn.systemPrompt } } : {}),
    ...(turn.model ? { model: parseModelChoice(turn.model) } : {}),
  });
  try {
    yield* turnEvents(handle, turn.prompt);
  } finally {
    // Stored before the client sees the end of the turn, so the audit log is complete when it does.
    const { run } = await handle.done;
    await services.events.emit({
      agent_id: agent.name,
      run_id: run.id,
      event_type: 'channel.message_sent',
      payload: { ...channel, status: run.status, content: run.output ?? '', ...(run.error ? { error: run.error } : {}) },
    });
  }
}

/** The whole turn at once; a failed run answers with its error instead (e.g. 502 turn_failed, with run_id). */
async function collectTurn(services: Services, binding: HttpBinding, turn: TurnRequest): Promise<TurnResponse> {
  const events: MoxxyEvent[] = [];
  for await (const event of runTurn(services, binding, turn)) events.push(event);
  const answer = events.findLast((event) => event.type === 'assistant_message');
  return { events, assistant: answer?.type === 'assistant_message' ? answer.content : '' };
}

/** Malformed HTTP is refused before any route is known, so in the API's envelope (src/http/errors.ts, clientErrorHandler). */
const MALFORMED_HTTP = errorEnvelope(['VALIDATION_ERROR']);

/** The failures each route can answer, by status, as the channel's error body (see channelErrorOf). */
function channelErrors(codes: ChannelErrorCode[]): Record<number, RawResponseSpec> {
  const byStatus = new Map<number, ChannelErrorCode[]>();
  for (const code of codes) for (const status of CHANNEL_ERROR_STATUSES[code]) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  const headers = (status: number): RawResponseSpec['headers'] =>
    status === 401
      ? { 'WWW-Authenticate': { description: WWW_AUTHENTICATE, schema: { type: 'string' } } }
      : status === 429
        ? { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } }
        : undefined;
  return Object.fromEntries(
    [...byStatus].map(([status, named]) => [
      status,
      {
        description: status === 400 ? `${named.join(', ')}; malformed HTTP gets the envelope's VALIDATION_ERROR` : named.join(', '),
        contentType: 'application/json',
        schema: status === 400 ? z.union([channelErrorSchema(named), MALFORMED_HTTP]) : channelErrorSchema(named),
        ...(headers(status) ? { headers: headers(status) } : {}),
      },
    ]),
  );
}

const TURN_FAILURES: ChannelErrorCode[] = [
  'bad_request',
  'unauthorized',
  'cross_site_request',
  'payload_too_large',
  'unsupported_media_type',
  'host_not_allowed',
  'too_many_turns',
  'turn_failed',
  'channel_disabled',
  'channel_not_configured',
];

const turnRouteBase = {
  method: 'POST',
  tags: [TAG],
  scope: null,
  channelToken: true,
  rateLimit: 'chat',
  bodyLimit: JSON_BODY_LIMIT,
  onRequest: authorizeTurn,
  errorResponse: channelErrorOf,
  rawErrors: channelErrors(TURN_FAILURES),
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
  handler: async (_input, _request, reply) => reply.type(JSON_CONTENT_TYPE).send({ status: 'ok' }),
});

export const channelTurnRoute = defineRawRoute({
  ...turnRouteBase,
  id: 'channelHttp.turn',
  path: '/v1/turn',
  summary: 'Run one turn and answer with its events and the final text',
  description: `${AUTH_NOTE} A failed run answers \`turn_failed\` (502 when the model provider failed) with its \`run_id\`.`,
  request: { body: { contentType: 'application/json', schema: turnRequestSchema } },
  responses: { 200: { description: 'The turn', contentType: 'application/json', schema: TurnResponse } },
  handler: async ({ body }, request, reply, services) =>
    reply.type(JSON_CONTENT_TYPE).send(await collectTurn(services, bindingOf(request), body)),
});

/**
 * The events before the model's first answer (and the `error` event of a turn failing then): until the model answers,
 * a failure is still answered with its HTTP status.
 */
const beforeModelAnswer = (event: MoxxyEvent) => event.type === 'user_prompt' || event.type === 'provider_request' || event.type === 'error';

export const channelTurnStreamRoute = defineRawRoute({
  ...turnRouteBase,
  id: 'channelHttp.turnStream',
  path: '/v1/turn/stream',
  summary: 'Run one turn, streaming its events (SSE)',
  description:
    `${AUTH_NOTE} One \`data:\` line per MoxxyEvent (append \`assistant_chunk.delta\` for the text), then \`data: [DONE]\`. ` +
    'The stream opens once the model answers: a turn that fails before that (an unknown model, the channel\'s agent missing) ' +
    'is answered like POST /v1/turn. A failure after that ends the stream with the `error` MoxxyEvent and then ' +
    '`event: error` with the channel\'s error body (`data: {"error": "turn_failed", "message", "run_id"}`) instead of [DONE].',
  request: { body: { contentType: 'application/json', schema: turnRequestSchema } },
  responses: { 200: { description: 'The turn as it happens', contentType: 'text/event-stream', schema: MoxxyEvent } },
  async handler({ body }, request, reply, services) {
    const binding = bindingOf(request);
    const held: MoxxyEvent[] = [];
    let stream: SseStream | undefined;
    const open = async () => {
      stream = openSse(request, reply, { keepAliveMs: services.events.options.keepAliveMs });
      for (const event of held.splice(0)) if (!(await stream.send({ data: event }))) return false;
      return true;
    };
    try {
      for await (const event of runTurn(services, binding, body)) {
        if (stream) {
          if (!(await stream.send({ data: event }))) return;
        } else {
          held.push(event);
          if (!beforeModelAnswer(event) && !(await open())) return;
        }
      }
      if (!stream && !(await open())) return;
      await stream!.send({ data: '[DONE]' });
    } catch (error) {
      // Before the stream opened, the error handler answers it as on /v1/turn.
      if (!stream) throw error;
      const failure = toAppError(error);
      if (failure.code === 'INTERNAL_ERROR') logOf(request).error({ err: error }, 'channel turn failed');
      await stream.send({ event: 'error', data: services.redactor.redact(channelErrorOf(failure, error).body).value });
    } finally {
      stream?.close();
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
    'It is sent to the configured `transcription` endpoint (OpenAI-compatible /audio/transcriptions): without one the answer is ' +
    '503 `no_transcriber`; an empty body is `empty_body`, a failed transcription `transcription_failed`, no speech heard ' +
    '`empty_transcript`. `model` chooses the turn\'s model as in POST /v1/turn.',
  bodyLimit: AUDIO_BODY_LIMIT,
  request: {
    query: AudioTurnQuery,
    body: { contentType: 'audio/*', schema: z.string().meta({ format: 'binary' }), description: 'The recording, up to 10 MB.' },
  },
  responses: { 200: { description: 'The transcript and the turn', contentType: 'application/json', schema: AudioTurnResponse } },
  rawErrors: channelErrors([...TURN_FAILURES, 'empty_body', 'empty_transcript', 'transcription_failed', 'no_transcriber']),
  async handler({ query, body }, request, reply, services) {
    const transcriber = createTranscriber(services.config.transcription, services.resolveSecret, services.config.providers.timeoutMs);
    if (!transcriber) {
      throw new AppError(
        'NO_TRANSCRIBER',
        'No transcriber is configured: set `transcription` {baseUrl, apiKey?, model?} to an OpenAI-compatible /audio/transcriptions endpoint',
      );
    }
    if (!Buffer.isBuffer(body)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the audio bytes as the body, with Content-Type audio/*');
    if (body.length === 0) throw new ChannelFailure('empty_body', 'VALIDATION_ERROR', 'The audio is empty');
    const transcript = await transcriber
      .transcribe({ audio: body, contentType: request.headers['content-type'] ?? 'audio/mpeg', language: query.language })
      .catch((error: unknown) => {
        throw new ChannelFailure('transcription_failed', 'PROVIDER_ERROR', toAppError(error).message);
      });
    if (!transcript) throw new ChannelFailure('empty_transcript', 'VALIDATION_ERROR', 'The transcriber heard no speech in the audio');
    const turn = await collectTurn(services, bindingOf(request), { prompt: transcript, ...(query.model ? { model: query.model } : {}) });
    return reply.type(JSON_CONTENT_TYPE).send({ transcript, ...turn });
  },
});

export const channelHttpRoutes: RawRouteSpec[] = [channelHealthRoute, channelTurnRoute, channelTurnStreamRoute, channelTurnAudioRoute];
