/** `moxxy vault`: set, get, list and delete an agent's secrets, and rotate the master key — in-process on the database (no server). */
import { renameSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { DEFAULT_AGENT_NAME } from '../../domain/agents.ts';
import { SecretKey, SecretSet } from '../../domain/vault.ts';
import { withServices } from '../services.ts';
import { generateMasterKey } from '../../services/vault/crypto.ts';
import { formatMasterKey, keyFilePath, stageKeyFile } from '../../services/vault/master-key.ts';
import { fail } from '../fail.ts';

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

interface AgentOption {
  agent: string;
}

export function registerVaultCommand(program: Command): void {
  const vault = program.command('vault').description("Manage agents' secrets (encrypted at rest; use them in configuration as ${vault:KEY})");
  const agentOption = ['--agent <name>', 'the agent whose secrets these are', DEFAULT_AGENT_NAME] as const;

  vault
    .command('set')
    .description('Store a secret; the value is read from stdin when not given (keeps it out of shell history)')
    .option(...agentOption)
    .argument('<key>', 'the secret key, e.g. OPENAI_API_KEY')
    .argument('[value]', 'the value; omit it to read stdin')
    .action(async (key: string, value: string | undefined, options: AgentOption) => {
      const input = SecretSet.safeParse({ key, value: value ?? (await readStdin()) });
      if (!input.success) fail(input.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; '));
      const stored = await withServices((services) => services.vault.set(options.agent, input.data));
      process.stderr.write(`${stored.created ? 'Stored' : 'Replaced'} ${stored.key} for agent ${options.agent}\n`);
    });

  vault
    .command('get')
    .description('Print a secret (audited as vault.accessed)')
    .option(...agentOption)
    .argument('<key>', 'the secret key')
    .action(async (key: string, options: AgentOption) => {
      const secret = await withServices((services) => services.vault.get(options.agent, parseKey(key), { source: 'cli' }));
      process.stdout.write(`${secret.value}\n`);
    });

  vault
    .command('list')
    .description("List an agent's secret keys (never values)")
    .option(...agentOption)
    .action(async (options: AgentOption) => {
      const list = await withServices((services) => services.vault.list(options.agent, { limit: 100, offset: 0 }));
      for (const secret of list.secrets) {
        process.stdout.write(`${secret.key}\tcreated ${secret.created_at.toISOString()}\tupdated ${secret.updated_at.toISOString()}\n`);
      }
    });

  vault
    .command('delete')
    .description('Delete a secret')
    .option(...agentOption)
    .argument('<key>', 'the secret key')
    .action(async (key: string, options: AgentOption) => {
      await withServices((services) => services.vault.delete(options.agent, parseKey(key)));
      process.stderr.write(`Deleted ${key} for agent ${options.agent}\n`);
    });

  vault
    .command('rotate-key')
    .description(
      'Generate a new master key and re-encrypt every secret (vault values, webhook signing secrets, channel tokens, MCP env and header values) with it in one transaction. Stop the server first. ' +
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
