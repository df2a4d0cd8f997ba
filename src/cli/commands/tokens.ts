/** `moxxy tokens`: create, list and revoke API tokens directly on the database (no server needed). */
import { InvalidArgumentError, type Command } from 'commander';
import { TokenCreate } from '../../domain/tokens.ts';
import { withServices } from '../services.ts';
import { failWithIssues } from '../fail.ts';

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1) throw new InvalidArgumentError('must be a whole number of seconds');
  return seconds;
}

const iso = (date: Date | null) => date?.toISOString() ?? '-';

export function registerTokensCommand(program: Command): void {
  const tokens = program.command('tokens').description('Manage API tokens (Authorization: Bearer mox_...)');

  tokens
    .command('create')
    .description('Create a token and print it once: only its hash is stored')
    .requiredOption('--name <name>', 'what the token is for')
    .requiredOption('--scopes <list>', 'comma-separated scopes, e.g. agents:read,chat (or *)')
    .option('--expires-in <seconds>', 'expire after this many seconds', parseSeconds)
    .action(async (options: { name: string; scopes: string; expiresIn?: number }) => {
      const input = TokenCreate.safeParse({
        name: options.name,
        scopes: options.scopes.split(',').map((scope) => scope.trim()).filter(Boolean),
        expires_in: options.expiresIn,
      });
      if (!input.success) failWithIssues(input.error.issues);
      const created = await withServices((services) => services.tokens.create(input.data));
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`Created ${created.id} (${created.scopes.join(',')}, expires ${iso(created.expires_at)}). Store the token now: it is not shown again.\n`);
    });

  tokens
    .command('list')
    .description('List tokens (never the token itself)')
    .action(async () => {
      const list = await withServices((services) => services.tokens.list({ limit: 100, offset: 0 }));
      for (const token of list.tokens) {
        const state = token.revoked_at ? 'revoked' : token.expires_at && token.expires_at.getTime() <= Date.now() ? 'expired' : 'active';
        process.stdout.write(
          `${token.id}\t${token.prefix}...\t${token.name}\t${token.scopes.join(',')}\t${state}\texpires ${iso(token.expires_at)}\tlast used ${iso(token.last_used_at)}\n`,
        );
      }
    });

  tokens
    .command('revoke')
    .description('Revoke a token at once')
    .argument('<id>', 'the token id (tok_...)')
    .action(async (id: string) => {
      await withServices((services) => services.tokens.revoke(id));
      process.stdout.write(`Revoked ${id}\n`);
    });
}
