/** Heartbeats router: an agent's schedules (cron in a time zone, or an interval) that start runs with a prompt. */
import {
  Heartbeat,
  HeartbeatCreate,
  HeartbeatDeleted,
  HeartbeatList,
  HeartbeatListInput,
  HeartbeatPatch,
  HeartbeatRef,
} from '../domain/heartbeats.ts';
import { AgentParam } from '../domain/common.ts';
import { procedure, router } from './trpc.ts';

const tags: ['heartbeats'] = ['heartbeats'];
// `{agent}`, not `{name}`: a heartbeat's body has a `name` of its own.
const path = '/api/agents/{agent}/heartbeats' as const;

export const heartbeatsRouter = router({
  list: procedure
    .meta({
      openapi: { method: 'GET', path, tags, summary: "List an agent's heartbeats", errors: ['AGENT_NOT_FOUND'], scope: 'agents:read', rateLimit: 'read' },
    })
    .input(HeartbeatListInput.extend(AgentParam.shape))
    .output(HeartbeatList)
    .query(({ ctx, input: { agent, ...page } }) => ctx.services.heartbeats.list(agent, page)),

  create: procedure
    .meta({
      openapi: {
        method: 'POST',
        path,
        tags,
        summary: 'Create a heartbeat',
        description:
          'Starts a run of the agent with `prompt` on a schedule: `cron` (five fields, read in `timezone`, default UTC) or ' +
          '`interval_seconds`, exactly one. Runs go to the heartbeat\'s own session (its id); a slot that comes while the previous ' +
          'run is still going is skipped. After downtime a heartbeat fires once, then counts from then. Emits heartbeat.created.',
        successStatus: 201,
        errors: ['AGENT_NOT_FOUND', 'HEARTBEAT_EXISTS'],
        scope: 'agents:write',
        rateLimit: 'write',
      },
    })
    .input(HeartbeatCreate.extend(AgentParam.shape))
    .output(Heartbeat)
    .mutation(({ ctx, input: { agent, ...heartbeat } }) => ctx.services.heartbeats.create(agent, heartbeat)),

  get: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${path}/{id}`,
        tags,
        summary: 'Get a heartbeat (by id or name)',
        errors: ['AGENT_NOT_FOUND', 'HEARTBEAT_NOT_FOUND'],
        scope: 'agents:read',
        rateLimit: 'read',
      },
    })
    .input(HeartbeatRef.extend(AgentParam.shape))
    .output(Heartbeat)
    .query(({ ctx, input }) => ctx.services.heartbeats.get(input.agent, input.id)),

  update: procedure
    .meta({
      openapi: {
        method: 'PATCH',
        path: `${path}/{id}`,
        tags,
        summary: 'Change a heartbeat',
        description: 'Fields given replace the current ones. A new schedule, or enabling a disabled heartbeat, counts next_run_at from now.',
        errors: ['AGENT_NOT_FOUND', 'HEARTBEAT_NOT_FOUND', 'HEARTBEAT_EXISTS'],
        scope: 'agents:write',
        rateLimit: 'write',
      },
    })
    .input(HeartbeatPatch.extend(HeartbeatRef.shape).extend(AgentParam.shape))
    .output(Heartbeat)
    .mutation(({ ctx, input: { agent, id, ...patch } }) => ctx.services.heartbeats.update(agent, id, patch)),

  delete: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${path}/{id}`,
        tags,
        summary: 'Delete a heartbeat',
        errors: ['AGENT_NOT_FOUND', 'HEARTBEAT_NOT_FOUND'],
        scope: 'agents:write',
        rateLimit: 'write',
      },
    })
    .input(HeartbeatRef.extend(AgentParam.shape))
    .output(HeartbeatDeleted)
    .mutation(async ({ ctx, input }) => {
      const deleted = await ctx.services.heartbeats.delete(input.agent, input.id);
      return { id: deleted.id, status: 'deleted' as const };
    }),
});
