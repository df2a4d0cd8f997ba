/**
 * Channels per agent: stored in `channels` (config as written, `${vault:...}` resolved at the point of use), their
 * status, the Telegram pollers of this process, pairing, and which agent an HTTP channel token reaches.
 * A config's secret (authToken, botToken) is encrypted with the vault's master key and rotated with it; literal
 * secrets are masked in every answer and registered with the redactor.
 *
 * Among the processes sharing the database, a telegram channel is polled by the one holding its lease (Telegram
 * allows one getUpdates consumer per bot); the others try again every POLLER_RENEW_MS and whenever the channel
 * changes, so when the holder stops another takes over at once, and when it dies, once its lease has expired.
 */
import { randomInt } from 'node:crypto';
import { sameSecret } from '../auth/same-secret.ts';
import { and, asc, count, eq, gt, isNotNull, isNull, sql } from 'drizzle-orm';
import type { ToolPolicy } from '../../domain/approvals.ts';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import {
  channelConfigIssues,
  channelSecrets,
  maskChannelConfig,
  PAIRING_CODE_TTL_MS,
  type Channel,
  type ChannelConfig,
  type ChannelConfigure,
  type ChannelConfigured,
  type ChannelList,
  type ChannelType,
  type HttpChannelConfig,
  type PairedChatList,
  type PairingCode,
  type TelegramChannelConfig,
  type TelegramState,
} from '../../domain/channels.ts';
import { AppError, validationError } from '../../domain/errors.ts';
import type { Db } from '../../db/client.ts';
import { channelChats, channels } from '../../db/schema.ts';
import type { AgentDeletion, AgentService } from '../agents.ts';
import type { ChangeFeed } from '../changes/feed.ts';
import type { EventBus } from '../events/bus.ts';
import type { Leases } from '../leases.ts';
import type { Redactor } from '../redaction.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Transcriber } from '../transcription.ts';
import type { SecretAddress } from '../vault/crypto.ts';
import type { VaultService } from '../vault/service.ts';
import { sessionOfChat, TelegramBot, type TelegramSettings, type TelegramHost } from './telegram.ts';

type ChannelRow = typeof channels.$inferSelect;
type ChannelStatus = Channel['status'];

export interface ChannelServiceDeps {
  db: Db;
  agents: AgentService;
  runtime: Runtime;
  events: EventBus;
  redactor: Redactor;
  /** Encrypts the channels' secrets with the master key. */
  vault: VaultService;
  /** Resolves `${vault:KEY}` with the secrets of `agent`. */
  resolveSecret(value: string, agent: string): Promise<string>;
  /** The configured transcriber, or undefined (voice notes then get a polite refusal). */
  transcriber(): Transcriber | undefined;
  telegram: TelegramSettings;
  /** Tells the other processes of a channel configured, enabled, disabled or deleted, and brings theirs. */
  changes: ChangeFeed;
  /** Who polls which bot. */
  leases: Leases;
  /** Decides a tool call a run waits on (a Telegram chat's Approve / Deny buttons). */
  decideApproval: TelegramHost['decide'];
  /** The calls waiting for approval in an agent's sessions whose id starts with a prefix. */
  pendingApprovals(agent: string, sessionPrefix: string): ReturnType<TelegramHost['pendingApprovals']>;
}

/** Which agent a request on the HTTP channel reaches, and with which tools. */
export interface HttpBinding {
  agent: string;
  channel: string;
  allowedTools: string[];
  /** The channel's tool policy, narrowing the agent's. */
  toolPolicy?: ToolPolicy | undefined;
}

const PAIRING_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const PAIRING_CODE_LENGTH = 8;


function newPairingCode(): string {
  return Array.from({ length: PAIRING_CODE_LENGTH }, () => PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)]).join('');
}

/** A channel's key here and in the change feed; agent and channel names are slugs, which never contain `/`. */
const keyOf = (agent: string, name: string) => `${agent}/${name}`;
const channelOf = (key: string) => key.split('/') as [agent: string, name: string];

/** A poller's lease lasts this long unrenewed: how long a dead process's bots go unpolled at most. */
const POLLER_LEASE_MS = 15_000;
/** How often a process renews its pollers' leases and tries to take those of channels that nobody polls. */
const POLLER_RENEW_MS = 5_000;
const pollerLease = (key: string) => `telegram:${key}`;

