/** Who the caller is, as the web console asks it: whether the server needs credentials, and what the caller may do. */
import { z } from 'zod';
import { Scope } from './scopes.ts';

export const AuthSession = z
  .object({
    auth_required: z.boolean().describe('Whether requests need credentials (an internal token or API key is configured).'),
    caller: z
      .enum(['anonymous', 'internal', 'token'])
      .describe('`internal`: the internal token or API key; `token`: an API token (a console session is one); `anonymous`: none.'),
    scopes: z
      .array(Scope)
      .describe('What the caller may do: `admin` (everything) for the internal token and for anyone on an open server, a token\'s own scopes, or none.'),
    token_id: z.string().nullable().describe('The API token in use (tok_...), e.g. the console session minted at login.'),
  })
  .meta({ id: 'AuthSession' });
export type AuthSession = z.infer<typeof AuthSession>;
