/** The tool registry: every source of tools (primitives, skills, MCP; each made with src/services/tools/define-tool.ts) plugs in, and the allow-list rule of src/domain/tool-access.ts is applied here. */
import type { Agent } from '../../domain/agents.ts';
import type { AgentTool } from '../../domain/agent-tools.ts';
import { isHostTool, listAllows, refusingList, type AllowList } from '../../domain/tool-access.ts';
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

  /** The tools a run may call: those every list of its effective allow-list allows (an empty list allows none). */
  async allowedFor(agent: Agent, allowLists: readonly AllowList[]): Promise<ToolDefinition[]> {
    if (allowLists.some((list) => list.patterns.length === 0)) return [];
    return (await this.all(agent)).filter((tool) => !refusingList(allowLists, tool.name));
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
