/** Builds every service from the configuration: the one place the object graph is wired. */
import { rm } from 'node:fs/promises';
import type { MoxxyConfig } from '../config/schema.ts';
import { databaseUrl } from '../config/load.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { AgentService } from './agents.ts';
import { ChangeFeed } from './changes/feed.ts';
import { ChannelService } from './channels/service.ts';
import { Instances, INTERRUPTED } from './instances.ts';
import { Leases } from './leases.ts';
import { Authenticator } from './auth/authenticator.ts';
import { TokenService } from './auth/tokens.ts';
import { EventBus } from './events/bus.ts';
import { Redactor } from './redaction.ts';
import { createLogger, type Logger } from './logger.ts';
import { MemoryService, memoryTools } from './memory/index.ts';
import { McpService, mcpTools } from './mcp/index.ts';
import { Sandbox, sandboxSettings } from './sandbox/index.ts';
import { SkillService } from './skills/service.ts';
import { skillTools } from './skills/tools.ts';
import { agentSkillsDir } from './skills/runner.ts';
import { createProvider } from './providers/index.ts';
import { memoryContext } from './runtime/memory-context.ts';
import { Runtime } from './runtime/runtime.ts';
import { ConversationStore } from './runtime/store.ts';
import { ToolRegistry } from './runtime/tool-registry.ts';
import { serverSecrets } from './server-secrets.ts';
import { SystemService } from './system.ts';
import { createTranscriber } from './transcription.ts';
import { loadMasterKey } from './vault/master-key.ts';
import { VaultService } from './vault/service.ts';
import { vaultTools } from './vault/tools.ts';
import { systemClock, type Clock } from './scheduler/clock.ts';
import { HeartbeatScheduler } from './scheduler/scheduler.ts';
import { HeartbeatService } from './scheduler/service.ts';
import { Subagents } from './runtime/subagents.ts';
import { WebhookService } from './webhooks/service.ts';
import { ApprovalService } from './approvals/service.ts';
import { ApprovalStore } from './approvals/store.ts';

export interface Services {
  config: MoxxyConfig;
  /** This process among those sharing the database (src/services/instances.ts). */
  instances: Instances;
  /** Changes made by other processes, as they arrive (src/services/changes/feed.ts). */
  changes: ChangeFeed;
  /** What the services log (failures of what they run: MCP servers' stderr and exits), JSON lines. */
  logger: Logger;
  database: Database;
  agents: AgentService;
  memory: MemoryService;
  mcp: McpService;
  skills: SkillService;
  system: SystemService;
  redactor: Redactor;
  events: EventBus;
  conversations: ConversationStore;
  tools: ToolRegistry;
  runtime: Runtime;
  tokens: TokenService;
  auth: Authenticator;
  vault: VaultService;
  /** Channels per agent (http, telegram); the server starts their pollers (`channels.start()`). */
  channels: ChannelService;
  webhooks: WebhookService;
  /** Heartbeats per agent; the server starts firing them (`heartbeats.start()`). */
  heartbeats: HeartbeatService;
  subagents: Subagents;
  /** Tool calls waiting for a person: deciding them, expiring them, resuming their runs. */
  approvals: ApprovalService;
  /**
   * Resolves `${vault:KEY}` references at the point of use: in an agent's settings (its channels', MCP servers') with
   * the secrets of `agent`; in the server's configuration (no agent) with the server's own secrets.
   */
  resolveSecret(value: string, agent?: string): Promise<string>;
  /**
   * Makes this process a serving instance: registered with a lease (failing the runs of expired instances), reading
   * the change feed, and delivering the events of runs on other processes to its subscribers.
   */
  serve(): Promise<void>;
  close(): Promise<void>;
}

/** How often a serving process reads the change feed: a change reaches it within this (plus a query). */
const CHANGE_POLL_MS = 200;
/** How often a serving process reads the events other processes stored (their runs' events reach its streams). */
const FOLLOW_EVENTS_MS = 100;

export interface ServiceOptions {
  /** The heartbeat scheduler's clock (tests move time instead of waiting). */
  clock?: Clock;
  /** Where the services' log goes instead of stdout (tests read it). */
  logStream?: NodeJS.WritableStream;
}

