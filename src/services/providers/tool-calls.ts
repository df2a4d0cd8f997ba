/** Tool names and arguments as they cross the model APIs. */
import type { ToolSpec } from './types.ts';

/** Both APIs accept only ^[a-zA-Z0-9_-]{1,64}$, while our tools are named like `memory.store`. */
export function wireToolName(name: string): string {
  return name.replaceAll('.', '__').replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
}

/** Maps a name the model called back to the tool it stands for; unknown names pass through. */
export function toolNameResolver(tools: ToolSpec[]): (wireName: string) => string {
  const byWireName = new Map(tools.map((tool) => [wireToolName(tool.name), tool.name]));
  return (wireName) => byWireName.get(wireName) ?? wireName;
}

/**
 * An empty body means no arguments. Invalid JSON is kept as the raw string so the runtime can report
 * it back to the model instead of failing the run.
 */
export function parseToolArguments(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
