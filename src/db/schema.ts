/** The database, as one picture. Timestamps are integer milliseconds; JSON columns are text. */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { ModelSettings } from '../domain/agents.ts';
import type { ToolPolicy } from '../domain/approvals.ts';
import type { StoredChannelConfig, TelegramState } from '../domain/channels.ts';
import type { RunError, RunStep, ToolCall, Usage } from '../domain/chat.ts';
import type { McpSandbox } from '../domain/mcp.ts';
import type { Scope } from '../domain/scopes.ts';

export const agents = sqliteTable('agents', {
  name: text('name').primaryKey(),
  /** A name for people; null when none was given. */
  displayName: text('display_name'),
  description: text('description').notNull().default(''),
  model: text('model', { mode: 'json' }).$type<ModelSettings>().notNull(),
  systemPrompt: text('system_prompt').notNull().default(''),
  allowedTools: text('allowed_tools', { mode: 'json' }).$type<string[]>().notNull(),
  /** Other agents this one may hand tasks to (subagent.spawn); itself always. */
  subagents: text('subagents', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
  /** Per tool or family: allow, ask (the run waits for a person) or deny. */
  toolPolicy: text('tool_policy', { mode: 'json' }).$type<ToolPolicy>().notNull().default(sql`'{}'`),
  maxSteps: integer('max_steps').notNull(),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    agent: text('agent').notNull(),
    userId: text('user_id'),
    /** The run this session is busy with, claimed in the database so one turn runs at a time across processes. */
    activeRunId: text('active_run_id'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('sessions_agent_updated').on(t.agent, t.updatedAt)],
);

export const messages = sqliteTable(
  'messages',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id').notNull(),
    agent: text('agent').notNull(),
    runId: text('run_id'),
    userId: text('user_id'),
    role: text('role', { enum: ['system', 'user', 'assistant', 'tool'] }).notNull(),
    content: text('content').notNull(),
    /** Tool calls the assistant asked for, or the call a tool message answers. */
    toolCalls: text('tool_calls', { mode: 'json' }).$type<ToolCall[]>(),
    toolCallId: text('tool_call_id'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('messages_session_created').on(t.sessionId, t.createdAt), index('messages_agent_user').on(t.agent, t.userId, t.createdAt)],
);

export const runs = sqliteTable(
  'runs',
  {
    id: text('id').primaryKey(),
    agent: text('agent').notNull(),
    sessionId: text('session_id').notNull(),
    userId: text('user_id'),
    status: text('status', { enum: ['queued', 'running', 'awaiting_approval', 'completed', 'failed', 'cancelled'] }).notNull(),
    input: text('input').notNull(),
    output: text('output'),
    error: text('error', { mode: 'json' }).$type<RunError>(),
    steps: text('steps', { mode: 'json' }).$type<RunStep[]>().notNull(),
    usage: text('usage', { mode: 'json' }).$type<Usage>().notNull(),
    source: text('source').notNull().default('api'),
    /** The run that spawned this one as a sub-agent, and how deep it is (0 for a top-level run). */
    parentRunId: text('parent_run_id'),
    depth: integer('depth').notNull().default(0),
    /** The server process (instances.id) running it; its runs are failed when its lease expires. */
    instanceId: text('instance_id'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    completedAt: integer('completed_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    index('runs_agent_created').on(t.agent, t.createdAt),
    index('runs_session_created').on(t.sessionId, t.createdAt),
    index('runs_parent').on(t.parentRunId),
    index('runs_status_instance').on(t.status, t.instanceId),
  ],
);

/**
 * Tool calls that wait (or waited) for a person: one row per call of a run that met an `ask` policy. The pending
 * row also holds what the run needs to go on (`checkpoint`: its messages so far and the calls still to run), so any
 * process can resume it once it is decided; `waiter` is the process that paused it (it resumes it while alive).
 */
export const approvals = sqliteTable(
  'approvals',
  {
    runId: text('run_id').notNull(),
    callId: text('call_id').notNull(),
    agent: text('agent').notNull(),
    sessionId: text('session_id').notNull(),
    tool: text('tool').notNull(),
    arguments: text('arguments', { mode: 'json' }).$type<unknown>(),
    status: text('status', { enum: ['pending', 'approved', 'denied', 'expired'] }).notNull(),
    reason: text('reason'),
    forSession: integer('for_session', { mode: 'boolean' }).notNull().default(false),
    decidedBy: text('decided_by'),
    /** Sealed with the vault key: the run's messages may hold what the model was told (a secret it asked for). */
    checkpoint: text('checkpoint'),
    waiter: text('waiter'),
    /** Set when a process took the decided run up again; a decided row without it still waits to be resumed. */
    resumedAt: integer('resumed_at', { mode: 'timestamp_ms' }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    decidedAt: integer('decided_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.callId] }),
    index('approvals_status_expires').on(t.status, t.expiresAt),
    index('approvals_session_tool').on(t.sessionId, t.tool),
  ],
);

/** Processes using the database: each renews a lease; what an instance whose lease expired held is given up. */
export const instances = sqliteTable('instances', {
  id: text('id').primaryKey(),
  /** `server` (serve, channels http) or `cli` (a one-off command that runs turns: moxxy run). */
  kind: text('kind', { enum: ['server', 'cli'] }).notNull(),
  hostname: text('hostname').notNull(),
  pid: integer('pid').notNull(),
  startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
  renewedAt: integer('renewed_at', { mode: 'timestamp_ms' }).notNull(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
});

/** Named leases: one holder at a time across processes (e.g. the poller of a Telegram bot). */
export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
});

/**
 * The change feed: every change to what processes keep in memory (agents, secrets, channels, webhooks,
 * heartbeats, MCP servers, tokens, cancel requests) is a row; every process reads those after its own position.
 */
export const changes = sqliteTable('changes', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  topic: text('topic').notNull(),
  key: text('key').notNull(),
  /** The instance that made the change (null for a one-off command), so it can skip its own. */
  origin: text('origin'),
  at: integer('at', { mode: 'timestamp_ms' }).notNull(),
});

/** The audit log: every event, stored (redacted) before it is sent. `seq` orders them and is the stream cursor. */
export const events = sqliteTable(
  'events',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    eventId: text('event_id').notNull().unique(),
    timestamp: integer('timestamp', { mode: 'timestamp_ms' }).notNull(),
    agentId: text('agent_id'),
    runId: text('run_id'),
    sequence: integer('sequence').notNull(),
    eventType: text('event_type').notNull(),
    payload: text('payload', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    index('events_agent_seq').on(t.agentId, t.seq),
    index('events_run_seq').on(t.runId, t.seq),
    index('events_type_seq').on(t.eventType, t.seq),
    index('events_timestamp').on(t.timestamp),
  ],
);

/**
 * What agents remember. `seq` is the stable rowid the FTS5 index (memories_fts) and the vector tables
 * (memory_vectors_<dimensions>) point at; both live outside drizzle (drizzle/0003_memory_fts.sql, MemoryService).
 */
export const memories = sqliteTable(
  'memories',
  {
    seq: integer('seq').primaryKey(),
    id: text('id').notNull().unique(),
    agent: text('agent').notNull(),
    userId: text('user_id'),
    sessionId: text('session_id'),
    content: text('content').notNull(),
    metadata: text('metadata', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    tags: text('tags', { mode: 'json' }).$type<string[]>().notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    /**
     * Who may see the memory, as words the full-text index holds (column `scope` of memories_fts), so a search
     * filters by agent and user inside FTS5 instead of joining every match: `a<hex(agent)>0` for the agent,
     * and `u<hex(agent)>x<hex(user_id)>0` for its user, or `n<hex(agent)>0` for an agent-wide memory, so each
     * scope is one word with a short doclist. Hex is exact; the trailing digit keeps the porter stemmer from
     * touching them. Computed, never written (ftsScopeOf in src/domain/memory.ts builds the queries).
     */
    scope: text('scope').generatedAlwaysAs(
      sql`'a' || hex(agent) || '0 ' || CASE WHEN user_id IS NULL THEN 'n' || hex(agent) || '0' ELSE 'u' || hex(agent) || 'x' || hex(user_id) || '0' END`,
      { mode: 'virtual' },
    ),
  },
  (t) => [index('memories_agent_created').on(t.agent, t.createdAt), index('memories_agent_user_created').on(t.agent, t.userId, t.createdAt)],
);

/** Skills per agent (seed 003): the manifest, and the code that runs in the skill's working directory. */
export const skills = sqliteTable(
  'skills',
  {
    agent: text('agent').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    version: text('version').notNull().default('1.0.0'),
    language: text('language', { enum: ['bash', 'sh', 'python', 'node'] }).notNull(),
    runCommand: text('run_command').notNull(),
    entrypoint: text('entrypoint').notNull(),
    code: text('code').notNull(),
    /** The manifest as written (manifest.toml or skill.json) when installed from a URL. */
    manifest: text('manifest'),
    needsNetwork: integer('needs_network', { mode: 'boolean' }).notNull().default(false),
    needsFsRead: integer('needs_fs_read', { mode: 'boolean' }).notNull().default(false),
    needsFsWrite: integer('needs_fs_write', { mode: 'boolean' }).notNull().default(false),
    needsEnv: integer('needs_env', { mode: 'boolean' }).notNull().default(false),
    envKeys: text('env_keys', { mode: 'json' }).$type<string[]>().notNull(),
    usageExample: text('usage_example'),
    sourceUrl: text('source_url'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agent, t.name] })],
);

/**
 * MCP servers per agent: stdio (command, args, env, sandbox) or streamable HTTP (url, headers). The values of env
 * and headers are encrypted like vault values (their names stay readable).
 */
export const mcpServers = sqliteTable(
  'mcp_servers',
  {
    agent: text('agent').notNull(),
    name: text('name').notNull(),
    transport: text('transport', { enum: ['stdio', 'http'] }).notNull(),
    command: text('command'),
    args: text('args', { mode: 'json' }).$type<string[]>().notNull(),
    env: text('env', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    /** stdio: what its sandbox allows; null for http servers (and stdio servers stored before it existed: nothing). */
    sandbox: text('sandbox', { mode: 'json' }).$type<McpSandbox>(),
    url: text('url'),
    headers: text('headers', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    /** Which master key encrypted the values of env and headers; null for a row written before they were (encrypted at start-up). */
    secretsKeyId: text('secrets_key_id'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agent, t.name] })],
);

/** Vault secrets per agent: AES-256-GCM ciphertext (nonce, tag and ciphertext, base64), never the value. */
export const secrets = sqliteTable(
  'secrets',
  {
    agent: text('agent').notNull(),
    key: text('key').notNull(),
    ciphertext: text('ciphertext').notNull(),
    /** Which master key encrypted it (a fingerprint), so rotation can tell old from new. */
    keyId: text('key_id').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agent, t.key] })],
);

