/** The `moxxy` command. */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.ts';
import { AppError } from '../domain/errors.ts';
import { assertSafeBind } from '../http/auth.ts';
import { renderOpenApiFile } from '../http/openapi-document.ts';
import { startServer } from '../http/server.ts';
import { createServices } from '../services/container.ts';
import { VERSION } from '../services/system.ts';
import { registerBackupCommand } from './commands/backup.ts';
import { registerChannelsCommand } from './commands/channels.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerServiceCommand } from './commands/service.ts';
import { registerTokensCommand } from './commands/tokens.ts';
import { registerVaultCommand } from './commands/vault.ts';
import { fail } from './fail.ts';
import { parsePort } from './options.ts';
import { exitOnSignals } from './shutdown.ts';

const OPENAPI_FILE = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url));

const program = new Command()
  .name('moxxy')
  .description('Moxxy server: AI agents behind one typed API')
  .version(VERSION);

program
  .command('serve')
  .description('Serve the API (REST, tRPC, OpenAPI) on HOST:PORT, 127.0.0.1:17890 by default')
  .option('--host <host>', 'address to bind')
  .option('--port <port>', 'port to listen on', parsePort)
  .action(async (options: { host?: string; port?: number }) => {
    const config = await loadConfig({ overrides: { host: options.host, port: options.port } });
    // Before the database is opened: an open API on a public address is refused outright.
    assertSafeBind(config);
    const server = await startServer(await createServices(config));
    process.stdout.write(`Moxxy server ${VERSION} listening on ${server.url}\n`);
    exitOnSignals(server);
  });

program
  .command('openapi')
  .description('Print the OpenAPI document, write it to openapi/openapi.json, or check that file')
  .option('--write', `write ${OPENAPI_FILE}`)
  .option('--check', 'exit 1 when the committed file differs from what the code emits')
  .action((options: { write?: boolean; check?: boolean }) => {
    const rendered = renderOpenApiFile();
    if (options.check) {
      let committed = '';
      try {
        committed = readFileSync(OPENAPI_FILE, 'utf8');
      } catch {
        fail(`${OPENAPI_FILE} is missing; run npm run openapi`);
      }
      if (committed !== rendered) fail('openapi/openapi.json differs from what the code emits; run npm run openapi');
      process.stdout.write('openapi/openapi.json is up to date\n');
    } else if (options.write) {
      mkdirSync(dirname(OPENAPI_FILE), { recursive: true });
      writeFileSync(OPENAPI_FILE, rendered);
      process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
    } else {
      process.stdout.write(rendered);
    }
  });

registerRunCommand(program);
registerChannelsCommand(program);
registerTokensCommand(program);
registerVaultCommand(program);
registerServiceCommand(program);
registerBackupCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof AppError) fail(error.message);
  fail((error as Error).stack ?? String(error));
});
