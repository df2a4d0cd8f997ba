/** The tool registry: every source of tools (primitives, skills, MCP) plugs in; agents see what they allow. */
import type { Agent } from '../../domain/agents.ts';
import type { ToolDefinition, ToolSource } from '../tools/types.ts';

/** `*` allows everything; `prefix.*` allows a family (e.g. `memory.*`, `mcp.github.*`). */
export function isToolAllowed(allowed: readonly string[], name: string): boolean {
  return allowed.some((pattern) => pattern === '*' || pattern === name || (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))));
}

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

  /** The tools the agent may call. */
  async allowed(agent: Agent): Promise<ToolDefinition[]> {
    return (await this.all(agent)).filter((tool) => isToolAllowed(agent.allowed_tools, tool.name));
  }
}
