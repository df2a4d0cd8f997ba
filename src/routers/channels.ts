/** Channels router: an agent's channels (http, telegram) — list, configure, get, enable/disable, delete — and Telegram pairing. */
import { AgentRef } from '../domain/agents.ts';
import {
  Channel,
  ChannelConfigure,
  ChannelConfigured,
  ChannelDeleted,
  ChannelList,
  ChannelListInput,
  ChannelPatch,
  ChannelRef,
  ChatRef,
  ChatUnpaired,
  PairedChatList,
  PairingCode,
} from '../domain/channels.ts';
import { PaginationInput } from '../domain/common.ts';
import { hostToolsIn } from '../domain/tool-access.ts';
import { procedure, requireHostPower, router } from './trpc.ts';

const tags: ['channels'] = ['channels'];
const path = '/api/agents/{name}/channels' as const;
const one = `${path}/{channel}` as const;
const ChannelInput = ChannelRef.extend(AgentRef.shape);

export const channelsRouter = router({
  list: procedure
    .meta({
      openapi: {
        method: 'GET',
        path,
        tags,
        summary: "List an agent's channels",
        description: 'With each one\'s enabled state, status (running, stopped, error) and last_error. Literal secrets in configs are masked.',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'channels:read',
        rateLimit: 'read',
      },
    })
    .input(ChannelListInput.extend(AgentRef.shape))
    .output(ChannelList)
    .query(({ ctx, input: { name, ...page } }) => ctx.services.channels.list(name, page)),

  configure: procedure
    .meta({
      openapi: {
        method: 'POST',
        path,
        tags,
        summary: 'Configure a channel (create or replace)',
        description:
          '`{type, config, channel?, enabled?}`: the channel is named `channel`, else after its type. Creates it or replaces its config; ' +
          'answers 201 either way, with `created` telling which. `http`: callers of POST /v1/turn, /v1/turn/stream and /v1/turn/audio ' +
          'whose bearer token is `authToken` reach this agent with `allowedTools`. `telegram`: the bot is long-polled while the ' +
          'server runs; pair chats with POST .../pair. Secrets may be `${vault:KEY}` (this agent\'s vault, resolved at use); literal ' +
          'ones are masked in responses and redacted from events. A secret that cannot be resolved leaves the channel in status `error`.',
        successStatus: 201,
        errors: ['AGENT_NOT_FOUND'],
        scope: 'channels:write',
        rateLimit: 'write',
        hostPower: 'Naming a host tool (`host_shell`) in `config.allowedTools` is a host power: it needs the `admin` scope or the internal token.',
      },
    })
    .input(ChannelConfigure.extend(AgentRef.shape))
    .output(ChannelConfigured)
    .mutation(async ({ ctx, input: { name, ...channel } }) => {
      const hostTools = hostToolsIn(channel.config.allowedTools ?? []);
      if (hostTools.length) await requireHostPower(ctx, `Granting ${hostTools.join(', ')} to a channel`);
      return ctx.services.channels.configure(name, channel);
    }),

  get: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: one,
        tags,
        summary: 'Get a channel',
        errors: ['AGENT_NOT_FOUND', 'CHANNEL_NOT_FOUND'],
        scope: 'channels:read',
        rateLimit: 'read',
      },
    })
    .input(ChannelInput)
    .output(Channel)
    .query(({ ctx, input }) => ctx.services.channels.get(input.name, input.channel)),

  update: procedure
    .meta({
      openapi: {
        method: 'PATCH',
        path: one,
        tags,
        summary: 'Enable or disable a channel',
        description: 'Disabling stops a telegram channel\'s polling and makes an http channel refuse its token; enabling starts it again.',
        errors: ['AGENT_NOT_FOUND', 'CHANNEL_NOT_FOUND'],
        scope: 'channels:write',
        rateLimit: 'write',
      },
    })
    .input(ChannelPatch.extend(ChannelInput.shape))
    .output(Channel)
    .mutation(({ ctx, input }) => ctx.services.channels.setEnabled(input.name, input.channel, input.enabled)),

  delete: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: one,
        tags,
        summary: 'Delete a channel',
        description: 'Stops it and forgets its config, state and paired chats.',
        errors: ['AGENT_NOT_FOUND', 'CHANNEL_NOT_FOUND'],
        scope: 'channels:write',
        rateLimit: 'write',
      },
    })
    .input(ChannelInput)
    .output(ChannelDeleted)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.channels.delete(input.name, input.channel);
      return { name: input.channel, status: 'deleted' as const };
    }),

  pair: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${one}/pair`,
        tags,
        summary: 'Create a pairing code for a telegram channel',
        description:
          'A one-time code, valid for 10 minutes, that replaces any earlier one. The chat that sends `/pair CODE` to the bot is ' +
          'paired: only paired chats reach the agent; others are told to pair.',
        successStatus: 201,
        errors: ['AGENT_NOT_FOUND', 'CHANNEL_NOT_FOUND'],
        scope: 'channels:write',
        rateLimit: 'write',
      },
    })
    .input(ChannelInput)
    .output(PairingCode)
    .mutation(({ ctx, input }) => ctx.services.channels.pair(input.name, input.channel)),

  listChats: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${one}/chats`,
        tags,
        summary: "List a telegram channel's paired chats, first paired first",
        errors: ['AGENT_NOT_FOUND', 'CHANNEL_NOT_FOUND'],
        scope: 'channels:read',
        rateLimit: 'read',
      },
    })
    .input(PaginationInput.extend(ChannelInput.shape))
    .output(PairedChatList)
    .query(({ ctx, input: { name, channel, ...page } }) => ctx.services.channels.listChats(name, channel, page)),

  unpairChat: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${one}/chats/{chat_id}`,
        tags,
        summary: 'Unpair a chat',
        description: 'Its next messages are refused until it pairs again. PAIRED_CHAT_NOT_FOUND when the chat is not paired.',
        errors: ['AGENT_NOT_FOUND', 'CHANNEL_NOT_FOUND', 'PAIRED_CHAT_NOT_FOUND'],
        scope: 'channels:write',
        rateLimit: 'write',
      },
    })
    .input(ChatRef.extend(ChannelInput.shape))
    .output(ChatUnpaired)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.channels.unpairChat(input.name, input.channel, input.chat_id);
      return { chat_id: input.chat_id, status: 'unpaired' as const };
    }),
});
