/** The tool registry's contract: primitives, skills and MCP tools all plug in as ToolDefinitions. */
import type { Agent } from '../../domain/agents.ts';
import type { AllowList } from '../../domain/tool-access.ts';

export type ToolKind = 'primitive' | 'skill' | 'mcp';

/** What a tool sees of the run that called it. */
export interface ToolContext {
  agent: Agent;
  runId: string | null;
  sessionId: string | null;
  userId: string | null;
  signal: AbortSignal;
  /** The run's effective allow-list (every list must allow a tool); a sub-agent's run inherits it. */
  allowLists: readonly AllowList[];
}

export interface ToolResult {
  /** Text handed back to the model. */
  output: string;
  isError?: boolean;
  /**
   * `output` is a secret the model asked for (vault.get): the model gets it as it is, while the run's steps, events,
   * history and callers get it redacted like every other tool output.
   */
  revealsSecret?: boolean;
  /** Structured result for events and API callers. */
  data?: unknown;
}

export interface ToolDefinition {
  /** Unique name the model calls it by, e.g. `memory.search`, `host_shell`, `mcp.filesystem.read_file`. */
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  inputSchema: Record<string, unknown>;
  kind: ToolKind;
  execute(args: unknown, context: ToolContext): Promise<ToolResult>;
}

/** Tools for one agent, produced on demand (skills and MCP servers change at run time). */
export interface ToolSource {
  toolsFor(agent: Agent): Promise<ToolDefinition[]>;
}
