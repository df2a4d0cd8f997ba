/** Runs router: an agent's runs, a run's state, cancelling it, and its events as a tRPC subscription. */
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { Run, RunRef } from '../domain/chat.ts';
import { EventEnvelope, RUN_END_EVENTS } from '../domain/events.ts';
import { RunList, RunsInput } from '../domain/runs.ts';
import { procedure, router } from './trpc.ts';

const tags: ['runs'] = ['runs'];

export const runsRouter = router({
  list: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/agents/{name}/runs',
        tags,
        summary: "List the agent's runs, newest first",
        description: 'Every run of the agent, whatever started it (API, stream, channel, webhook, heartbeat, sub-agent); filter by session_id and status.',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'chat',
        rateLimit: 'read',
      },
    })
    .input(RunsInput)
    .output(RunList)
    .query(async ({ ctx, input: { name, session_id, status, ...page } }) => {
      await ctx.services.agents.get(name);
      return ctx.services.conversations.runs(name, { session_id, status }, page);
    }),

  get: procedure
    .meta({
      openapi: { method: 'GET', path: '/api/runs/{id}', tags, summary: 'Get a run: status, steps, usage', errors: ['RUN_NOT_FOUND'], scope: 'chat', rateLimit: 'read' },
    })
    .input(RunRef)
    .output(Run)
    .query(({ ctx, input }) => ctx.services.runtime.get(input.id)),

  cancel: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/runs/{id}/cancel',
        tags,
        summary: 'Cancel a run',
        description: 'Aborts the model stream at once and stops before the next step; answers with the cancelled run. 409 RUN_NOT_ACTIVE when it already ended.',
        errors: ['RUN_NOT_FOUND', 'RUN_NOT_ACTIVE'],
        scope: 'chat',
        rateLimit: 'write',
      },
    })
    .input(RunRef)
    .output(Run)
    .mutation(({ ctx, input }) => ctx.services.runtime.cancel(input.id)),

  /** The run's events, from its start (or after lastEventId), ending after its last event. */
  events: procedure
    .meta({ scope: 'events:read', rateLimit: 'read' })
    .input(RunRef.extend({ lastEventId: z.string().nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const run = await ctx.services.runtime.get(input.id);
      const subscription = ctx.services.events.subscribe(
        { run_id: run.id },
        input.lastEventId ? { afterEventId: input.lastEventId, signal } : { afterSeq: 0, signal },
      );
      for await (const event of subscription) {
        yield tracked(event.event_id, EventEnvelope.parse(event));
        if (RUN_END_EVENTS.has(event.event_type)) return;
      }
    }),
});
