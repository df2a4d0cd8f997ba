/**
 * Which tools a run may call. A run has one effective allow-list: the intersection of every list on the way in
 * (the agent's `allowed_tools`, the channel's `allowedTools`, the parent run's lists for a sub-agent). A tool is
 * allowed when every list allows it; a refusal names the list that refused.
 *
 * Host tools (running a command on the host: `host_shell`) are a class apart: no pattern grants them, only
 * their exact name, and only a caller with host powers may write that name into a list (src/domain/host-powers.ts).
 */

export const HOST_SHELL = 'host_shell';

/** Tools that run a command on the host. */
export const HOST_TOOLS: readonly string[] = [HOST_SHELL];

export function isHostTool(name: string): boolean {
  return HOST_TOOLS.includes(name);
}

/** Where an allow-list comes from, so a refusal can say which one refused. */
export type AllowListSource = 'agent' | 'channel' | 'parent';

export interface AllowList {
  source: AllowListSource;
  /** The agent or channel the list belongs to. */
  name: string;
  patterns: readonly string[];
}

/** `*` allows every tool, `prefix.*` a family (`memory.*`, `mcp.github.*`); host tools only by their exact name. */
export function listAllows(patterns: readonly string[], tool: string): boolean {
  if (isHostTool(tool)) return patterns.includes(tool);
  return patterns.some((pattern) => pattern === '*' || pattern === tool || (pattern.endsWith('.*') && tool.startsWith(pattern.slice(0, -1))));
}

/** The first list that refuses the tool, or undefined when every list allows it. */
export function refusingList(lists: readonly AllowList[], tool: string): AllowList | undefined {
  return lists.find((list) => !listAllows(list.patterns, tool));
}

/** The host tools a list grants by name: granting them is a host power. */
export function hostToolsIn(patterns: readonly string[]): string[] {
  return patterns.filter(isHostTool);
}

/** A parent run's lists as a child run inherits them: each still refuses what it refused, named as the parent's. */
export function inheritedLists(lists: readonly AllowList[]): AllowList[] {
  return lists.map((list) => ({ ...list, source: 'parent' as const }));
}
