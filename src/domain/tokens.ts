/** API tokens: what a caller sends to create one, and what the API shows of them (never the hash). */
import { z } from 'zod';
import { Pagination, PaginationInput } from './common.ts';
import { Scope } from './scopes.ts';

/** `mox_` + base64url of 32 random bytes. */
export const TOKEN_PREFIX = 'mox_';

export const TokenCreate = z
  .strictObject({
    name: z.string().trim().min(1).max(100).describe('What the token is for, e.g. "ci".'),
    scopes: z.array(Scope).min(1).max(20).describe('What the token may do; "*" allows everything.'),
    expires_in: z.number().int().min(1).max(10 * 365 * 24 * 3600).optional().describe('Seconds until the token expires.'),
    expires_at: z.iso.datetime({ offset: true }).optional().describe('When the token expires (ISO 8601, in the future).'),
  })
  .refine((input) => input.expires_in === undefined || input.expires_at === undefined, {
    message: 'Give expires_in or expires_at, not both',
    path: ['expires_at'],
  })
  // The refinement above, as openapi.json states it.
  .meta({ id: 'TokenCreate', not: { required: ['expires_in', 'expires_at'] } });
export type TokenCreate = z.infer<typeof TokenCreate>;

export const ApiToken = z
  .object({
    id: z.string().describe('Token id (tok_...).'),
    name: z.string(),
    scopes: z.array(Scope),
    prefix: z.string().describe('The first characters of the token, to recognise it.'),
    created_at: z.date(),
    expires_at: z.date().nullable(),
    last_used_at: z.date().nullable().describe('Updated at most once a minute.'),
    revoked_at: z.date().nullable(),
  })
  .meta({ id: 'ApiToken' });
export type ApiToken = z.infer<typeof ApiToken>;

/** The create response: the only time the token itself is shown. */
export const TokenCreated = ApiToken.pick({ id: true, name: true, scopes: true, prefix: true, created_at: true, expires_at: true })
  .extend({ token: z.string().describe('The token: shown once, store it now.') })
  .meta({ id: 'TokenCreated' });
export type TokenCreated = z.infer<typeof TokenCreated>;

export const TokenList = z.object({ tokens: z.array(ApiToken), pagination: Pagination }).meta({ id: 'TokenList' });
export type TokenList = z.infer<typeof TokenList>;

export const TokenRef = z.object({ id: z.string().min(1).max(100).describe('Token id (tok_...).') });

export const TokenRevoked = z.object({ id: z.string(), status: z.literal('revoked') }).meta({ id: 'TokenRevoked' });

export { PaginationInput };
