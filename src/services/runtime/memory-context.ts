/** Recalls the memories relevant to a turn into the run's system prompt. */
import type { MemoryService } from '../memory/index.ts';
import type { ContextProvider } from './runtime.ts';

const RECALLED = 5;

export function memoryContext(memory: MemoryService): ContextProvider {
  return async (agent, input, run, whenStored) => {
    const memories = await memory.recall(agent.name, run.user_id, input.message, RECALLED, run.id, whenStored);
    if (memories.length === 0) return undefined;
    return { source: 'memory', content: `Relevant memories:\n${memories.map((m) => `- ${m.content}`).join('\n')}` };
  };
}
