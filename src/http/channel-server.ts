/** The standalone host of `moxxy channels http`: only seed 001's routes (server-wide and per-agent http channels), on channels.http.host:port. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.ts';
import { isLoopbackHost } from '../domain/hosts.ts';
import type { Services } from '../services/container.ts';
import { createPipeline } from './pipeline.ts';
import { registerRawRoutes } from './raw-routes.ts';
import { channelHttpRoutes } from './routes/channel-http.ts';
import { listen, type RunningServer, type ServerOptions } from './server.ts';

/**
 * The API's pipeline. `open` when the server-wide channel may serve turns without a token (a loopback bind, no token
 * configured): then, as on the open API, only loopback Host names are answered. Otherwise nothing but /v1/health is
 * served without a channel's bearer token.
 */
export function buildChannelServer(services: Services, options: ServerOptions & { open?: boolean } = {}): FastifyInstance {
  const { app } = createPipeline(services, { ...options, open: options.open ?? false });
  registerRawRoutes(app, channelHttpRoutes, services);
  return app;
}

/**
 * Refuses to start when the channel could serve nothing: seed 001 requires the tool allow-list, and off a loopback
 * bind turns are never served without a bearer token. An agent's enabled `http` channel (configured over the API)
 * is enough.
 */
export async function startChannelServer(services: Services, at: { host: string; port: number }, options: ServerOptions = {}): Promise<RunningServer> {
  const channel = services.config.channels.http;
  const hasToken = Boolean(channel?.authToken && (await services.resolveSecret(channel.authToken)));
  const loopback = isLoopbackHost(at.host);
  if (!(await services.channels.hasHttpChannels())) {
    if (!channel?.allowedTools) {
      throw new AppError(
        'CHANNEL_NOT_CONFIGURED',
        'channels.http.allowedTools is required: list the tools this channel may use ([] disables all tools), or configure an http channel for an agent',
      );
    }
    if (!hasToken && !loopback) {
      throw new AppError('CHANNEL_NOT_CONFIGURED', `channels.http needs a bearer token to listen on ${at.host}: set MOXXY_HTTP_TOKEN or channels.http.authToken, or bind a loopback address`);
    }
  }
  return listen(buildChannelServer(services, { ...options, open: loopback && !hasToken }), services, at);
}
