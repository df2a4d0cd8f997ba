/** Who is using the console (GET /api/session), and the login form when the server needs a token. */
import { createContext } from 'preact';
import { useContext, useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';
import { clientWithToken } from './api.ts';
import { ErrorNotice, Field, Notice } from './ui/kit.tsx';

export type AuthSession = Schema<'AuthSession'>;

export const SessionContext = createContext<AuthSession | undefined>(undefined);

export function useSession(): AuthSession | undefined {
  return useContext(SessionContext);
}

/** Whether the caller may use host powers (grant host_shell, add a stdio MCP server, mint admin tokens). */
export function holdsHostPowers(session: AuthSession | undefined): boolean {
  return session?.scopes.includes('admin') ?? false;
}

export function Login({ expired, onLoggedIn }: { expired: boolean; onLoggedIn(session: AuthSession): void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onLoggedIn(await clientWithToken(token.trim()).session.create());
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Moxxy console</h1>
        {expired ? <Notice tone="warn">Your session ended: log in again.</Notice> : null}
        <p>This server needs a token: its internal token (MOXXY_INTERNAL_TOKEN) or an API token (mox_…).</p>
        <Field
          label="Token"
          type="password"
          autoComplete="current-password"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          hint="Kept by the server in an HttpOnly session cookie; the internal token itself is never stored in the browser."
        />
        <ErrorNotice error={error} />
        <button type="submit" class="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
