/** The memory primitives a model can call during a run: memory.store and memory.search. */
import { MemorySearchToolArgs, MemoryStoreToolArgs } from '../../domain/memory.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { ToolDefinition } from '../tools/types.ts';
import type { MemoryService } from './service.ts';

export function memoryTools(memory: MemoryService): ToolDefinition[] {
  return [
    defineTool({
      name: 'memory.store',
      description: 'Remember a fact for later conversations with this user (preferences, personal details, decisions).',
      args: MemoryStoreToolArgs,
      async execute(args, context) {
        const stored = await memory.add(
          context.agent.name,
          {
            content: args.content,
            tags: args.tags,
            user_id: context.userId ?? undefined,
            session_id: context.sessionId ?? undefined,
            metadata: { source: 'tool' },
          },
          context.runId,
        );
        return { output: `Stored memory ${stored.id}.`, data: stored };
      },
    }),
    defineTool({
      name: 'memory.search',
      description: "Search what you remember about this user, best matches first, each with a relevance between 0 and 1.",
      args: MemorySearchToolArgs,
      async execute(args, context) {
        const found = await memory.recall(context.agent.name, context.userId, args.query, args.limit, context.runId);
        const output = found.length
          ? found.map((m, i) => `${i + 1}. ${m.content} (relevance ${(m.relevance_score ?? 0).toFixed(2)})`).join('\n')
          : 'No memories found.';
        return { output, data: { memories: found } };
      },
    }),
  ];
}
