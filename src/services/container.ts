/** Builds every service from the configuration: the one place the object graph is wired. */
import type { MoxxyConfig } from '../config/schema.ts';
import { databaseUrl } from '../config/load.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { AgentService } from './agents.ts';
import { SystemService } from './system.ts';

export interface Services {
  config: MoxxyConfig;
  database: Database;
  agents: AgentService;
  system: SystemService;
  close(): Promise<void>;
}

export async function createServices(config: MoxxyConfig): Promise<Services> {
  const database = await openDatabase(databaseUrl(config), config.database.authToken);
  const agents = new AgentService(database.db);
  await agents.ensureDefault();
  return {
    config,
    database,
    agents,
    system: new SystemService(database),
    async close() {
      database.close();
    },
  };
}
