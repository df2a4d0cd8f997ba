/** The memory primitives a model can call during a run: memory.store and memory.search. */
import { z } from 'zod';
import { MemorySearchToolArgs, MemoryStoreToolArgs } from '../../domain/memory.ts';
import type { ToolDefinition, ToolResult } from '../tools/types.ts';
import type { MemoryService } from './service.ts';

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  // `$schema` is noise to model providers, some of which reject unknown keywords at the top level.
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input' });
  return rest;
}

function invalidArguments(error: z.ZodError): ToolResult {
  return { output: `Invalid arguments: ${z.prettifyError(error)}`, isError: true };
}

export function memoryTools(memory: MemoryService): ToolDefinition[] {
  return [
    {
      name: 'memory.store',
      description: 'Remember a fact for later conversations with this user (preferences, personal details, decisions).',
      inputSchema: jsonSchemaOf(MemoryStoreToolArgs),
      kind: 'primitive',
      async execute(args, context) {
        const parsed = MemoryStoreToolArgs.safeParse(args);
        if (!parsed.success) return invalidArguments(parsed.error);
        const stored = await memory.add(
          context.agent.name,
          {
            content: parsed.data.content,
            tags: parsed.data.tags,
            user_id: context.userId ?? undefined,
            session_id: context.sessionId ?? undefined,
            metadata: { source: 'tool' },
          },
          context.runId,
        );
        return { output: `Stored memory ${stored.id}.`, data: stored };
      },
    },
    {
      name: 'memory.search',
      description: "Search what you remember about this user, best matches first, each with a relevance between 0 and 1.",
      inputSchema: jsonSchemaOf(MemorySearchToolArgs),
      kind: 'primitive',
      async execute(args, context) {
        const parsed = MemorySearchToolArgs.safeParse(args);
        if (!parsed.success) return invalidArguments(parsed.error);
        const found = await memory.recall(context.agent.name, context.userId, parsed.data.query, parsed.data.limit, context.runId);
        const output = found.length
          ? found.map((m, i) => `${i + 1}. ${m.content} (relevance ${(m.relevance_score ?? 0).toFixed(2)})`).join('\n')
          : 'No memories found.';
        return { output, data: { memories: found } };
      },
    },
  ];
}
