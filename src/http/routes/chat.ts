/** Raw streaming routes of chat and runs: seed 000's chat stream and a run's event stream (SSE). */
import { z } from 'zod';
import { AgentRef } from '../../domain/agents.ts';
import { ChatStreamChunk, ChatStreamInput, RunRef } from '../../domain/chat.ts';
import { EventEnvelope, RUN_END_EVENTS } from '../../domain/events.ts';
import type { Services } from '../../services/container.ts';
import { chatChunks } from '../../services/runtime/stream.ts';
import { defineRawRoute, type RawRouteSpec } from '../raw-routes.ts';
import { openSse } from '../sse.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { eventJson } from './events.ts';

/** Names the run before the first chunk, for clients that cannot read `run_id` from the frames (or want it first). */
export const RUN_ID_HEADER = 'x-moxxy-run-id';

const CHAT_STREAM_DESCRIPTION =
  'Server-Sent Events in the seed format: `data: {"content": "...", "run_id": "..."}` per text delta (plus `tool_call` / ' +
  '`tool_result` chunks), then `data: {"done": true, "run_id", "session_id", "message_id", "content", "status", "usage"}`. ' +
  'A failed run ends with `done` carrying `status: "failed"` and `error`. A tool call waiting for approval (the agent\'s ' +
  '`tool_policy` says `ask`) is sent as `{"approval_required": {...}, "run_id"}`, and the stream stays open until it is decided ' +
  '(POST /api/runs/{run_id}/approvals/{call_id}) or expires. The run id is also the `X-Moxxy-Run-Id` response ' +
  'header, so the run can be cancelled (POST /api/runs/{run_id}/cancel) before its first token. Closing the connection ' +
  'cancels the run unless `keep_running` is true. Errors found before the stream starts (unknown agent, busy session, ' +
  'invalid input) answer with the error envelope.';

async function streamChat(turn: ChatStreamInput & { name: string }, request: FastifyRequest, reply: FastifyReply, services: Services) {
  const { name, keep_running, ...input } = turn;
  const handle = await services.runtime.start({ ...input, agent: name, source: 'stream' });
  const runId = handle.run.id;
  const stream = openSse(request, reply, { keepAliveMs: services.events.options.keepAliveMs, headers: { [RUN_ID_HEADER]: runId } });
  // A run that ended meanwhile cannot be cancelled: nothing is left to do then.
  const cancel = () => void services.runtime.cancel(runId).catch(() => undefined);
  try {
    for await (const chunk of chatChunks(handle, { signal: stream.signal, onAbandoned: keep_running ? undefined : cancel })) {
      if (!(await stream.send({ data: chunk }))) break;
    }
  } finally {
    stream.close();
  }
}

/** What the two forms of the chat stream share: one endpoint, its message in the query string or in a JSON body. */
const chatStream = {
  path: '/api/agents/{name}/chat/stream',
  tags: ['chat'],
  description: CHAT_STREAM_DESCRIPTION,
  scope: 'chat',
  rateLimit: 'chat',
  responses: {
    200: {
      description: 'The answer as it is produced',
      contentType: 'text/event-stream',
      schema: ChatStreamChunk,
      headers: { 'X-Moxxy-Run-Id': { description: 'The id of the run streaming its answer (run_...).', schema: { type: 'string' } } },
    },
  },
  errors: ['AGENT_NOT_FOUND', 'SESSION_BUSY'],
} satisfies Partial<RawRouteSpec>;

export const chatStreamGetRoute = defineRawRoute({
  ...chatStream,
  id: 'chat.streamGet',
  method: 'GET',
  summary: 'Stream an answer (SSE), message in the query string',
  startsRun: true,
  request: { params: AgentRef, query: ChatStreamInput.omit({ context: true }) },
  handler: ({ params, query }, request, reply, services) => streamChat({ ...query, name: params.name }, request, reply, services),
});

export const chatStreamPostRoute = defineRawRoute({
  ...chatStream,
  id: 'chat.streamPost',
  method: 'POST',
  summary: 'Stream an answer (SSE), message in a JSON body',
  request: { params: AgentRef, body: { contentType: 'application/json', schema: ChatStreamInput } },
  handler: ({ params, body }, request, reply, services) => streamChat({ ...body, name: params.name }, request, reply, services),
});

export const runEventsRoute = defineRawRoute({
  id: 'runs.eventStream',
  method: 'GET',
  path: '/api/runs/{id}/events',
  tags: ['runs'],
  summary: 'A run\'s events (SSE), from its start; resumable with Last-Event-ID',
  description:
    'Each message has `id:` (event id), `event:` (event type) and `data:` (the Event envelope). The stream replays the run\'s ' +
    'stored events, follows it live, and ends after run.completed, run.failed or run.cancelled.',
  scope: 'events:read',
  rateLimit: 'read',
  request: {
    params: RunRef,
    headers: z.object({ 'last-event-id': z.string().optional().describe('Resume after this event id.') }),
  },
  responses: { 200: { description: 'The run\'s events', contentType: 'text/event-stream', schema: EventEnvelope } },
  errors: ['RUN_NOT_FOUND'],
  async handler({ params, headers }, request, reply, services) {
    const run = await services.runtime.get(params.id);
    const lastEventId = headers['last-event-id'];
    const stream = openSse(request, reply, { keepAliveMs: services.events.options.keepAliveMs });
    const subscription = services.events.subscribe(
      { run_id: run.id },
      lastEventId ? { afterEventId: lastEventId, signal: stream.signal } : { afterSeq: 0, signal: stream.signal },
    );
    try {
      for await (const event of subscription) {
        if (!(await stream.send({ id: event.event_id, event: event.event_type, data: eventJson(event) }))) break;
        if (RUN_END_EVENTS.has(event.event_type)) break;
      }
    } finally {
      stream.close();
    }
  },
});

export const chatRoutes = [chatStreamGetRoute, chatStreamPostRoute, runEventsRoute];
