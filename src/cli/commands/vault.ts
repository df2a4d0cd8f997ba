/**
 * `moxxy vault`: set, get, list and delete an agent's secrets or (`--server`) the server's own, and rotate the master
 * key — in-process on the database (no server).
 */
import { renameSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { DEFAULT_AGENT_NAME } from '../../domain/agents.ts';
import { SecretKey, SecretSet } from '../../domain/vault.ts';
import type { Services } from '../../services/container.ts';
import { withServices } from '../services.ts';
import { generateMasterKey } from '../../services/vault/crypto.ts';
import { formatMasterKey, keyFilePath, stageKeyFile } from '../../services/vault/master-key.ts';
import { fail, failWithIssues } from '../fail.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // `echo value | moxxy vault set KEY` must not store the newline echo adds.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function parseKey(key: string): string {
  const parsed = SecretKey.safeParse(key);
  if (!parsed.success) fail(`key: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

interface OwnerOptions {
  agent: string;
  server?: boolean;
}

const FIRST_PAGE = { limit: 100, offset: 0 };
const FROM_CLI = { source: 'cli' };

const ownerName = (options: OwnerOptions) => (options.server ? 'the server' : `agent ${options.agent}`);

/** The vault a command works on: the agent's, or with --server the server's own. */
function vaultOf(services: Services, options: OwnerOptions) {
  const { vault } = services;
  if (options.server) {
    return {
      list: () => vault.listServer(FIRST_PAGE),
      get: (key: string) => vault.getServer(key, FROM_CLI),
      set: (input: SecretSet) => vault.setServer(input),
      delete: (key: string) => vault.deleteServer(key),
    };
  }
  return {
    list: () => vault.list(options.agent, FIRST_PAGE),
    get: (key: string) => vault.get(options.agent, key, FROM_CLI),
    set: (input: SecretSet) => vault.set(options.agent, input),
    delete: (key: string) => vault.delete(options.agent, key),
  };
}

export function registerVaultCommand(program: Command): void {
  const vault = program
    .command('vault')
    .description("Manage agents' secrets and (--server) the server's own, which ${vault:KEY} in the configuration reads (encrypted at rest)");
  /** Every command but rotate-key works on one vault; --agent and --server cannot both be given. */
  const forOneVault = (command: Command) =>
    command
      .addOption(new Option('--agent <name>', 'the agent whose secrets these are').default(DEFAULT_AGENT_NAME).conflicts('server'))
      .addOption(new Option('--server', "the server's own secrets (what ${vault:KEY} in moxxy.config.* names)"));

  forOneVault(vault.command('set'))
    .description('Store a secret; the value is read from stdin when not given (keeps it out of shell history)')
    .argument('<key>', 'the secret key, e.g. OPENAI_API_KEY')
    .argument('[value]', 'the value; omit it to read stdin')
    .action(async (key: string, value: string | undefined, options: OwnerOptions) => {
      const input = SecretSet.safeParse({ key, value: value ?? (await readStdin()) });
      if (!input.success) failWithIssues(input.error.issues);
      const stored = await withServices((services) => vaultOf(services, options).set(input.data));
      process.stderr.write(`${stored.created ? 'Stored' : 'Replaced'} ${stored.key} for ${ownerName(options)}\n`);
    });

  forOneVault(vault.command('get'))
    .description('Print a secret (audited as vault.accessed)')
    .argument('<key>', 'the secret key')
    .action(async (key: string, options: OwnerOptions) => {
      const secret = await withServices((services) => vaultOf(services, options).get(parseKey(key)));
      process.stdout.write(`${secret.value}\n`);
    });

  forOneVault(vault.command('list'))
    .description('List secret keys (never values)')
    .action(async (options: OwnerOptions) => {
      const list = await withServices((services) => vaultOf(services, options).list());
      for (const secret of list.secrets) {
        process.stdout.write(`${secret.key}\tcreated ${secret.created_at.toISOString()}\tupdated ${secret.updated_at.toISOString()}\n`);
      }
    });

  forOneVault(vault.command('delete'))
    .description('Delete a secret')
    .argument('<key>', 'the secret key')
    .action(async (key: string, options: OwnerOptions) => {
      await withServices((services) => vaultOf(services, options).delete(parseKey(key)));
      process.stderr.write(`Deleted ${key} for ${ownerName(options)}\n`);
    });

  vault
    .command('rotate-key')
    .description(
      'Generate a new master key and re-encrypt every secret (agents\' and the server\'s vault values, webhook signing secrets, channel tokens, MCP env and header values) with it in one transaction. Stop the server first. ' +
        'With MOXXY_VAULT_KEY set, the new key is printed and must replace the variable; otherwise <home>/vault.key is replaced.',
    )
    .action(async () => {
      const config = await loadConfig();
      const newKey = generateMasterKey();
      const file = config.vault.masterKey === undefined ? keyFilePath(config.home) : undefined;
      let staged: string | undefined;
      const count = await withServices((services) => services.vault.rotate(newKey, () => (staged = file && stageKeyFile(file, newKey))));
      if (file && staged) {
        renameSync(staged, file);
        process.stderr.write(`Re-encrypted ${count} secret(s); the new master key is in ${file}\n`);
      } else {
        process.stdout.write(`${formatMasterKey(newKey)}\n`);
        process.stderr.write(`Re-encrypted ${count} secret(s). Set MOXXY_VAULT_KEY to the key above now: the old key no longer opens the vault.\n`);
      }
    });
}
