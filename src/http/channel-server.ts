/** The standalone host of `moxxy channels http`: only seed 001's routes (server-wide and per-agent http channels), on channels.http.host:port. */
import Fastify, { type FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.ts';
import type { Services } from '../services/container.ts';
import { installErrorHandling, installJsonParser } from './errors.ts';
import { installLogger } from './logger.ts';
import { registerRawRoutes } from './raw-routes.ts';
import { channelHttpRoutes } from './routes/channel-http.ts';
import { closeSseStreams } from './sse.ts';
import { listen, type RunningServer } from './server.ts';

const JSON_BODY_LIMIT = 64 * 1024;

export function buildChannelServer(services: Services): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: JSON_BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true },
  });
  installLogger(app, services.config.logLevel);
  installErrorHandling(app, JSON_BODY_LIMIT);
  installJsonParser(app);
  app.removeContentTypeParser('text/plain');
  registerRawRoutes(app, channelHttpRoutes, services);
  // An open turn stream would otherwise keep close() waiting until its run ends.
  app.addHook('preClose', async () => closeSseStreams(app.server));
  return app;
}

/**
 * Refuses to start when the channel could serve nothing: seed 001 requires the tool allow-list, and turns are
 * never served without a bearer token. An agent's enabled `http` channel (configured over the API) is enough.
 */
export async function startChannelServer(services: Services, at: { host: string; port: number }): Promise<RunningServer> {
  if (!(await services.channels.hasHttpChannels())) {
    const channel = services.config.channels.http;
    if (!channel?.allowedTools) {
      throw new AppError(
        'CHANNEL_NOT_CONFIGURED',
        'channels.http.allowedTools is required: list the tools this channel may use ([] disables all tools), or configure an http channel for an agent',
      );
    }
    if (!channel.authToken || !(await services.resolveSecret(channel.authToken))) {
      throw new AppError('CHANNEL_NOT_CONFIGURED', 'channels.http needs a bearer token: set MOXXY_HTTP_TOKEN or channels.http.authToken');
    }
  }
  return listen(buildChannelServer(services), services, at);
}
