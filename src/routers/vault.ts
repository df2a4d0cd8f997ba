/** Vault routers (seed 000): list keys, the explicit read of one value, store, delete — per agent, and the server's own. */
import { AgentRef } from '../domain/agents.ts';
import { Secret, SecretDeleted, SecretList, SecretListInput, SecretRef, SecretSet, SecretStored } from '../domain/vault.ts';
import { procedure, router } from './trpc.ts';

const tags: ['vault'] = ['vault'];
const path = '/api/agents/{name}/vault' as const;

export const vaultRouter = router({
  list: procedure
    .meta({
      openapi: {
        method: 'GET',
        path,
        tags,
        summary: "List an agent's secrets (keys and timestamps, never values)",
        errors: ['AGENT_NOT_FOUND'],
        scope: 'vault:read',
        rateLimit: 'read',
      },
    })
    .input(SecretListInput.extend(AgentRef.shape))
    .output(SecretList)
    .query(({ ctx, input: { name, ...page } }) => ctx.services.vault.list(name, page)),

  get: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${path}/{key}`,
        tags,
        summary: 'Read a secret',
        description: 'The only operation that returns a value; each read is audited as a vault.accessed event (the key, never the value).',
        errors: ['AGENT_NOT_FOUND', 'SECRET_NOT_FOUND'],
        scope: 'vault:read',
        rateLimit: 'read',
      },
    })
    .input(SecretRef.extend(AgentRef.shape))
    .output(Secret)
    .query(({ ctx, input }) => ctx.services.vault.get(input.name, input.key)),

  set: procedure
    .meta({
      openapi: {
        method: 'POST',
        path,
        tags,
        summary: 'Store a secret',
        description:
          'Creates the key or replaces its value; answers 201 either way, with `created` telling which. The value is encrypted ' +
          '(AES-256-GCM) before it is stored and is replaced by [REDACTED] in events and skill output from now on. ' +
          'Use it in configuration as ${vault:KEY}.',
        successStatus: 201,
        errors: ['AGENT_NOT_FOUND'],
        scope: 'vault:write',
        rateLimit: 'write',
      },
    })
    .input(SecretSet.extend(AgentRef.shape))
    .output(SecretStored)
    .mutation(({ ctx, input: { name, ...secret } }) => ctx.services.vault.set(name, secret)),

  delete: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${path}/{key}`,
        tags,
        summary: 'Delete a secret',
        errors: ['AGENT_NOT_FOUND', 'SECRET_NOT_FOUND'],
        scope: 'vault:write',
        rateLimit: 'write',
      },
    })
    .input(SecretRef.extend(AgentRef.shape))
    .output(SecretDeleted)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.vault.delete(input.name, input.key);
      return { key: input.key, status: 'deleted' as const };
    }),
});

const serverPath = '/api/vault' as const;
const SERVER_NOTE =
  "The server's own secrets, apart from every agent's vault: what `${vault:KEY}` in the server's configuration " +
  '(moxxy.config.*, e.g. `providers.openai.apiKey`) names, whichever agent a run belongs to. The operator\'s: they ' +
  'need the `admin` scope (or the internal token).';

export const serverVaultRouter = router({
  list: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: serverPath,
        tags,
        summary: "List the server's secrets (keys and timestamps, never values)",
        description: SERVER_NOTE,
        scope: 'admin',
        rateLimit: 'read',
      },
    })
    .input(SecretListInput)
    .output(SecretList)
    .query(({ ctx, input }) => ctx.services.vault.listServer(input)),

  get: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${serverPath}/{key}`,
        tags,
        summary: 'Read a server secret',
        description: `${SERVER_NOTE} Each read is audited as a vault.accessed event with no agent (the key, never the value).`,
        errors: ['SECRET_NOT_FOUND'],
        scope: 'admin',
        rateLimit: 'read',
      },
    })
    .input(SecretRef)
    .output(Secret)
    .query(({ ctx, input }) => ctx.services.vault.getServer(input.key)),

  set: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: serverPath,
        tags,
        summary: 'Store a server secret',
        description: `${SERVER_NOTE} Creates the key or replaces its value (201 either way, \`created\` says which); encrypted like every secret and redacted from then on, in every process.`,
        successStatus: 201,
        scope: 'admin',
        rateLimit: 'write',
      },
    })
    .input(SecretSet)
    .output(SecretStored)
    .mutation(({ ctx, input }) => ctx.services.vault.setServer(input)),

  delete: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${serverPath}/{key}`,
        tags,
        summary: 'Delete a server secret',
        description: `${SERVER_NOTE} Configuration that still names it answers 503 CONFIG_UNRESOLVED where it is used.`,
        errors: ['SECRET_NOT_FOUND'],
        scope: 'admin',
        rateLimit: 'write',
      },
    })
    .input(SecretRef)
    .output(SecretDeleted)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.vault.deleteServer(input.key);
      return { key: input.key, status: 'deleted' as const };
    }),
});
