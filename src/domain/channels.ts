/** Channels per agent: `http` (seed 001's /v1 routes, bound to the agent by its own token) and `telegram` (a Bot API long-poller). */
import { z } from 'zod';
import { ToolPolicy } from './approvals.ts';
import { Pagination, PaginationInput, Slug } from './common.ts';
import { vaultReferences } from './vault.ts';

export const CHANNEL_TYPES = ['http', 'telegram'] as const;
export const ChannelType = z.enum(CHANNEL_TYPES).meta({ id: 'ChannelType' });
export type ChannelType = z.infer<typeof ChannelType>;

/** What a literal secret in a channel's config looks like in every response (a `${vault:KEY}` reference is shown as written). */
export const MASKED_SECRET = '********';

const AllowedTools = z
  .array(z.string().min(1).max(200))
  .max(200)
  .describe('The tools this channel may use, whatever the agent allows (`*`, `memory.*` patterns); [] disables every tool.');

const usesVault = (value: string) => vaultReferences(value).length > 0;

/** A secret given literally (matching `literal`) or as a `${vault:KEY}` reference; one pattern, so openapi.json states the rule. */
const secretOrVaultReference = (literal: string) => new RegExp(`^(?:${literal}|[\\s\\S]*\\$\\{vault:[^}]+\\}[\\s\\S]*)$`);

export const HttpChannelConfig = z
  .strictObject({
    authToken: z
      .string()
      .max(512)
      .regex(secretOrVaultReference('[\\s\\S]{16,}'), 'must be at least 16 characters (e.g. openssl rand -hex 32), or ${vault:KEY}')
      .describe("The bearer token callers of /v1/turn send; ${vault:KEY} (resolved with this agent's secrets at each request) is preferred. Masked in responses."),
    allowedTools: AllowedTools,
    toolPolicy: ToolPolicy.optional().describe(
      "Narrows the agent's tool_policy for this channel (`deny` more tools); nobody answers here, so `ask` means deny either way (seed 001).",
    ),
  })
  .meta({ id: 'HttpChannelConfig', description: 'type `http`: a bearer token of its own and a tool allow-list, both required (seed 001).' });
export type HttpChannelConfig = z.infer<typeof HttpChannelConfig>;

const TELEGRAM_BOT_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/;

export const TelegramChannelConfig = z
  .strictObject({
    botToken: z
      .string()
      .max(512)
      .regex(secretOrVaultReference(TELEGRAM_BOT_TOKEN.source.slice(1, -1)), 'must be a bot token from @BotFather (123456:ABC...) or ${vault:KEY}')
      .describe('The bot token from @BotFather; ${vault:KEY} is preferred. Masked in responses.'),
    allowedTools: AllowedTools.optional().describe("The tools paired chats may use; the agent's own allow-list when omitted."),
    toolPolicy: ToolPolicy.optional().describe(
      "Narrows the agent's tool_policy for this channel (the stricter mode wins): `ask` sends the call to the chat with Approve / Deny buttons.",
    ),
  })
  .meta({ id: 'TelegramChannelConfig', description: 'type `telegram`: a bot, long-polled; only chats paired with /pair CODE reach the agent.' });
export type TelegramChannelConfig = z.infer<typeof TelegramChannelConfig>;

export type ChannelConfig = HttpChannelConfig | TelegramChannelConfig;

type SealedApart<C, Secret extends keyof C> = Omit<C, Secret> & Partial<Pick<C, Secret>>;
/** A config as channels.config stores it: its secret sealed apart (src/services/channels/service.ts), except in rows from before encryption. */
export type StoredChannelConfig = SealedApart<HttpChannelConfig, 'authToken'> | SealedApart<TelegramChannelConfig, 'botToken'>;

/** The config schema of each type; the request's `config` must match the one its `type` names. */
export const CHANNEL_CONFIG_SCHEMAS = { http: HttpChannelConfig, telegram: TelegramChannelConfig } as const;

export const ChannelStatus = z
  .enum(['running', 'stopped', 'error'])
  .describe('running: serving (http: its token is accepted; telegram: polling); stopped: disabled, or not run by this process; error: see last_error.');

