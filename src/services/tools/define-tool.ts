/**
 * The one way to make a tool: its arguments are a zod schema, offered to the model as JSON Schema and parsed before
 * `execute` runs, so every tool answers arguments that do not parse the same way. Which tools a run may call is the
 * allow-list rule of src/domain/tool-access.ts, applied by the registry (src/services/runtime/tool-registry.ts).
 */
import { z } from 'zod';
import type { ToolContext, ToolDefinition, ToolKind, ToolResult } from './types.ts';

export interface ToolSpec<Args extends z.ZodType> {
  /** Unique name the model calls it by, e.g. `memory.search`, `mcp.filesystem.read_file`. */
  name: string;
  description: string;
  /** Parsed before `execute` runs; also what the model is offered, unless `inputSchema` is given. */
  args: Args;
  /** The JSON Schema offered instead of `args`' own: a skill's invoke body, an MCP server's own schema. */
  inputSchema?: Record<string, unknown>;
  /** Default `primitive`. */
  kind?: ToolKind;
  execute(args: z.output<Args>, context: ToolContext): Promise<ToolResult>;
}

/** A zod schema as the JSON Schema a model is offered. */
export function toolInputSchema(schema: z.ZodType): Record<string, unknown> {
  return withoutSchemaKeyword(z.toJSONSchema(schema, { io: 'input' }));
}

/** `$schema` is noise to model providers, some of which reject unknown keywords at the top level. */
function withoutSchemaKeyword(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _, ...rest } = schema;
  return rest;
}

export function defineTool<Args extends z.ZodType>(spec: ToolSpec<Args>): ToolDefinition {
  return {
    name: spec.name,
    description: spec.description,
    inputSchema: spec.inputSchema ? withoutSchemaKeyword(spec.inputSchema) : toolInputSchema(spec.args),
    kind: spec.kind ?? 'primitive',
    async execute(args, context) {
      const parsed = spec.args.safeParse(args);
      if (!parsed.success) return { output: `Invalid arguments: ${z.prettifyError(parsed.error)}`, isError: true };
      return spec.execute(parsed.data, context);
    },
  };
}
