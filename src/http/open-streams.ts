/**
 * The long-lived responses of an HTTP server: SSE streams (src/http/sse.ts) and tRPC subscriptions. They end
 * all at once when the server closes (fastify's close would otherwise wait for them), and each within a second
 * of the API token that opened it being revoked or expiring: while such streams are open, their tokens are
 * re-checked every second, in one query for all of them, so a revocation by any process on the database counts.
 */
import type { Server, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerOf } from './auth.ts';

const TOKEN_RECHECK_MS = 1000;

interface OpenStream {
  end(): void;
  tokenId: string | undefined;
}

/** Which of these token ids may still be used. */
type UsableTokens = (ids: readonly string[]) => Promise<Set<string>>;

interface Registry {
  streams: Set<OpenStream>;
  usableTokens?: UsableTokens;
  timer?: NodeJS.Timeout;
  checking?: boolean;
}

const registries = new WeakMap<Server, Registry>();

function registryOf(server: Server): Registry {
  let registry = registries.get(server);
  if (!registry) {
    registry = { streams: new Set() };
    registries.set(server, registry);
  }
  return registry;
}

/** Makes the streams of this app's server end with their API tokens, checked with the token service's `usable`. */
export function watchStreamTokens(app: FastifyInstance, usableTokens: UsableTokens): void {
  registryOf(app.server).usableTokens = usableTokens;
}

async function recheck(registry: Registry): Promise<void> {
  const ids = new Set<string>();
  for (const stream of registry.streams) if (stream.tokenId) ids.add(stream.tokenId);
  if (ids.size === 0 || !registry.usableTokens) {
    clearInterval(registry.timer);
    registry.timer = undefined;
    return;
  }
  const usable = await registry.usableTokens([...ids]);
  for (const stream of registry.streams) if (stream.tokenId && !usable.has(stream.tokenId)) stream.end();
}

/**
 * Tracks a response that stays open: `end` closes it. It is forgotten when the response closes. The caller the
 * auth hooks found for the request (src/http/auth.ts) says which API token, if any, the stream depends on.
 */
export function trackStream(request: FastifyRequest, response: ServerResponse, end: () => void): void {
  const { server, logger } = request.server;
  const registry = registryOf(server);
  const caller = callerOf(request);
  const stream: OpenStream = { end, tokenId: caller?.kind === 'token' ? caller.id : undefined };
  registry.streams.add(stream);
  response.once('close', () => registry.streams.delete(stream));
  if (!stream.tokenId || !registry.usableTokens || registry.timer) return;
  registry.timer = setInterval(() => {
    if (registry.checking) return;
    registry.checking = true;
    recheck(registry)
      .catch((error: unknown) => logger.error({ err: error }, 'checking the tokens of open streams failed'))
      .finally(() => (registry.checking = false));
  }, TOKEN_RECHECK_MS);
  registry.timer.unref();
}

/** Ends every open stream of an HTTP server: fastify's preClose, as open streams would keep `app.close()` waiting. */
export function endStreams(server: Server): void {
  const registry = registryOf(server);
  clearInterval(registry.timer);
  registry.timer = undefined;
  for (const stream of [...registry.streams]) stream.end();
}
