/** Vault router (seed 000): list keys, the explicit read of one value, store, delete — per agent. */
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
