/** Memory router: list or search, add, clear, delete — per agent, optionally per user. */
import { AgentRef } from '../domain/agents.ts';
import { Memory, MemoryAdd, MemoryClearInput, MemoryCleared, MemoryDeleted, MemoryList, MemoryListInput, MemoryRef } from '../domain/memory.ts';
import { procedure, router } from './trpc.ts';

const tags: ['memory'] = ['memory'];
const path = '/api/agents/{name}/memory' as const;

export const memoryRouter = router({
  list: procedure
    .meta({
      openapi: {
        method: 'GET',
        path,
        tags,
        summary: "List or search an agent's memories",
        description:
          'Without `query`, newest first. With `query`, best first, each with `relevance_score` (0..1): full-text (BM25) ' +
          'search, fused with vector search by reciprocal rank when embeddings are configured; `mode` says which ran.',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'memory:read',
        rateLimit: 'read',
      },
    })
    .input(MemoryListInput.extend(AgentRef.shape))
    .output(MemoryList)
    .query(({ ctx, input: { name, ...query } }) => ctx.services.memory.list(name, query)),

  add: procedure
    .meta({
      openapi: {
        method: 'POST',
        path,
        tags,
        summary: 'Add a memory',
        successStatus: 201,
        errors: ['AGENT_NOT_FOUND'],
        scope: 'memory:write',
        rateLimit: 'write',
      },
    })
    .input(MemoryAdd.extend(AgentRef.shape))
    .output(Memory)
    .mutation(({ ctx, input: { name, ...memory } }) => ctx.services.memory.add(name, memory)),

  clear: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path,
        tags,
        summary: "Forget all of an agent's memories, or one user's",
        errors: ['AGENT_NOT_FOUND'],
        scope: 'memory:write',
        rateLimit: 'write',
      },
    })
    .input(MemoryClearInput.extend(AgentRef.shape))
    .output(MemoryCleared)
    .mutation(async ({ ctx, input }) => ({ deleted: await ctx.services.memory.clear(input.name, input.user_id) })),

  delete: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${path}/{id}`,
        tags,
        summary: 'Forget one memory',
        errors: ['AGENT_NOT_FOUND', 'MEMORY_NOT_FOUND'],
        scope: 'memory:write',
        rateLimit: 'write',
      },
    })
    .input(MemoryRef.extend(AgentRef.shape))
    .output(MemoryDeleted)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.memory.delete(input.name, input.id);
      return { id: input.id, status: 'deleted' as const };
    }),
});
