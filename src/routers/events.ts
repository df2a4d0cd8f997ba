/** Events router: the audit log (also GET /api/audit) and a live subscription resumable by event id. */
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { AuditPage, AuditQuery, EventFilter } from '../domain/events.ts';
import { procedure, router } from './trpc.ts';

const tags: ['events'] = ['events'];

export const eventsRouter = router({
  audit: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/audit',
        tags,
        summary: 'Query the audit log',
        description: 'Stored events, oldest first; pass next_cursor as cursor for the next page.',
        scope: 'events:read',
        rateLimit: 'read',
      },
    })
    .input(AuditQuery)
    .output(AuditPage)
    .query(({ ctx, input }) => ctx.services.events.query(input)),

  /** Live events; tRPC's SSE link sends the last tracked id back as `lastEventId` when it reconnects. */
  subscribe: procedure
    .meta({ scope: 'events:read', rateLimit: 'read' })
    .input(EventFilter.extend({ lastEventId: z.string().nullish() }))
    .subscription(async function* ({ ctx, input: { lastEventId, ...filter }, signal }) {
      const subscription = ctx.services.events.subscribe(filter, { afterEventId: lastEventId ?? undefined, signal });
      for await (const event of subscription) yield tracked(event.event_id, event);
    }),
});
