/**
 * The console's only way to the server: the project's own TypeScript client (clients/typescript), on this origin, so
 * the session cookie rides along on every call and stream. No route is written here: a changed route breaks the type
 * check of the pages that use it.
 */
import { createMoxxyClient, type MoxxyRestClient } from '@moxxy/client';

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Calls `listener` whenever the server answers 401 (the session expired or was revoked); returns the unsubscribe. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

async function watchedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.status === 401) for (const listener of unauthorizedListeners) listener();
  return response;
}

// No retries: a 429 or a 409 is shown as it comes, not hidden behind a wait.
export const moxxy: MoxxyRestClient = createMoxxyClient({ baseUrl: location.origin, retry: 0, fetch: watchedFetch });

/** A client sending a token typed at login: `mox_...` as an API token, anything else as the internal token. */
export function clientWithToken(token: string): MoxxyRestClient {
  return createMoxxyClient({ baseUrl: location.origin, retry: 0, ...(token.startsWith('mox_') ? { token } : { internalToken: token }) });
}
