/** Raw event routes (seed 004): the live SSE stream and the seed-shaped audit log. */
import { z } from 'zod';
import { AuditPage, AuditQuery, EventEnvelope, EventFilter } from '../../domain/events.ts';
import { logOf } from '../logger.ts';
import { defineRawRoute } from '../raw-routes.ts';
import { formatSseMessage, openSse } from '../sse.ts';
import { JSON_CONTENT_TYPE } from '../content-type.ts';

/** Each event is serialised and formatted once, however many streams it goes to. */
const json = new WeakMap<EventEnvelope, string>();
const frames = new WeakMap<EventEnvelope, string>();

/** The envelope as JSON (ISO timestamp), cached per event object. */
export function eventJson(event: EventEnvelope): string {
  let text = json.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    json.set(event, text);
  }
  return text;
}

/**
 * The whole SSE message of an event (`id:` event_id, `data:` envelope), cached per event object. No `event:` line:
 * a named event reaches only listeners of that name, and seed 004's client reads every event with `onmessage`.
 */
export function eventFrame(event: EventEnvelope): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = formatSseMessage({ id: event.event_id, data: eventJson(event) });
    frames.set(event, frame);
  }
  return frame;
}

export const eventStreamRoute = defineRawRoute({
  id: 'events.stream',
  method: 'GET',
  path: '/v1/events/stream',
  tags: ['events'],
  summary: 'Stream events live (SSE)',
  description:
    'One message per event, with no `event:` line, so `EventSource.onmessage` receives every one (the type is the envelope\'s ' +
    '`event_type`): `id:` is the event_id, `data:` the envelope as JSON. ' +
    'Reconnect with the Last-Event-ID header to replay, from the audit log, every matching event after that one and then continue live. ' +
    '`: keep-alive` comments are sent while idle. A consumer too slow for the live queue is caught up from the audit log, so it misses nothing.',
  scope: 'events:read',
  rateLimit: 'read',
  request: {
    query: EventFilter,
    headers: z.object({
      'Last-Event-ID': z.string().optional().meta({ description: 'Resume after this event id.' }),
    }),
  },
  responses: {
    200: { description: 'An endless text/event-stream; each message\'s data is an Event.', contentType: 'text/event-stream', schema: EventEnvelope },
  },
  async handler({ query, headers }, request, reply, services) {
    const lastEventId = headers['Last-Event-ID'];
    const stream = openSse(request, reply, { keepAliveMs: services.events.options.keepAliveMs });
    const subscription = services.events.subscribe(query, {
      afterEventId: lastEventId || undefined,
      signal: stream.signal,
    });
    try {
      // Whatever is waiting goes out in one write: a stream that fell behind catches up in few syscalls.
      for (let batch = await subscription.nextBatch(); batch.length > 0; batch = await subscription.nextBatch()) {
        if (!(await stream.write(batch.map(eventFrame).join('')))) break;
      }
    } catch (error) {
      logOf(request).error({ err: error }, 'event stream failed');
    } finally {
      subscription.close();
      stream.close();
    }
  },
});

export const auditRoute = defineRawRoute({
  id: 'events.auditRaw',
  method: 'GET',
  path: '/v1/audit',
  tags: ['events'],
  summary: 'Query the audit log (seed shape, no envelope)',
  description: 'Stored events, oldest first, as `{events, next_cursor}`. The same query under the envelope is GET /api/audit.',
  scope: 'events:read',
  rateLimit: 'read',
  request: { query: AuditQuery },
  responses: {
    200: { description: 'A page of the audit log', contentType: 'application/json', schema: AuditPage },
  },
  handler: async ({ query }, _request, reply, services) => reply.type(JSON_CONTENT_TYPE).send(await services.events.query(query)),
});
