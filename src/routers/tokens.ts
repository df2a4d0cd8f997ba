/** Tokens router: create (the token is shown once), list and revoke API tokens. */
import { PaginationInput, TokenCreate, TokenCreated, TokenList, TokenRef, TokenRevoked } from '../domain/tokens.ts';
import { procedure, requireScopes, router } from './trpc.ts';

const tags: ['tokens'] = ['tokens'];

export const tokensRouter = router({
  create: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/tokens',
        tags,
        summary: 'Create an API token',
        description: 'The answer carries the token itself, the only time it is shown: only its SHA-256 is stored. Give expires_in (seconds) or expires_at, or neither for a token that does not expire.',
        successStatus: 201,
        scope: 'tokens:admin',
        rateLimit: 'write',
        hostPower: 'A token can hand out only scopes it holds itself (403 otherwise); an `admin` token needs the `admin` scope or the internal token.',
      },
    })
    .input(TokenCreate)
    .output(TokenCreated)
    .mutation(async ({ ctx, input }) => {
      await requireScopes(ctx, input.scopes);
      return ctx.services.tokens.create(input);
    }),

  list: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/tokens',
        tags,
        summary: 'List API tokens, newest first (never the token nor its hash)',
        scope: 'tokens:admin',
        rateLimit: 'read',
      },
    })
    .input(PaginationInput)
    .output(TokenList)
    .query(({ ctx, input }) => ctx.services.tokens.list(input)),

  revoke: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/api/tokens/{id}',
        tags,
        summary: 'Revoke an API token',
        description: 'Takes effect at once. Revoking an already revoked token answers the same.',
        errors: ['TOKEN_NOT_FOUND'],
        scope: 'tokens:admin',
        rateLimit: 'write',
      },
    })
    .input(TokenRef)
    .output(TokenRevoked)
    .mutation(({ ctx, input }) => ctx.services.tokens.revoke(input.id)),
});