export const Channel = z
  .object({
    name: z.string(),
    agent: z.string(),
    type: ChannelType,
    enabled: z.boolean(),
    status: ChannelStatus,
    last_error: z.string().nullable().describe('Why the channel is in `error` (or its last transient failure), secrets redacted.'),
    config: z
      .union([
        z.object({ authToken: z.string(), allowedTools: z.array(z.string()), toolPolicy: ToolPolicy.optional() }).meta({ id: 'HttpChannelConfigView' }),
        z.object({ botToken: z.string(), allowedTools: z.array(z.string()).optional(), toolPolicy: ToolPolicy.optional() }).meta({ id: 'TelegramChannelConfigView' }),
      ])
      .describe(`As configured, with literal secrets replaced by ${MASKED_SECRET}.`),
    paired_chats: z.number().int().min(0).describe('Telegram: chats allowed to reach the agent; 0 for http.'),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Channel' });
export type Channel = z.infer<typeof Channel>;

export const ChannelConfigured = Channel.extend({
  created: z.boolean().describe('true when the channel was new, false when an existing one was replaced.'),
}).meta({ id: 'ChannelConfigured' });
export type ChannelConfigured = z.infer<typeof ChannelConfigured>;

export const ChannelList = z.object({ channels: z.array(Channel), pagination: Pagination }).meta({ id: 'ChannelList' });
export type ChannelList = z.infer<typeof ChannelList>;

export const ChannelConfigure = z.strictObject({
  channel: Slug.optional().describe("The channel's name, unique per agent; defaults to its type."),
  type: ChannelType,
  config: z
    .union([HttpChannelConfig, TelegramChannelConfig], {
      error: 'must be the config of the channel type: http {authToken, allowedTools} or telegram {botToken, allowedTools?}',
    })
    .describe('HttpChannelConfig for type http, TelegramChannelConfig for type telegram.'),
  enabled: z.boolean().default(true),
});
export type ChannelConfigure = z.infer<typeof ChannelConfigure>;

/** Where `config` does not fit the config of `type` (the request schema accepts either type's config). */
export function channelConfigIssues(type: ChannelType, config: unknown): Array<{ path: string; message: string; code: string }> {
  const result = CHANNEL_CONFIG_SCHEMAS[type].safeParse(config);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({ path: ['config', ...issue.path.map(String)].join('.'), message: issue.message, code: issue.code }));
}

export const ChannelRef = z.object({ channel: Slug.describe('Channel name.') });
export const ChannelListInput = PaginationInput;
export const ChannelPatch = z.strictObject({
  enabled: z.boolean().describe('false stops the channel (telegram stops polling, http refuses its token); true starts it again.'),
});
export const ChannelDeleted = z.object({ name: z.string(), status: z.literal('deleted') }).meta({ id: 'ChannelDeleted' });

export const PAIRING_CODE_TTL_MS = 10 * 60 * 1000;

export const PairingCode = z
  .object({
    code: z.string().describe('One-time code; the chat sends `/pair CODE` to the bot. A new code replaces the previous one.'),
    expires_at: z.date(),
    instructions: z.string(),
  })
  .meta({ id: 'PairingCode' });
export type PairingCode = z.infer<typeof PairingCode>;

export const PairedChat = z
  .object({
    chat_id: z.string(),
    username: z.string().nullable().describe('The Telegram @username or title of the chat, when it has one.'),
    paired_at: z.date(),
  })
  .meta({ id: 'PairedChat' });
export type PairedChat = z.infer<typeof PairedChat>;

export const PairedChatList = z.object({ chats: z.array(PairedChat), pagination: Pagination }).meta({ id: 'PairedChatList' });
export type PairedChatList = z.infer<typeof PairedChatList>;
export const ChatRef = z.object({ chat_id: z.string().regex(/^-?\d{1,20}$/, 'must be a Telegram chat id').describe('Telegram chat id.') });
export const ChatUnpaired = z.object({ chat_id: z.string(), status: z.literal('unpaired') }).meta({ id: 'ChatUnpaired' });

/** What a telegram channel keeps between restarts, in channels.state. */
export interface TelegramState {
  /** The next getUpdates offset: every update below it has been taken. */
  offset?: number;
  pairing?: { code: string; expires_at: number };
}

/** A channel's literal secrets: masked in responses and registered with the redactor; `${vault:...}` references are neither. */
export function channelSecrets(config: ChannelConfig): string[] {
  const secret = 'authToken' in config ? config.authToken : config.botToken;
  return usesVault(secret) ? [] : [secret];
}

export function maskChannelConfig<C extends ChannelConfig>(config: C): C {
  if ('authToken' in config) return usesVault(config.authToken) ? config : { ...config, authToken: MASKED_SECRET };
  return usesVault(config.botToken) ? config : { ...config, botToken: MASKED_SECRET };
}

/** `/pair CODE` or `/pair@my_bot CODE`: the code, upper-cased ('' without one), or undefined for other messages. */
export function parsePairCommand(text: string): string | undefined {
  const match = /^\/pair(?:@\w+)?(?:\s+(\S+))?\s*$/i.exec(text.trim());
  return match ? (match[1] ?? '').toUpperCase() : undefined;
}
