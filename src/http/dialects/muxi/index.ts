/**
 * Seed 002 (MUXI) as a dialect at /api/v1: bare JSON bodies, agents with an `id` and a display `name`, the seed's six
 * error codes, `Authorization: Bearer <API key>`, and X-RateLimit-Reset in UTC epoch seconds.
 */
import type { Scope } from '../../../domain/scopes.ts';
import { SECURITY_SCHEMES } from '../../openapi.ts';
import type { Dialect } from '../dialect.ts';
import { MuxiError, muxiErrorBody, muxiErrorSchema, muxiIssueMessage } from './errors.ts';
import { muxiRoutes } from './routes.ts';

/** The API key first: it is how seed 002 authenticates; the server's other credentials work here too. */
function muxiSecurity(scope: Scope): Array<Record<string, string[]>> {
  return [{ apiKey: [] }, { internalToken: [] }, { bearerToken: [scope] }];
}

export const muxiDialect: Dialect = {
  name: 'muxi',
  prefix: '/api/v1',
  routes: muxiRoutes,
  issueMessage: muxiIssueMessage,
  errorBody: muxiErrorBody,
  openApi: {
    title: 'Moxxy server API: MUXI dialect (seed 002)',
    description:
      'Agents, chat and memory in the shapes of the MUXI API (seed 002), served by the same procedures as /api (see ' +
      '/api/openapi.json). Bodies are bare JSON; failures are `{"error": {"code", "message", "details"}}`, `details.moxxy_code` ' +
      "naming the server's own code. A MUXI agent's `id` is its name elsewhere in the API, its `name` the display name.",
    securitySchemes: {
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        description:
          'The API key set with `moxxy serve --api-key` (MOXXY_API_KEY, auth.apiKey): full access. Without an API key or internal ' +
          'token configured (allowed on a loopback bind only) requests without credentials are let through.',
      },
      internalToken: SECURITY_SCHEMES.internalToken,
      bearerToken: SECURITY_SCHEMES.bearerToken,
    },
    security: muxiSecurity,
    error: MuxiError,
    errorOf: muxiErrorSchema,
  },
};