export async function createServices(config: MoxxyConfig, options: ServiceOptions = {}): Promise<Services> {
  // Before the database: a bad MOXXY_VAULT_KEY or key file stops start-up with nothing opened.
  const masterKey = loadMasterKey({ masterKey: config.vault.masterKey, home: config.home });
  // The server's own secrets are known before anything can log or emit them; stored ones as each service opens.
  const redactor = new Redactor();
  for (const secret of serverSecrets(config, masterKey.key)) redactor.register(secret);
  const logger = createLogger(config.logLevel, redactor, options.logStream);
  const database = await openDatabase(databaseUrl(config), config.database.authToken);
  // This process as an instance (registered by the servers, and by a command once it runs a turn), and the feed
  // through which changes made by other processes reach it.
  let events!: EventBus;
  const instances = new Instances(database.db, config.instances, async (reaped) => {
    for (const run of reaped) await events.emit({ agent_id: run.agent, run_id: run.id, event_type: 'run.failed', payload: { error: INTERRUPTED } });
  });
  const changes = await ChangeFeed.open(database.db, () => instances.id, { localFile: database.kind === 'file' });
  const followChanges = (id: string) => {
    changes.start(CHANGE_POLL_MS);
    return id;
  };
  const agents = new AgentService(database.db, changes);
  await agents.ensureDefault();
  // Before each batch is redacted, the changes of other processes (a secret set anywhere) are applied here.
  events = await EventBus.open(database.db, redactor, {}, () => changes.catchUp());
  const memory = new MemoryService(database.db, agents, { config: config.memory, emit: (event) => events.emit(event), changes });
  await memory.init();

  const vault = new VaultService({ db: database.db, agents, events, redactor, masterKey: masterKey.key, changes });
  await vault.init();
  agents.onDelete((agent) => vault.deletionOf(agent));
  const resolveSecret = (value: string, agent?: string) => (agent === undefined ? vault.resolveConfig(value) : vault.resolve(value, agent));
  const conversations = new ConversationStore(database.db);
  const tools = new ToolRegistry();
  tools.register(memoryTools(memory));
  tools.register(vaultTools(vault));
  // One sandbox for skills and stdio MCP servers.
  const sandbox = new Sandbox(sandboxSettings(config));
  const mcp = new McpService({
    db: database.db,
    agents,
    resolveSecret,
    sandbox,
    home: config.home,
    timeoutMs: config.mcp.timeoutMs,
    guard: { allowPrivateNetwork: config.mcp.allowPrivateNetwork, allowHttpLoopback: false, trustedUrls: config.mcp.allowedUrls },
    log: (message, details) => logger.warn(details, message),
    redact: (text) => redactor.redact(text).value,
    secrets: redactor,
    vault,
    changes,
    events,
  });
  await mcp.init();
  tools.register(mcpTools(mcp));
  agents.onDelete((agent) => mcp.deletionOf(agent));
  const skills = new SkillService({
    db: database.db,
    agents,
    events,
    config: config.skills,
    home: config.home,
    resolveSecrets: (agent, keys, skill) => vault.secretsFor(agent, keys, skill),
    redactor,
    sandbox,
  });
  tools.register(skillTools(skills));
  // Skill rows go with the agent's own statements; their working directories afterwards.
  agents.onDelete(async (agent) => ({ statements: [], release: () => rm(agentSkillsDir(config.home, agent), { recursive: true, force: true }) }));
  // A paused run's checkpoint holds what the model was told: sealed with the vault key.
  const approvalStore = new ApprovalStore(database.db, vault);
  vault.onRotate(approvalStore.rotation);
  const runtime = new Runtime({
    agents,
    store: conversations,
    events,
    tools,
    provider: (name, agent) => createProvider(name, config.providers, (value) => resolveSecret(value), (details, message) => logger.warn({ ...details, agent }, message)),
    contextProviders: [memoryContext(memory)],
    redactor,
    // A command's first turn makes it an instance too (without reaping), so its runs are known to be alive.
    instance: async () => instances.id ?? (await instances.register('cli', { reaper: false }).then(followChanges)),
    instances,
    changes,
    approvals: approvalStore,
    approvalExpiryMs: config.approvals.expiryMs,
  });
  const approvals = new ApprovalService({ store: approvalStore, runtime, events, changes, instances });
  const channels = new ChannelService({
    db: database.db,
    agents,
    runtime,
    events,
    redactor,
    vault,
    resolveSecret: (value, agent) => resolveSecret(value, agent),
    transcriber: () => createTranscriber(config.transcription, (value) => resolveSecret(value), config.providers.timeoutMs),
    telegram: config.channels.telegram,
    changes,
    leases: new Leases(database.db, () => instances.id),
    decideApproval: (runId, callId, input, decidedBy) => approvals.decide(runId, callId, input, decidedBy),
    pendingApprovals: (agent, sessionPrefix) => approvals.pendingIn(agent, sessionPrefix),
  });
  await channels.init();
  agents.onDelete((agent) => channels.deletionOf(agent));
  const webhooks = new WebhookService({ db: database.db, agents, runtime, events, redactor, vault, changes });
  await webhooks.init();
  agents.onDelete((agent) => webhooks.deletionOf(agent));
  const subagents = new Subagents({ runtime, events, limits: config.runtime.subagents });
  tools.register(subagents.tools());
  const clock = options.clock ?? systemClock;
  const heartbeats = new HeartbeatService({
    db: database.db,
    agents,
    events,
    clock,
    scheduler: new HeartbeatScheduler({ db: database.db, runtime, events, clock }),
    changes,
  });
  agents.onDelete((agent) => heartbeats.deletionOf(agent));
  const tokens = new TokenService(database.db);
  return {
    config,
    instances,
    changes,
    logger,
    database,
    agents,
    memory,
    mcp,
    skills,
    system: new SystemService(database, () => sandbox.status()),
    redactor,
    events,
    conversations,
    tools,
    runtime,
    tokens,
    auth: new Authenticator(tokens, config.auth.internalToken, config.auth.apiKey),
    vault,
    channels,
    webhooks,
    heartbeats,
    subagents,
    approvals,
    resolveSecret,
    async serve() {
      await database.checkpointOffLoop((message) => logger.warn({ error: message }, 'WAL checkpoint failed'));
      followChanges(await instances.register('server', { reaper: true }));
      events.follow(FOLLOW_EVENTS_MS);
      approvals.start();
    },
    async close() {
      await approvals.stop();
      await heartbeats.close();
      await channels.stop();
      await runtime.stopAll();
      await mcp.close();
      await sandbox.close();
      await changes.close();
      await events.close();
      // After its runs ended: what this instance held is free for the others at once.
      await instances.stop();
      await database.close();
    },
  };
}
