/**
 * Who is calling, and may they do this. Shared by the REST hooks (src/http/auth.ts) and the tRPC middleware.
 *
 * The rules (DESIGN.md "Auth"):
 * - No internal token and no API key configured (only allowed on a loopback bind, see assertSafeBind): a request
 *   without credentials is allowed, as seed 000's "no authentication by default". Credentials that are sent are
 *   still checked, so a wrong token is 401 and a token lacking the scope is 403 in every mode.
 * - Internal token or API key configured: every secured operation needs X-Moxxy-Internal-Token or
 *   `Authorization: Bearer <API key>` (seed 002; both full access), or a bearer API token (`mox_...`) holding the
 *   operation's scope (or `*`, or `admin`). A bearer value is an API token when it has the `mox_` prefix, else the
 *   API key, which therefore never starts with it (src/config/schema.ts).
 * - Host powers (running a command on the host, granting a host tool) need the internal token or `admin`,
 *   whatever the operation's own scope; `*` does not include them.
 * - 401 UNAUTHORIZED: no credentials where they are required, a wrong internal token or API key, an unknown,
 *   expired or revoked API token. 403 FORBIDDEN: a valid API token without the scope.
 */
import { AppError } from '../../domain/errors.ts';
import { scopesGrant, type Scope } from '../../domain/scopes.ts';
import { TOKEN_PREFIX } from '../../domain/tokens.ts';
import { sameSecret } from './same-secret.ts';
import type { TokenService } from './tokens.ts';

/** The credentials a request carried: the header values as sent, or undefined. */
export interface Credentials {
  internalToken?: string | undefined;
  authorization?: string | undefined;
  /**
   * A bare API token from where a browser can carry one without script access to it or without headers: the console's
   * session cookie, or `?access_token=` on a stream. Only API tokens: the internal token never travels this way.
   */
  apiToken?: string | undefined;
}

export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'internal' }
  | { kind: 'token'; id: string; scopes: Scope[] };

export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous' });
const INTERNAL: Caller = Object.freeze({ kind: 'internal' });


export class Authenticator {
  constructor(
    private readonly tokens: TokenService,
    private readonly internalToken: string | undefined,
    private readonly apiKey?: string | undefined,
  ) {}

  /** True when requests without credentials are let through (no internal token or API key configured). */
  get open(): boolean {
    return !this.internalToken && !this.apiKey;
  }

  /** Resolves the caller from its credentials; throws 401 when credentials were sent and are not valid. */
  async authenticate(credentials: Credentials): Promise<Caller> {
    if (credentials.internalToken !== undefined) {
      if (this.internalToken && sameSecret(credentials.internalToken, this.internalToken)) return { kind: 'internal' };
      throw unauthorized('Wrong internal token');
    }
    if (credentials.authorization !== undefined) {
      const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(credentials.authorization)?.[1];
      if (!bearer) throw unauthorized('Authorization must be "Bearer <API key>" or "Bearer mox_..."');
      if (this.apiKey && !bearer.startsWith(TOKEN_PREFIX)) {
        if (sameSecret(bearer, this.apiKey)) return INTERNAL;
        throw unauthorized('Wrong API key');
      }
      const token = await this.tokens.verify(bearer);
      if (!token) throw unauthorized('Unknown, expired or revoked API token');
      return { kind: 'token', ...token };
    }
    if (credentials.apiToken !== undefined) {
      const token = await this.tokens.verify(credentials.apiToken);
      if (!token) throw unauthorized('Unknown, expired or revoked API token (console session or access_token): log in again');
      return { kind: 'token', ...token };
    }
    return { kind: 'anonymous' };
  }

  /** Throws unless the caller may use an operation needing `scope`. */
  authorize(caller: Caller, scope: Scope): void {
    switch (caller.kind) {
      case 'internal':
        return;
      case 'anonymous':
        if (this.open) return;
        throw unauthorized('Authentication required: send Authorization: Bearer <API key or mox_ token>, or X-Moxxy-Internal-Token');
      case 'token':
        if (scopesGrant(caller.scopes, scope)) return;
        throw new AppError('FORBIDDEN', `This token lacks the '${scope}' scope`, { required_scope: scope });
    }
  }

  /**
   * Throws 403 unless the caller holds host powers (src/domain/host-powers.ts): the internal token, an `admin`
   * token, or, in open loopback mode, a caller without credentials. `what` names the power asked for.
   */
  authorizeHostPower(caller: Caller, what: string): void {
    if (caller.kind === 'token' && !scopesGrant(caller.scopes, 'admin')) {
      throw new AppError('FORBIDDEN', `${what} is a host power: it needs the 'admin' scope or the internal token`, {
        required_scope: 'admin',
        host_power: what,
      });
    }
    this.authorize(caller, 'admin');
  }

  /**
   * The same decision as `check` when it needs no lookup (no credentials, or the internal token), made at
   * once; undefined when an API token must be looked up. Throws the same 401/403.
   */
  checkAtOnce(credentials: Credentials, scope: Scope): Caller | undefined {
    if ((credentials.authorization !== undefined || credentials.apiToken !== undefined) && credentials.internalToken === undefined) return undefined;
    let caller: Caller;
    if (credentials.internalToken === undefined) caller = ANONYMOUS;
    else if (this.internalToken && sameSecret(credentials.internalToken, this.internalToken)) caller = INTERNAL;
    else throw unauthorized('Wrong internal token');
    this.authorize(caller, scope);
    return caller;
  }

  async check(credentials: Credentials, scope: Scope): Promise<Caller> {
    const caller = await this.authenticate(credentials);
    this.authorize(caller, scope);
    return caller;
  }
}

function unauthorized(message: string): AppError {
  return new AppError('UNAUTHORIZED', message);
}
