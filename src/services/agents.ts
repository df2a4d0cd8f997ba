/** Agents: CRUD over the agents table, and the default agent. */
import { count, eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import {
  applyAgentPatch,
  DEFAULT_AGENT_NAME,
  DEFAULT_MAX_STEPS,
  DEFAULT_MODEL,
  type Agent,
  type AgentCreate,
  type AgentPatch,
} from '../domain/agents.ts';
import { checkToolPolicy } from '../domain/approvals.ts';
import { paginate, type PaginationInput } from '../domain/common.ts';
import { AppError } from '../domain/errors.ts';
import type { Db } from '../db/client.ts';
import { agents, messages, sessions, skills } from '../db/schema.ts';
import { freezeDeep } from '../domain/immutable.ts';
import type { ChangeFeed } from './changes/feed.ts';

type AgentRow = typeof agents.$inferSelect;

function toAgent(row: AgentRow): Agent {
  return {
    name: row.name,
    display_name: row.displayName,
    description: row.description,
    model: row.model,
    system_prompt: row.systemPrompt,
    allowed_tools: row.allowedTools,
    subagents: row.subagents,
    tool_policy: row.toolPolicy,
    max_steps: row.maxSteps,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function toRow(agent: Agent): AgentRow {
  return {
    name: agent.name,
    displayName: agent.display_name,
    description: agent.description,
    model: agent.model,
    systemPrompt: agent.system_prompt,
    allowedTools: agent.allowed_tools,
    subagents: agent.subagents,
    toolPolicy: agent.tool_policy,
    maxSteps: agent.max_steps,
    createdAt: agent.created_at,
    updatedAt: agent.updated_at,
  };
}

/** What a service does when an agent is deleted: statements for the agent's transaction, then a release of the rest. */
export interface AgentDeletion {
  statements: Array<BatchItem<'sqlite'>>;
  release?: () => Promise<void>;
}
export type AgentDeletionPlanner = (agent: string) => Promise<AgentDeletion>;

function agentNotFound(name: string): AppError {
  return new AppError('AGENT_NOT_FOUND', `Agent '${name}' not found`, { name });
}

/**
 * Agents are read on every request that names one (chat turns, memory, skills), so reads are served from a cache:
 * writes through this service update it at once, and a change made by another process drops the agent from it
 * when the change feed brings it (within a fraction of a second). The TTL is the backstop for what the feed cannot
 * cover: a read in flight when the change arrived (it puts the old row back), a command that does not read the
 * feed, and a write that bypassed this service (an operator's SQL).
 */
const CACHE_TTL_MS = 1000;

export class AgentService {
  private readonly cache = new Map<string, { agent: Agent; expires: number }>();
  private readonly deletionPlanners: AgentDeletionPlanner[] = [];

  constructor(
    private readonly db: Db,
    private readonly changes: ChangeFeed,
  ) {
    // Changed or deleted by another process: read again on next use.
    changes.on('agent', (name) => {
      this.cache.delete(name);
    });
  }

  /** Cached agents are frozen: every reader shares the same object. */
  private remember(agent: Agent): Agent {
    freezeDeep(agent);
    this.cache.set(agent.name, { agent, expires: Date.now() + CACHE_TTL_MS });
    return agent;
  }

  async list(page: PaginationInput) {
    const [rows, [totals]] = await Promise.all([
      this.db.select().from(agents).orderBy(agents.createdAt, agents.name).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(agents),
    ]);
    return { agents: rows.map(toAgent), pagination: paginate(totals?.total ?? 0, page) };
  }

  /** The agent, or undefined; a cached agent comes back without a database read or an async frame (the hot read path). */
  find(name: string): Promise<Agent | undefined> {
    const cached = this.cached(name);
    return cached ? Promise.resolve(cached) : this.load(name);
  }

  private cached(name: string): Agent | undefined {
    const entry = this.cache.get(name);
    return entry && entry.expires > Date.now() ? entry.agent : undefined;
  }

  private async load(name: string): Promise<Agent | undefined> {
    const [row] = await this.db.select().from(agents).where(eq(agents.name, name)).limit(1);
    if (!row) {
      this.cache.delete(name);
      return undefined;
    }
    return this.remember(toAgent(row));
  }

  get(name: string): Promise<Agent> {
    const cached = this.cached(name);
    return cached ? Promise.resolve(cached) : this.load(name).then((agent) => agent ?? Promise.reject(agentNotFound(name)));
  }

  async create(input: AgentCreate): Promise<Agent> {
    checkToolPolicy(input.allowed_tools, input.tool_policy);
    const now = new Date();
    const agent: Agent = {
      name: input.name,
      display_name: input.display_name ?? null,
      description: input.description,
      model: input.model ?? DEFAULT_MODEL,
      system_prompt: input.system_prompt,
      allowed_tools: input.allowed_tools,
      subagents: input.subagents,
      tool_policy: input.tool_policy,
      max_steps: input.max_steps,
      created_at: now,
      updated_at: now,
    };
    // Recorded even when the name is taken: the other processes then only read the agent again.
    const [inserted] = await this.db.batch([
      this.db.insert(agents).values(toRow(agent)).onConflictDoNothing().returning({ name: agents.name }),
      this.changes.record('agent', agent.name),
    ]);
    if (inserted.length === 0) {
      throw new AppError('AGENT_EXISTS', `Agent '${input.name}' already exists`, { name: input.name });
    }
    return this.remember(agent);
  }

  async update(name: string, patch: AgentPatch): Promise<Agent> {
    const updated = applyAgentPatch(await this.get(name), patch, new Date());
    if (patch.tool_policy) checkToolPolicy(updated.allowed_tools, patch.tool_policy);
    const [rows] = await this.db.batch([
      this.db.update(agents).set(toRow(updated)).where(eq(agents.name, name)).returning({ name: agents.name }),
      this.changes.record('agent', name),
    ]);
    if (rows.length === 0) throw agentNotFound(name);
    return this.remember(updated);
  }

  /** Lets a service delete what it stores for an agent in the agent's transaction, and release the rest afterwards. */
  onDelete(plan: AgentDeletionPlanner): void {
    this.deletionPlanners.push(plan);
  }

  /**
   * Deletes the agent and everything it owns (conversations, memories, skills, secrets, channels, webhooks,
   * heartbeats, MCP servers) in one transaction; runs and the audit log stay as history. What services hold outside
   * the database (pollers, connections, files, the redactor) is released once the rows are gone.
   */
  async delete(name: string): Promise<void> {
    await this.get(name);
    const plans = await Promise.all(this.deletionPlanners.map((plan) => plan(name)));
    const [deleted] = await this.db.batch([
      this.db.delete(agents).where(eq(agents.name, name)).returning({ name: agents.name }),
      this.db.delete(messages).where(eq(messages.agent, name)),
      this.db.delete(sessions).where(eq(sessions.agent, name)),
      // Memories (and their vectors) go by the trigger memories_agent_delete (drizzle/0003_memory_fts.sql).
      this.db.delete(skills).where(eq(skills.agent, name)),
      ...plans.flatMap((plan) => plan.statements),
      this.changes.record('agent', name),
    ]);
    this.cache.delete(name);
    if (deleted.length === 0) throw agentNotFound(name);
    for (const plan of plans) await plan.release?.();
  }

  /** Makes sure the `default` agent exists; called at every start, so deleting it lasts until the next start. */
  async ensureDefault(): Promise<void> {
    const now = new Date();
    await this.db
      .insert(agents)
      .values(
        toRow({
          name: DEFAULT_AGENT_NAME,
          display_name: null,
          description: 'The default agent (offline echo provider until you configure a model).',
          model: DEFAULT_MODEL,
          system_prompt: 'You are a helpful assistant.',
          allowed_tools: [],
          subagents: [],
          tool_policy: {},
          max_steps: DEFAULT_MAX_STEPS,
          created_at: now,
          updated_at: now,
        }),
      )
      .onConflictDoNothing();
  }
}