/** API tokens: only the SHA-256 of the token is kept; the token is shown once. */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    hash: text('hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    scopes: text('scopes', { mode: 'json' }).$type<Scope[]>().notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
);

/**
 * Channels per agent (`http`, `telegram`): config as written (`${vault:...}` resolved at the point of use) but for
 * its secret (authToken, botToken), which is encrypted like a vault value; state kept by the channel.
 */
export const channels = sqliteTable(
  'channels',
  {
    agent: text('agent').notNull(),
    name: text('name').notNull(),
    type: text('type', { enum: ['http', 'telegram'] }).notNull(),
    config: text('config', { mode: 'json' }).$type<StoredChannelConfig>().notNull(),
    /** The config's secret; null for a row written before secrets were encrypted (its config still holds it; encrypted at start-up). */
    secretCiphertext: text('secret_ciphertext'),
    secretKeyId: text('secret_key_id'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    status: text('status').notNull().default('stopped'),
    lastError: text('last_error'),
    /** What the channel keeps between restarts (Telegram: the update offset, the pending pairing code). */
    state: text('state', { mode: 'json' }).$type<TelegramState>().notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agent, t.name] })],
);

/** Chats paired with a channel (Telegram): only these reach the agent. */
export const channelChats = sqliteTable(
  'channel_chats',
  {
    agent: text('agent').notNull(),
    channel: text('channel').notNull(),
    chatId: text('chat_id').notNull(),
    username: text('username'),
    pairedAt: integer('paired_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agent, t.channel, t.chatId] })],
);

/** Webhooks: a named entry point that turns a request into a run. The secret is encrypted like a vault value. */
export const webhooks = sqliteTable('webhooks', {
  name: text('name').primaryKey(),
  id: text('id').notNull().unique(),
  agent: text('agent').notNull(),
  description: text('description').notNull().default(''),
  promptTemplate: text('prompt_template').notNull(),
  secretCiphertext: text('secret_ciphertext'),
  secretKeyId: text('secret_key_id'),
  /** The one scheme deliveries are signed with, fixed when the webhook gets its secret. */
  signatureScheme: text('signature_scheme', { enum: ['github', 'standard'] }),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});

/** Every request a webhook received: accepted (with its run) or refused (and why). `delivery_key` refuses replays. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    webhook: text('webhook').notNull(),
    deliveryKey: text('delivery_key'),
    /** SHA-256 of an accepted GitHub delivery's body: GitHub signs nothing else, so a replay under a new id has the same one. */
    payloadDigest: text('payload_digest'),
    eventType: text('event_type'),
    status: text('status', { enum: ['accepted', 'rejected', 'failed'] }).notNull(),
    httpStatus: integer('http_status').notNull(),
    runId: text('run_id'),
    error: text('error'),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    index('webhook_deliveries_webhook_received').on(t.webhook, t.receivedAt),
    uniqueIndex('webhook_deliveries_webhook_key').on(t.webhook, t.deliveryKey),
    index('webhook_deliveries_webhook_digest').on(t.webhook, t.payloadDigest),
  ],
);

/** Heartbeats: a schedule per agent (cron in a time zone, or an interval) that starts a run with a prompt. */
export const heartbeats = sqliteTable(
  'heartbeats',
  {
    id: text('id').primaryKey(),
    agent: text('agent').notNull(),
    name: text('name').notNull(),
    cron: text('cron'),
    timezone: text('timezone'),
    intervalMs: integer('interval_ms'),
    prompt: text('prompt').notNull(),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    nextRunAt: integer('next_run_at', { mode: 'timestamp_ms' }),
    lastRunAt: integer('last_run_at', { mode: 'timestamp_ms' }),
    lastRunId: text('last_run_id'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('heartbeats_due').on(t.enabled, t.nextRunAt), uniqueIndex('heartbeats_agent_name').on(t.agent, t.name)],
);
