/** `moxxy backup FILE`: a consistent single-file copy of the embedded database, safe while a server runs. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { databaseUrl, loadConfig } from '../../config/load.ts';
import { openDatabase } from '../../db/client.ts';
import { fail } from '../fail.ts';

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description('Copy the database into FILE (a new file) while the server keeps running; restore by starting on a copy of it')
    .argument('<file>', 'where to write the copy; must not exist')
    .action(async (file: string) => {
      const config = await loadConfig();
      const target = resolve(file);
      // The database alone, not the services: a backup starts nothing and touches no one's runs.
      const database = await openDatabase(databaseUrl(config), config.database.authToken);
      try {
        await database.backup(target);
      } catch (error) {
        fail(`Backup failed: ${(error as Error).message}`);
      } finally {
        await database.close();
      }
      process.stdout.write(`${target}\n`);
    });
}
