/** Agents router: list, create, get, update, delete, and the tools an agent could be given. */
import { AgentToolList } from '../domain/agent-tools.ts';
import { Agent, AgentCreate, AgentDeleted, AgentList, AgentPatch, AgentRef } from '../domain/agents.ts';
import { PaginationInput } from '../domain/common.ts';
import { loosenedHostTools } from '../domain/approvals.ts';
import { hostToolsIn } from '../domain/tool-access.ts';
import { procedure, requireHostPower, router, type Context } from './trpc.ts';

const GRANTING_HOST_TOOLS = 'Naming a host tool (`host_shell`) in `allowed_tools` is a host power: it needs the `admin` scope or the internal token.';

/** Granting a host tool the agent did not have yet needs host powers; keeping or removing one does not. */
async function checkHostToolGrants(ctx: Context, granted: readonly string[], current: readonly string[] = []): Promise<void> {
  const added = hostToolsIn(granted).filter((tool) => !current.includes(tool));
  if (added.length) await requireHostPower(ctx, `Granting ${added.join(', ')}`);
}

const tags: ['agents'] = ['agents'];

export const agentsRouter = router({
  list: procedure
    .meta({ openapi: { method: 'GET', path: '/api/agents', tags, summary: 'List agents', scope: 'agents:read', rateLimit: 'read' } })
    .input(PaginationInput)
    .output(AgentList)
    .query(({ ctx, input }) => ctx.services.agents.list(input)),

  create: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/agents',
        tags,
        summary: 'Create an agent',
        successStatus: 201,
        errors: ['AGENT_EXISTS'],
        scope: 'agents:write',
        rateLimit: 'write',
        hostPower: GRANTING_HOST_TOOLS,
      },
    })
    .input(AgentCreate)
    .output(Agent)
    .mutation(async ({ ctx, input }) => {
      await checkHostToolGrants(ctx, input.allowed_tools);
      return ctx.services.agents.create(input);
    }),

  get: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/agents/{name}',
        tags,
        summary: 'Get an agent',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'agents:read',
        rateLimit: 'read',
      },
    })
    .input(AgentRef)
    .output(Agent)
    .query(({ ctx, input }) => ctx.services.agents.get(input.name)),

  update: procedure
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/api/agents/{name}',
        tags,
        summary: 'Update an agent',
        description:
          'Fields given replace the current ones; model.parameters are merged. `tool_policy` (e.g. `{"host_shell": "ask", "mcp.*": "ask"}`) makes runs ' +
          'pause on those calls until a person approves them (POST /api/runs/{id}/approvals/{call_id}).',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'agents:write',
        rateLimit: 'write',
        hostPower: `${GRANTING_HOST_TOOLS} Keeping or removing one does not; neither does making its \`tool_policy\` stricter, but loosening it (\`ask\` to \`allow\`) does.`,
      },
    })
    .input(AgentPatch.extend(AgentRef.shape))
    .output(Agent)
    .mutation(async ({ ctx, input: { name, ...patch } }) => {
      const current = await ctx.services.agents.get(name);
      if (patch.allowed_tools) await checkHostToolGrants(ctx, patch.allowed_tools, current.allowed_tools);
      // Asking before each host command is how a host tool is handed over; loosening that is a host power too.
      const loosened = patch.tool_policy ? loosenedHostTools(current.tool_policy, patch.tool_policy) : [];
      if (loosened.length) await requireHostPower(ctx, `Loosening the tool policy of ${loosened.join(', ')}`);
      return ctx.services.agents.update(name, patch);
    }),

  tools: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/agents/{name}/tools',
        tags,
        summary: 'List the tools the agent could be given, and which it allows',
        description:
          'Primitives (memory.*, subagent.spawn), skills (built-ins included) and the tools of its reachable MCP servers, each with ' +
          'whether `allowed_tools` allows it and whether it is a host tool (granting one needs the `admin` scope or the internal token).',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'agents:read',
        rateLimit: 'read',
      },
    })
    .input(AgentRef)
    .output(AgentToolList)
    .query(async ({ ctx, input }) => ({ tools: await ctx.services.tools.catalogue(await ctx.services.agents.get(input.name)) })),

  delete: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/api/agents/{name}',
        tags,
        summary: 'Delete an agent',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'agents:write',
        rateLimit: 'write',
      },
    })
    .input(AgentRef)
    .output(AgentDeleted)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.agents.delete(input.name);
      return { name: input.name, status: 'deleted' as const };
    }),
});

