/** Runs router: an agent's runs, a run's state, cancelling it, deciding a tool call it waits on, and its events as a tRPC subscription. */
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { Approval, ApprovalDecide } from '../domain/approvals.ts';
import { Run, RunRef } from '../domain/chat.ts';
import { EventEnvelope, RUN_END_EVENTS } from '../domain/events.ts';
import { RunList, RunsInput } from '../domain/runs.ts';
import { procedure, router, type Context } from './trpc.ts';

const tags: ['runs'] = ['runs'];

/** Who decides, as the approval records it: the token's id, or the kind of credentials. */
async function deciderOf(ctx: Context): Promise<string> {
  const caller = ctx.caller ? await ctx.caller() : { kind: 'internal' as const };
  return caller.kind === 'token' ? caller.id : caller.kind;
}

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
      return ctx.services.runtime.list(name, { session_id, status }, page);
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

  decide: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/runs/{id}/approvals/{call_id}',
        tags,
        summary: 'Approve or deny a tool call the run waits on',
        description:
          'For a run with status `awaiting_approval` (its `pending_approval`): `approve` runs the tool, `deny` tells the model the call was refused ' +
          '(with `reason`). `for_session` applies the decision to later calls of the tool in the session. The run goes on in the background; ' +
          'follow it with GET /api/runs/{id}. 409 APPROVAL_DECIDED when the call was decided (or expired) already.',
        errors: ['RUN_NOT_FOUND', 'APPROVAL_NOT_FOUND', 'APPROVAL_DECIDED'],
        scope: 'approvals:write',
        rateLimit: 'write',
      },
    })
    .input(ApprovalDecide)
    .output(Approval)
    .mutation(async ({ ctx, input: { id, call_id, ...decision } }) => ctx.services.approvals.decide(id, call_id, decision, await deciderOf(ctx))),

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
