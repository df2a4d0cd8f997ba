/** The tool registry: every source of tools (primitives, skills, MCP) plugs in; which of them a run may call is src/domain/tool-access.ts. */
import type { Agent } from '../../domain/agents.ts';
import type { AgentTool } from '../../domain/agent-tools.ts';
import { isHostTool, listAllows } from '../../domain/tool-access.ts';
import type { ToolDefinition, ToolSource } from '../tools/types.ts';

const KIND_ORDER: Record<AgentTool['kind'], number> = { primitive: 0, skill: 1, mcp: 2 };

export class ToolRegistry {
  private readonly sources: ToolSource[] = [];

  register(source: ToolSource | ToolDefinition[]): void {
    this.sources.push(Array.isArray(source) ? { toolsFor: async () => source } : source);
  }

  /** Every tool that exists for the agent, allowed or not. */
  async all(agent: Agent): Promise<ToolDefinition[]> {
    const lists = await Promise.all(this.sources.map((source) => source.toolsFor(agent)));
    return lists.flat();
  }

  /** Every tool the agent could be given, as the API lists them: what its allow-list grants, and which are host tools. */
  async catalogue(agent: Agent): Promise<AgentTool[]> {
    return (await this.all(agent))
      .map((tool) => ({
        name: tool.name,
        description: tool.description,
        kind: tool.kind,
        host_tool: isHostTool(tool.name),
        allowed: listAllows(agent.allowed_tools, tool.name),
      }))
      .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name));
  }
}
