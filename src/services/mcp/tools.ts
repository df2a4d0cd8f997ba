/** The agent's side of MCP: every tool of its reachable servers, as `mcp.<server>.<tool>`. */
import { mcpToolName } from '../../domain/mcp.ts';
import type { ToolSource } from '../tools/types.ts';
import { textOf, type McpService } from './service.ts';

/** `$schema` is noise to model providers, some of which reject unknown keywords at the top level. */
function withoutSchemaKeyword(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _, ...rest } = schema;
  return rest;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function mcpTools(mcp: McpService): ToolSource {
  return {
    async toolsFor(agent) {
      return (await mcp.reachableTools(agent.name)).map(({ server, tool }) => ({
        name: mcpToolName(server, tool.name),
        description: tool.description ?? `Tool '${tool.name}' of the MCP server '${server}'.`,
        inputSchema: withoutSchemaKeyword(tool.inputSchema),
        kind: 'mcp' as const,
        async execute(args, context) {
          if (!isPlainObject(args)) return { output: 'Invalid arguments: expected a JSON object', isError: true };
          const result = await mcp.call(context.agent.name, server, tool.name, args, context.signal);
          return { output: textOf(result), isError: result.isError ?? false, data: result };
        },
      }));
    },
  };
}
