/** The tool registry: every source of tools (primitives, skills, MCP) plugs in; which of them a run may call is src/domain/tool-access.ts. */
import type { Agent } from '../../domain/agents.ts';
import type { ToolDefinition, ToolSource } from '../tools/types.ts';

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
}