/** The config field that holds each type's secret. */
const SECRET_FIELD = { http: 'authToken', telegram: 'botToken' } as const satisfies Record<ChannelType, string>;

// Agent and channel names are slugs, which never contain ':', so no agent's secret has this address.
const secretAddress = (row: { agent: string; name: string; type: ChannelType }): SecretAddress => ({
  agent: `channel:${row.agent}/${row.name}`,
  key: SECRET_FIELD[row.type],
});

function channelNotFound(agent: string, name: string): AppError {
  return new AppError('CHANNEL_NOT_FOUND', `Channel '${name}' not found for agent '${agent}'`, { agent, name });
}

function notTelegram(row: ChannelRow): AppError {
  return new AppError('VALIDATION_ERROR', `Channel '${row.name}' is an ${row.type} channel; only telegram channels pair chats`, {
    issues: [{ path: 'channel', message: 'must be a telegram channel', code: 'invalid_value' }],
  });
}

const asStatus = (value: string): ChannelStatus => (value === 'running' || value === 'error' ? value : 'stopped');

export class ChannelService {
  private readonly db: Db;
  /** This process's pollers, each with the sealed secret of the config it was started with (new at every configure). */
  private readonly bots = new Map<string, { bot: TelegramBot; sealed: string | null }>();
  /** Whether this process runs the channels (the server does; one-off CLI commands do not). */
  private running = false;
  private renewal: NodeJS.Timeout | undefined;
  /** The pending sync of each channel: they run one at a time per channel. */
  private readonly syncing = new Map<string, Promise<void>>();

  constructor(private readonly deps: ChannelServiceDeps) {
    this.db = deps.db;
    // Changed by another process: redact its literal secrets as configured now (before the next event, so awaited);
    // its poller follows without holding up the feed.
    deps.changes.on('channel', async (key) => {
      const [agent, name] = channelOf(key);
      const row = await this.find(agent, name);
      if (row) this.remember(agent, name, this.configOf(row));
      else this.forget(agent, name);
      void this.sync(agent, name).catch(() => undefined);
    });
    deps.vault.onRotate(async (tx, reseal) => {
      const rows = await tx.select().from(channels).where(isNotNull(channels.secretCiphertext));
      for (const row of rows) {
        const sealed = reseal(secretAddress(row), row.secretCiphertext!);
        await tx
          .update(channels)
          .set({ secretCiphertext: sealed.ciphertext, secretKeyId: sealed.keyId })
          .where(and(eq(channels.agent, row.agent), eq(channels.name, row.name)));
      }
      return rows.length;
    });
  }

  /**
   * Encrypts the secrets of channels stored before secrets were (once: such a row has no ciphertext), and registers
   * every literal secret with the redactor, so it never shows in events even before the channel is used. Like the
   * vault, fails start-up when the master key is not the one the secrets were encrypted with.
   */
  async init(): Promise<void> {
    for (const row of await this.db.select().from(channels)) {
      const config = this.configOf(row);
      if (row.secretCiphertext === null) {
        await this.db
          .update(channels)
          .set(this.sealed(row, config))
          .where(and(eq(channels.agent, row.agent), eq(channels.name, row.name), isNull(channels.secretCiphertext)));
      }
      this.remember(row.agent, row.name, config);
    }
  }

  /** Polls every enabled telegram channel whose lease this process gets, and keeps at it (server start-up). */
  async start(): Promise<void> {
    this.running = true;
    await this.reconcile();
    this.renewal = setInterval(() => void this.reconcile().catch(() => undefined), POLLER_RENEW_MS);
    this.renewal.unref();
  }

