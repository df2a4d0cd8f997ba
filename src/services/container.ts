/** Builds every service from the configuration: the one place the object graph is wired. */
import type { MoxxyConfig } from '../config/schema.ts';
import { databaseUrl } from '../config/load.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { AgentService } from './agents.ts';
import { EventBus } from './events/bus.ts';
import { Redactor } from './redaction.ts';
import { MemoryService, memoryTools } from './memory/index.ts';
import { createProvider } from './providers/index.ts';
import { memoryContext } from './runtime/memory-context.ts';
import { Runtime } from './runtime/runtime.ts';
import { ConversationStore } from './runtime/store.ts';
import { ToolRegistry } from './runtime/tool-registry.ts';
import { SystemService } from './system.ts';

export interface Services {
  config: MoxxyConfig;
  database: Database;
  agents: AgentService;
  memory: MemoryService;
  system: SystemService;
  redactor: Redactor;
  events: EventBus;
  conversations: ConversationStore;
  tools: ToolRegistry;
  runtime: Runtime;
  /** Resolves `${vault:KEY}` references in configuration at the point of use. */
  resolveSecret(value: string): Promise<string>;
  close(): Promise<void>;
}

export async function createServices(config: MoxxyConfig): Promise<Services> {
  const database = await openDatabase(databaseUrl(config), config.database.authToken);
  const agents = new AgentService(database.db);
  await agents.ensureDefault();
  const redactor = new Redactor();
  const events = await EventBus.open(database.db, redactor);
  const memory = new MemoryService(database.db, agents, { config: config.memory, emit: (event) => events.emit(event) });
  await memory.init();

  const resolveSecret = async (value: string) => value;
  const conversations = new ConversationStore(database.db);
  await conversations.failInterruptedRuns();
  const tools = new ToolRegistry();
  tools.register(memoryTools(memory));
  const runtime = new Runtime({
    agents,
    store: conversations,
    events,
    tools,
    provider: (name) => createProvider(name, config.providers, resolveSecret),
    contextProviders: [memoryContext(memory)],
  });
  return {
    config,
    database,
    agents,
    memory,
    system: new SystemService(database),
    redactor,
    events,
    conversations,
    tools,
    runtime,
    resolveSecret,
    async close() {
      await runtime.stopAll();
      await events.close();
      database.close();
    },
  };
}
