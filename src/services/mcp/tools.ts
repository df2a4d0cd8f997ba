/** The agent's side of MCP: every tool of its reachable servers, as `mcp.<server>.<tool>`. */
import { z } from 'zod';
import { mcpToolName } from '../../domain/mcp.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { ToolSource } from '../tools/types.ts';
import { textOf, type McpService } from './service.ts';

/** The server checks arguments against its own schema (offered as it is); here they need only be a JSON object. */
const McpArguments = z.record(z.string(), z.unknown(), { error: 'expected a JSON object' });

export function mcpTools(mcp: McpService): ToolSource {
  return {
    async toolsFor(agent) {
      return (await mcp.reachableTools(agent.name)).map(({ server, tool }) =>
        defineTool({
          name: mcpToolName(server, tool.name),
          description: tool.description ?? `Tool '${tool.name}' of the MCP server '${server}'.`,
          args: McpArguments,
          inputSchema: tool.inputSchema,
          kind: 'mcp',
          async execute(args, context) {
            const result = await mcp.call(context.agent.name, server, tool.name, args, context.signal);
            return { output: textOf(result), isError: result.isError ?? false, data: result };
          },
        }),
      );
    },
  };
}