  /**
   * Stops every poller; nothing of theirs is left running afterwards. Their leases are released and the change
   * announced, so another process takes the bots over now rather than when the leases would have expired.
   */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.renewal);
    await Promise.all(this.syncing.values());
    const keys = [...this.bots.keys()];
    await Promise.all(keys.map((key) => this.stopBot(...channelOf(key))));
    for (const key of keys) {
      await this.deps.leases.release(pollerLease(key));
      await this.deps.changes.publish('channel', key);
    }
  }

  async list(agentName: string, page: PaginationInput): Promise<ChannelList> {
    const agent = (await this.deps.agents.get(agentName)).name;
    const [rows, [totals], paired] = await Promise.all([
      this.db.select().from(channels).where(eq(channels.agent, agent)).orderBy(asc(channels.name)).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(channels).where(eq(channels.agent, agent)),
      this.db.select({ channel: channelChats.channel, total: count() }).from(channelChats).where(eq(channelChats.agent, agent)).groupBy(channelChats.channel),
    ]);
    const pairedBy = new Map(paired.map((entry) => [entry.channel, entry.total]));
    return { channels: rows.map((row) => this.toChannel(row, pairedBy.get(row.name) ?? 0)), pagination: paginate(totals?.total ?? 0, page) };
  }

  async get(agentName: string, name: string): Promise<Channel> {
    const row = await this.row(agentName, name);
    return this.toChannel(row, await this.pairedCount(row));
  }

  /** Creates the channel, or replaces its config; a running telegram channel is restarted with the new one. */
  async configure(agentName: string, input: ChannelConfigure): Promise<ChannelConfigured> {
    const issues = channelConfigIssues(input.type, input.config);
    if (issues.length > 0) throw validationError(issues, `for type ${input.type}`);
    const agent = (await this.deps.agents.get(agentName)).name;
    const name = input.channel ?? input.type;
    const existing = await this.find(agent, name);
    await this.stopBot(agent, name);
    const { config } = input;
    const problem = input.enabled ? await this.secretProblem(agent, input.type, config) : undefined;
    const status: ChannelStatus = problem ? 'error' : input.enabled && (input.type === 'http' || this.running) ? 'running' : 'stopped';
    // A new bot starts from its own first update: another bot's offset would skip or replay messages.
    const sameBot = existing?.type === 'telegram' && input.type === 'telegram' && secretOf(this.configOf(existing)) === secretOf(config);
    const now = new Date();
    const values = {
      type: input.type,
      ...this.sealed({ agent, name, type: input.type }, config),
      enabled: input.enabled,
      status,
      lastError: problem ?? null,
      state: sameBot ? existing.state : {},
      updatedAt: now,
    };
    const [[row]] = await this.db.batch([
      this.db
        .insert(channels)
        .values({ agent, name, ...values, createdAt: now })
        .onConflictDoUpdate({ target: [channels.agent, channels.name], set: values })
        .returning(),
      this.deps.changes.record('channel', keyOf(agent, name)),
    ]);
    this.remember(agent, name, config);
    await this.sync(agent, name);
    return { ...this.toChannel(row!, await this.pairedCount(row!)), created: !existing };
  }

  async setEnabled(agentName: string, name: string, enabled: boolean): Promise<Channel> {
    const current = await this.row(agentName, name);
    await this.stopBot(current.agent, name);
    const problem = enabled ? await this.secretProblem(current.agent, current.type, this.configOf(current)) : undefined;
    const status: ChannelStatus = problem ? 'error' : enabled && (current.type === 'http' || this.running) ? 'running' : 'stopped';
    const [[row]] = await this.db.batch([
      this.db
        .update(channels)
        .set({ enabled, status, lastError: problem ?? null, updatedAt: new Date() })
        .where(and(eq(channels.agent, current.agent), eq(channels.name, name)))
        .returning(),
      this.deps.changes.record('channel', keyOf(current.agent, name)),
    ]);
    if (!row) throw channelNotFound(current.agent, name);
    await this.sync(row.agent, name);
    return this.toChannel(row, await this.pairedCount(row));
  }

  async delete(agentName: string, name: string): Promise<void> {
    const row = await this.row(agentName, name);
    await this.stopBot(row.agent, name);
    await this.db.batch([
      this.db.delete(channels).where(and(eq(channels.agent, row.agent), eq(channels.name, name))),
      this.db.delete(channelChats).where(and(eq(channelChats.agent, row.agent), eq(channelChats.channel, name))),
      this.deps.changes.record('channel', keyOf(row.agent, name)),
    ]);
    this.forget(row.agent, name);
    await this.sync(row.agent, name);
  }

  /** Every channel of a deleted agent goes with it. */
  /** The agent's channels and paired chats go with it (src/services/agents.ts, delete); their pollers stop afterwards. */
  async deletionOf(agent: string): Promise<AgentDeletion> {
    const rows = await this.db.select({ name: channels.name }).from(channels).where(eq(channels.agent, agent));
    return {
      statements: [
        this.db.delete(channels).where(eq(channels.agent, agent)),
        this.db.delete(channelChats).where(eq(channelChats.agent, agent)),
        ...rows.map((row) => this.deps.changes.record('channel', keyOf(agent, row.name))),
      ],
      release: async () => {
        for (const row of rows) {
          await this.stopBot(agent, row.name);
          this.forget(agent, row.name);
          await this.sync(agent, row.name);
        }
      },
    };
  }

  /** A new one-time pairing code for a telegram channel; it replaces any earlier one. */
  async pair(agentName: string, name: string): Promise<PairingCode> {
    const row = await this.row(agentName, name);
    if (row.type !== 'telegram') throw notTelegram(row);
    const pairing: NonNullable<TelegramState['pairing']> = { code: newPairingCode(), expires_at: Date.now() + PAIRING_CODE_TTL_MS };
    await this.db
      .update(channels)
      .set({ state: sql`json_set(${channels.state}, '$.pairing', json(${JSON.stringify(pairing)}))` })
      .where(and(eq(channels.agent, row.agent), eq(channels.name, name)));
    return {
      code: pairing.code,
      expires_at: new Date(pairing.expires_at),
      instructions: `Send "/pair ${pairing.code}" to the bot from the chat to pair, within ${PAIRING_CODE_TTL_MS / 60_000} minutes. The code works once.`,
    };
  }

  async listChats(agentName: string, name: string, page: PaginationInput): Promise<PairedChatList> {
    const row = await this.row(agentName, name);
    if (row.type !== 'telegram') throw notTelegram(row);
    const where = and(eq(channelChats.agent, row.agent), eq(channelChats.channel, name));
    const [rows, [totals]] = await Promise.all([
      this.db.select().from(channelChats).where(where).orderBy(asc(channelChats.pairedAt), asc(channelChats.chatId)).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(channelChats).where(where),
    ]);
    return {
      chats: rows.map((chat) => ({ chat_id: chat.chatId, username: chat.username, paired_at: chat.pairedAt })),
      pagination: paginate(totals?.total ?? 0, page),
    };
  }

  async unpairChat(agentName: string, name: string, chatId: string): Promise<void> {
    const row = await this.row(agentName, name);
    if (row.type !== 'telegram') throw notTelegram(row);
    const removed = await this.db
      .delete(channelChats)
      .where(and(eq(channelChats.agent, row.agent), eq(channelChats.channel, name), eq(channelChats.chatId, chatId)))
      .returning({ chatId: channelChats.chatId });
    if (removed.length === 0) {
      throw new AppError('PAIRED_CHAT_NOT_FOUND', `Chat ${chatId} is not paired with channel '${name}' of agent '${row.agent}'`, {
        agent: row.agent,
        name,
        chat_id: chatId,
      });
    }
  }

  /**
   * The http channel whose token `given` is, with whether it is enabled (a disabled one is refused as such, not as a
   * wrong token; an enabled one wins over a disabled one with the same token). Every channel's token is compared (in
   * constant time), so the time taken does not tell which matched; a token whose `${vault:KEY}` cannot be resolved
   * matches nothing.
   */
  async matchHttpToken(given: string): Promise<(HttpBinding & { enabled: boolean }) | undefined> {
    let found: (HttpBinding & { enabled: boolean }) | undefined;
    for (const row of await this.httpRows()) {
      const config = this.configOf(row) as HttpChannelConfig;
      const expected = await this.deps.resolveSecret(config.authToken, row.agent).catch(() => '');
      if (expected && sameSecret(given, expected) && !found?.enabled) {
        found = { agent: row.agent, channel: row.name, allowedTools: config.allowedTools, toolPolicy: config.toolPolicy, enabled: row.enabled };
      }
    }
    return found;
  }

  async hasHttpChannels(): Promise<boolean> {
    return (await this.httpRows()).some((row) => row.enabled);
  }

  private httpRows(): Promise<ChannelRow[]> {
    return this.db.select().from(channels).where(eq(channels.type, 'http'));
  }

  /** Renews this process's leases (stopping the pollers whose lease it lost) and takes those of unpolled channels. */
  private async reconcile(): Promise<void> {
    const rows = await this.db
      .select({ agent: channels.agent, name: channels.name })
      .from(channels)
      .where(and(eq(channels.type, 'telegram'), eq(channels.enabled, true)));
    const keys = new Set([...rows.map((row) => keyOf(row.agent, row.name)), ...this.bots.keys()]);
    for (const key of keys) await this.sync(...channelOf(key));
  }

  /**
   * Brings this process's poller of a channel in line with the stored channel, one call at a time per channel: an
   * enabled telegram channel is polled here, with the config stored now, while this process holds its lease (taken
   * when free, renewed when its own); nothing else is.
   */
  private sync(agent: string, name: string): Promise<void> {
    const key = keyOf(agent, name);
    const done = (this.syncing.get(key) ?? Promise.resolve()).then(() => this.syncNow(agent, name));
    const settled = done.catch(() => undefined);
    this.syncing.set(key, settled);
    void settled.then(() => {
      if (this.syncing.get(key) === settled) this.syncing.delete(key);
    });
    return done;
  }

  private async syncNow(agent: string, name: string): Promise<void> {
    const key = keyOf(agent, name);
    const row = await this.find(agent, name);
    if (!this.running || !row || row.type !== 'telegram' || !row.enabled) {
      await this.stopBot(agent, name);
      return this.deps.leases.release(pollerLease(key));
    }
    // Configured again since its poller started: that poller has the old config.
    if (this.bots.has(key) && this.bots.get(key)!.sealed !== row.secretCiphertext) await this.stopBot(agent, name);
    // Another process polls it: this one must not (and stops, should it have lost the lease while stalled).
    if (!(await this.deps.leases.acquire(pollerLease(key), POLLER_LEASE_MS))) return this.stopBot(agent, name);
    this.startBot(row);
  }

  private startBot(row: ChannelRow): void {
    const key = keyOf(row.agent, row.name);
    if (!this.running || this.bots.has(key)) return;
    const config = this.configOf(row) as TelegramChannelConfig;
    const where = and(eq(channels.agent, row.agent), eq(channels.name, row.name));
    // The config this poller was started with, still enabled: once another process changed it, this poller saves
    // nothing more (a new bot's state must not get this one's offset) and stops before handling another update.
    const unchanged = and(
      where,
      eq(channels.enabled, true),
      row.secretCiphertext === null ? isNull(channels.secretCiphertext) : eq(channels.secretCiphertext, row.secretCiphertext),
    );
    const bot = new TelegramBot({
      agent: row.agent,
      channel: row.name,
      allowedTools: config.allowedTools,
      toolPolicy: config.toolPolicy,
      decide: this.deps.decideApproval,
      pendingApprovals: () => this.deps.pendingApprovals(row.agent, sessionOfChat(row.name, '')),
      runEvents: (runId, signal) => this.deps.events.subscribe({ run_id: runId }, { afterSeq: 0, signal }),
      settings: this.deps.telegram,
      runtime: this.deps.runtime,
      resolveToken: () => this.deps.resolveSecret(config.botToken, row.agent),
      transcriber: () => this.deps.transcriber(),
      emit: async (event) => void (await this.deps.events.emit(event)),
      loadOffset: async () => {
        const [current] = await this.db.select({ state: channels.state }).from(channels).where(where);
        const offset = current?.state.offset;
        return typeof offset === 'number' ? offset : undefined;
      },
      saveOffset: async (offset) => {
        const saved = await this.db
          .update(channels)
          .set({ state: sql`json_set(${channels.state}, '$.offset', ${offset})` })
          .where(unchanged)
          .returning({ name: channels.name });
        return saved.length > 0;
      },
      isPaired: async (chatId) => {
        const [chat] = await this.db
          .select({ chatId: channelChats.chatId })
          .from(channelChats)
          .where(and(eq(channelChats.agent, row.agent), eq(channelChats.channel, row.name), eq(channelChats.chatId, chatId)));
        return chat !== undefined;
      },
      pairChat: async (chatId, code, username) => {
        // One statement consumes the code, so two chats racing with it cannot both pair.
        const consumed = await this.db
          .update(channels)
          .set({ state: sql`json_remove(${channels.state}, '$.pairing')` })
          .where(
            and(
              where,
              sql`json_extract(${channels.state}, '$.pairing.code') = ${code}`,
              gt(sql`json_extract(${channels.state}, '$.pairing.expires_at')`, Date.now()),
            ),
          )
          .returning({ name: channels.name });
        if (consumed.length === 0) return false;
        await this.db
          .insert(channelChats)
          .values({ agent: row.agent, channel: row.name, chatId, username, pairedAt: new Date() })
          .onConflictDoNothing();
        return true;
      },
      setStatus: async (status, lastError) => {
        const error = lastError === null ? null : this.deps.redactor.redact(lastError).value;
        await this.db.update(channels).set({ status, lastError: error }).where(where);
      },
      log: (message, error) => {
        const reason = error instanceof Error ? error.message : String(error ?? '');
        void this.db
          .update(channels)
          .set({ lastError: this.deps.redactor.redact(`${message}: ${reason}`).value })
          .where(where)
          .catch(() => undefined);
      },
    });
    this.bots.set(key, { bot, sealed: row.secretCiphertext });
    bot.start();
  }

  private async stopBot(agent: string, name: string): Promise<void> {
    const key = keyOf(agent, name);
    const running = this.bots.get(key);
    this.bots.delete(key);
    await running?.bot.stop();
  }

  /** Why the channel's secret cannot be used now (e.g. its `${vault:KEY}` names no secret), or undefined. */
  private async secretProblem(agent: string, type: ChannelType, config: ChannelConfig): Promise<string | undefined> {
    try {
      await this.deps.resolveSecret(secretOf(config), agent);
      return undefined;
    } catch (error) {
      const field = type === 'http' ? 'authToken' : 'botToken';
      return `config.${field}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private toChannel(row: ChannelRow, pairedChats: number): Channel {
    return {
      name: row.name,
      agent: row.agent,
      type: row.type,
      enabled: row.enabled,
      status: asStatus(row.status),
      last_error: row.lastError,
      config: maskChannelConfig(this.configOf(row)),
      paired_chats: pairedChats,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
    };
  }

  private async pairedCount(row: ChannelRow): Promise<number> {
    if (row.type !== 'telegram') return 0;
    const [total] = await this.db
      .select({ total: count() })
      .from(channelChats)
      .where(and(eq(channelChats.agent, row.agent), eq(channelChats.channel, row.name)));
    return total?.total ?? 0;
  }

  private async find(agent: string, name: string): Promise<ChannelRow | undefined> {
    const [row] = await this.db.select().from(channels).where(and(eq(channels.agent, agent), eq(channels.name, name))).limit(1);
    return row;
  }

  private async row(agentName: string, name: string): Promise<ChannelRow> {
    const agent = (await this.deps.agents.get(agentName)).name;
    const row = await this.find(agent, name);
    if (!row) throw channelNotFound(agent, name);
    return row;
  }

  /** The config as configured: the secret decrypted back into its field (a row from before encryption holds it still). */
  private configOf(row: ChannelRow): ChannelConfig {
    if (row.secretCiphertext === null) return row.config as ChannelConfig;
    const secret = this.deps.vault.unseal(secretAddress(row), { ciphertext: row.secretCiphertext, keyId: row.secretKeyId ?? '' });
    return { ...row.config, [SECRET_FIELD[row.type]]: secret } as ChannelConfig;
  }

  /** The columns that store a config: the secret encrypted, the rest as written. */
  private sealed(channel: { agent: string; name: string; type: ChannelType }, config: ChannelConfig) {
    const { [SECRET_FIELD[channel.type]]: secret, ...rest } = config as Record<string, unknown>;
    const sealed = this.deps.vault.seal(secretAddress(channel), String(secret));
    return { config: rest, secretCiphertext: sealed.ciphertext, secretKeyId: sealed.keyId };
  }

  /** The channel's literal secrets are held by the redactor, so a replaced or deleted config releases them. */
  private remember(agent: string, name: string, config: ChannelConfig): void {
    this.deps.redactor.hold(`channel:${keyOf(agent, name)}`, channelSecrets(config));
  }

  private forget(agent: string, name: string): void {
    this.deps.redactor.hold(`channel:${keyOf(agent, name)}`, []);
  }
}

function secretOf(config: ChannelConfig): string {
  const value: unknown = 'authToken' in config ? config.authToken : config.botToken;
  return typeof value === 'string' ? value : '';
}
