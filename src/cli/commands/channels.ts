/** `moxxy channels`: the HTTP channel (seed 001) served on its own port, and an agent's channels listed and paired (in-process on the database). */
import type { Command } from 'commander';
import { DEFAULT_AGENT_NAME } from '../../domain/agents.ts';
import { loadConfig } from '../../config/load.ts';
import { HttpChannelSettings } from '../../config/schema.ts';
import { startChannelServer } from '../../http/channel-server.ts';
import { createServices } from '../../services/container.ts';
import { withServices } from '../services.ts';
import { VERSION } from '../../services/system.ts';
import { parsePort } from '../options.ts';
import { exitOnSignals } from '../shutdown.ts';

export function registerChannelsCommand(program: Command): void {
  const channels = program.command('channels').description("Serve the HTTP channel on its own; list an agent's channels; pair Telegram chats");
  const agentOption = ['--agent <name>', 'the agent whose channels these are', DEFAULT_AGENT_NAME] as const;

  channels
    .command('list')
    .description("Print an agent's channels: name, type, enabled, status, last error")
    .option(...agentOption)
    .action(async (options: { agent: string }) => {
      const { channels: list } = await withServices((services) => services.channels.list(options.agent, { limit: 100, offset: 0 }));
      for (const channel of list) {
        const state = channel.enabled ? channel.status : 'disabled';
        process.stdout.write(`${channel.name}\t${channel.type}\t${state}${channel.last_error ? `\t${channel.last_error}` : ''}\n`);
      }
    });

  channels
    .command('pair')
    .description('Print a one-time pairing code for a telegram channel; send /pair CODE to the bot from the chat to pair')
    .option(...agentOption)
    .argument('[channel]', 'the telegram channel', 'telegram')
    .action(async (channel: string, options: { agent: string }) => {
      const pairing = await withServices((services) => services.channels.pair(options.agent, channel));
      process.stdout.write(`${pairing.code}\n`);
      process.stderr.write(`${pairing.instructions}\n`);
    });

  channels
    .command('http')
    .description('Serve the HTTP channel (/v1/health, /v1/turn, /v1/turn/stream, /v1/turn/audio) on channels.http.host:port, 127.0.0.1:3737 by default')
    .option('--host <host>', 'address to bind (default channels.http.host)')
    .option('--port <port>', 'port to listen on (default channels.http.port)', parsePort)
    .action(async (options: { host?: string; port?: number }) => {
      const config = await loadConfig();
      const services = await createServices(config);
      const channel = config.channels.http;
      const bind = channel ?? HttpChannelSettings.parse({});
      const server = await startChannelServer(services, { host: options.host ?? bind.host, port: options.port ?? bind.port }).catch(async (error: unknown) => {
        await services.close();
        throw error;
      });
      const tools = channel?.allowedTools?.length ? channel.allowedTools.join(', ') : 'none';
      process.stdout.write(`Moxxy ${VERSION} HTTP channel (agent ${channel?.agent}, tools: ${tools}) listening on ${server.url}\n`);
      exitOnSignals(server);
    });
}
