/**
 * MCP router (seed 003): an agent's MCP servers, their tools, and calling one. The agent is `{agent}` in
 * these paths because a server's own `name` travels in the create body.
 */
import {
  McpInvoke,
  McpInvokeResult,
  McpServer,
  McpServerCreate,
  McpServerDeleted,
  McpServerList,
  McpServerRef,
  McpToolList,
} from '../domain/mcp.ts';
import { AgentParam, PaginationInput } from '../domain/common.ts';
import { procedure, requireHostPower, router } from './trpc.ts';

const tags: ['mcp'] = ['mcp'];
const path = '/api/agents/{agent}/mcp' as const;

export const mcpRouter = router({
  listServers: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${path}/servers`,
        tags,
        summary: "List an agent's MCP servers",
        description: 'With each one\'s connection status and tool count. Values of env and headers are never returned, only their names.',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'skills:read',
        rateLimit: 'read',
      },
    })
    .input(PaginationInput.extend(AgentParam.shape))
    .output(McpServerList)
    .query(({ ctx, input: { agent, ...page } }) => ctx.services.mcp.list(agent, page)),

  addServer: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${path}/servers`,
        tags,
        summary: 'Add an MCP server',
        description:
          'stdio (`command`, `args`, `env`, `sandbox`) or streamable HTTP (`url`, `headers`). Connects at once; a server that fails ' +
          'to connect is still saved, with status `error` and the reason, to be retried (by using it) or removed. A stdio server runs ' +
          'in the sandbox skills run in, working in `<home>/mcp/<agent>/<server>`; 503 SANDBOX_UNAVAILABLE when skills.requireSandbox ' +
          'is set and bubblewrap cannot run, or when it asks for the network and no user-mode network stack is installed.',
        successStatus: 201,
        errors: ['AGENT_NOT_FOUND', 'MCP_SERVER_EXISTS', 'URL_NOT_ALLOWED', 'SANDBOX_UNAVAILABLE'],
        scope: 'skills:write',
        rateLimit: 'write',
        hostPower: 'A stdio server (`command`) runs a command on the host: it needs the `admin` scope or the internal token.',
      },
    })
    .input(McpServerCreate.extend(AgentParam.shape))
    .output(McpServer)
    .mutation(async ({ ctx, input: { agent, ...server } }) => {
      if (server.command !== undefined) await requireHostPower(ctx, 'Adding a stdio MCP server (`command`)');
      return ctx.services.mcp.add(agent, server);
    }),

  removeServer: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${path}/servers/{server}`,
        tags,
        summary: 'Remove an MCP server',
        description: 'Closes its client (stopping a stdio server) and forgets it.',
        errors: ['AGENT_NOT_FOUND', 'MCP_SERVER_NOT_FOUND'],
        scope: 'skills:write',
        rateLimit: 'write',
      },
    })
    .input(McpServerRef)
    .output(McpServerDeleted)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.mcp.remove(input.agent, input.server);
      return { name: input.server, status: 'deleted' as const };
    }),

  listTools: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${path}/tools`,
        tags,
        summary: "List the tools of an agent's MCP servers",
        description: 'Connects servers not connected yet. The agent calls each as `mcp.<server>.<tool>`.',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'skills:read',
        rateLimit: 'read',
      },
    })
    .input(AgentParam)
    .output(McpToolList)
    .query(async ({ ctx, input }) => ({ tools: await ctx.services.mcp.listTools(input.agent) })),

  invoke: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${path}/invoke`,
        tags,
        summary: 'Call a tool of an MCP server',
        description: 'A failure the tool reports is a result with `is_error: true`; an unreachable server or a timeout is MCP_ERROR.',
        errors: ['AGENT_NOT_FOUND', 'MCP_SERVER_NOT_FOUND', 'MCP_ERROR', 'SANDBOX_UNAVAILABLE'],
        scope: 'skills:invoke',
        rateLimit: 'write',
      },
    })
    .input(McpInvoke.extend(AgentParam.shape))
    .output(McpInvokeResult)
    .mutation(({ ctx, input: { agent, ...call } }) => ctx.services.mcp.invoke(agent, call)),
});
