/** `moxxy channels http`: the HTTP channel (seed 001) served on its own port. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { startChannelServer } from '../../http/channel-server.ts';
import { createServices } from '../../services/container.ts';
import { VERSION } from '../../services/system.ts';
import { parsePort } from '../options.ts';

export function registerChannelsCommand(program: Command): void {
  const channels = program.command('channels').description('Serve a channel on its own');
  channels
    .command('http')
    .description('Serve the HTTP channel (/v1/health, /v1/turn, /v1/turn/stream, /v1/turn/audio) on channels.http.host:port, 127.0.0.1:3737 by default')
    .option('--host <host>', 'address to bind (default channels.http.host)')
    .option('--port <port>', 'port to listen on (default channels.http.port)', parsePort)
    .action(async (options: { host?: string; port?: number }) => {
      const config = await loadConfig();
      const services = await createServices(config);
      const channel = config.channels.http;
      const server = await startChannelServer(services, {
        host: options.host ?? channel?.host ?? '127.0.0.1',
        port: options.port ?? channel?.port ?? 3737,
      }).catch(async (error: unknown) => {
        await services.close();
        throw error;
      });
      const tools = channel?.allowedTools?.length ? channel.allowedTools.join(', ') : 'none';
      process.stdout.write(`Moxxy ${VERSION} HTTP channel (agent ${channel?.agent}, tools: ${tools}) listening on ${server.url}\n`);
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
