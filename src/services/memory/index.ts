/** The memory area's public surface for the rest of the server (container, agent runtime). */
export { MemoryService, type MemoryEvent, type MemorySearch, type MemoryServiceOptions, type RankedMemories } from './service.ts';
export { memoryTools } from './tools.ts';
