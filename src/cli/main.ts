/** The `moxxy` command. */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { ConfigError, findConfigFile, loadConfig } from '../config/load.ts';
import { AppError } from '../domain/errors.ts';
import { assertSafeBind } from '../http/auth.ts';
import { renderOpenApiFile, renderResponseSchemasFile } from '../http/openapi-document.ts';
import { OPENAPI_FILES } from '../http/openapi-files.ts';
import { codeCacheWriter, startupOver } from '../http/server-build.ts';
import { startServer } from '../http/server.ts';
import { createServices } from '../services/container.ts';
import { VERSION } from '../services/system.ts';
import { registerApprovalsCommand } from './commands/approvals.ts';
import { registerBackupCommand } from './commands/backup.ts';
import { registerChannelsCommand } from './commands/channels.ts';
import { registerConfigCommand } from './commands/config.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerServiceCommand } from './commands/service.ts';
import { registerTokensCommand } from './commands/tokens.ts';
import { registerVaultCommand } from './commands/vault.ts';
import { fail, listenFailure } from './fail.ts';
import { parsePort } from './options.ts';
import { exitOnSignals } from './shutdown.ts';

/** How long after listening `moxxy serve` writes a missing code cache (scripts/server-build-run.cjs). */
const CODE_CACHE_DELAY_MS = 1000;

const program = new Command()
  .name('moxxy')
  .description('Moxxy server: AI agents behind one typed API')
  .version(VERSION)
  // A command's start is over when its action runs; `serve`'s when it listens.
  .hook('preAction', (_program, command) => {
    if (command.name() !== 'serve') startupOver();
  });

program
  .command('serve')
  .description('Serve the API (REST, tRPC, OpenAPI) on HOST:PORT, 127.0.0.1:17890 by default')
  .option('--host <host>', 'address to bind')
  .option('--port <port>', 'port to listen on', parsePort)
  .option('--api-key <key>', 'the API key callers send as "Authorization: Bearer <key>" (seed 002); MOXXY_API_KEY, auth.apiKey')
  .action(async (options: { host?: string; port?: number; apiKey?: string }) => {
    // The flag is MOXXY_API_KEY given another way: it wins over the file, and a bad key is reported under that name.
    const env = options.apiKey === undefined ? process.env : { ...process.env, MOXXY_API_KEY: options.apiKey };
    const config = await loadConfig({ env, overrides: { host: options.host, port: options.port } });
    process.stdout.write(`Configuration file: ${findConfigFile(process.cwd(), process.env) ?? 'none (defaults and environment variables)'}\n`);
    // Before the database is opened: an open API on a public address is refused outright.
    assertSafeBind(config);
    const server = await startServer(await createServices(config));
    // From here the young generation grows, and hot functions are optimized, as V8 sees fit.
    startupOver();
    process.stdout.write(`Moxxy server ${VERSION} listening on ${server.url}\n`);
    // The compiled server's code cache, when it has none V8 accepts (scripts/server-build-run.cjs): written a moment
    // after listening, so it holds what starting and the first requests compiled.
    const writeCodeCache = codeCacheWriter();
    if (writeCodeCache) setTimeout(writeCodeCache, CODE_CACHE_DELAY_MS).unref();
    exitOnSignals(server);
  });

program
  .command('openapi')
  .description("Print openapi.json, or write or check every committed OpenAPI document (openapi/openapi.json and each dialect's)")
  .option('--write', 'write the documents under openapi/')
  .option('--check', 'exit 1 when a committed document differs from what the code emits')
  .addOption(new Option('--response-schemas', "print each operation's success schema as its serializer compiles it (for the build)").hideHelp())
  .action((options: { write?: boolean; check?: boolean; responseSchemas?: boolean }) => {
    if (options.responseSchemas) {
      process.stdout.write(renderResponseSchemasFile());
      return;
    }
    if (!options.check && !options.write) {
      process.stdout.write(renderOpenApiFile());
      return;
    }
    for (const { path, render } of OPENAPI_FILES) {
      const file = fileURLToPath(new URL(`../../${path}`, import.meta.url));
      const rendered = render();
      if (options.check) {
        let committed = '';
        try {
          committed = readFileSync(file, 'utf8');
        } catch {
          fail(`${file} is missing; run npm run openapi`);
        }
        if (committed !== rendered) fail(`${path} differs from what the code emits; run npm run openapi`);
        process.stdout.write(`${path} is up to date\n`);
      } else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, rendered);
        process.stdout.write(`wrote ${file}\n`);
      }
    }
  });

registerRunCommand(program);
registerApprovalsCommand(program);
registerChannelsCommand(program);
registerConfigCommand(program);
registerTokensCommand(program);
registerVaultCommand(program);
registerServiceCommand(program);
registerBackupCommand(program);

// A reader that stops early (`moxxy openapi | head`) closes the pipe: the rest has nowhere to go, which is no failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? process.exit(0) : fail(error.message)));

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof AppError) fail(error.message);
  fail(listenFailure(error) ?? (error as Error).stack ?? String(error));
});
