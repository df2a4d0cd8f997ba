/**
 * The vault primitives a model can call during a run: vault.set, vault.get, vault.list and vault.delete, on its own
 * agent's secrets. They go through the vault service, so every value is registered with the redactor and reads are
 * audited (vault.accessed); the run records each call (primitive.called, primitive.result) with values redacted.
 */
import { z } from 'zod';
import { PaginationInput } from '../../domain/common.ts';
import { SecretKey, SecretSet } from '../../domain/vault.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { ToolDefinition } from '../tools/types.ts';
import type { VaultService } from './service.ts';

const key = SecretKey.describe('The name of the secret, e.g. gateway_port: letters, digits, "_", "." or "-".');
const VaultSetArgs = z.strictObject({ key, value: SecretSet.shape.value.describe('The value to keep secret (at most 32 KB).') });
const VaultKeyArgs = z.strictObject({ key });
const VaultListArgs = z.strictObject(PaginationInput.shape);

export function vaultTools(vault: VaultService): ToolDefinition[] {
  return [
    defineTool({
      name: 'vault.set',
      description: 'Store a secret (a password, an API key, a setting to keep private) under a name, replacing any value it had.',
      args: VaultSetArgs,
      async execute(args, context) {
        const stored = await vault.set(context.agent.name, args);
        return { output: `Stored secret '${stored.key}'${stored.created ? '' : ' (replacing its previous value)'}.`, data: stored };
      },
    }),
    defineTool({
      name: 'vault.get',
      description: 'Read the value of a stored secret. Use it where it is needed; never repeat it to the user, who sees it as [REDACTED].',
      args: VaultKeyArgs,
      async execute(args, context) {
        const secret = await vault.get(context.agent.name, args.key, { source: 'tool' });
        return { output: secret.value, revealsSecret: true, data: { key: secret.key } };
      },
    }),
    defineTool({
      name: 'vault.list',
      description: 'List the names of the stored secrets (never their values), in alphabetical order.',
      args: VaultListArgs,
      async execute(args, context) {
        const { secrets, pagination } = await vault.list(context.agent.name, args);
        const lines = secrets.map((secret) => secret.key);
        if (lines.length === 0) lines.push('No secrets stored.');
        if (pagination.next_offset !== null) lines.push(`(${pagination.total} in all: call vault.list with offset ${pagination.next_offset} for more)`);
        return { output: lines.join('\n'), data: { keys: secrets.map((secret) => secret.key), pagination } };
      },
    }),
    defineTool({
      name: 'vault.delete',
      description: 'Delete a stored secret.',
      args: VaultKeyArgs,
      async execute(args, context) {
        await vault.delete(context.agent.name, args.key);
        return { output: `Deleted secret '${args.key}'.` };
      },
    }),
  ];
}
