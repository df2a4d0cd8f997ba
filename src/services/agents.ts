/** Agents: CRUD over the agents table, and the default agent. */
import { count, eq } from 'drizzle-orm';
import {
  applyAgentPatch,
  DEFAULT_AGENT_NAME,
  DEFAULT_MAX_STEPS,
  DEFAULT_MODEL,
  type Agent,
  type AgentCreate,
  type AgentPatch,
} from '../domain/agents.ts';
import { paginate, type PaginationInput } from '../domain/common.ts';
import { AppError } from '../domain/errors.ts';
import type { Db } from '../db/client.ts';
import { agents, mcpServers, memories, messages, sessions, skills } from '../db/schema.ts';
import { freezeDeep } from '../domain/immutable.ts';

type AgentRow = typeof agents.$inferSelect;

function toAgent(row: AgentRow): Agent {
  return {
    name: row.name,
    description: row.description,
    model: row.model,
    system_prompt: row.systemPrompt,
    allowed_tools: row.allowedTools,
    subagents: row.subagents,
    max_steps: row.maxSteps,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function toRow(agent: Agent): AgentRow {
  return {
    name: agent.name,
    description: agent.description,
    model: agent.model,
    systemPrompt: agent.system_prompt,
    allowedTools: agent.allowed_tools,
    subagents: agent.subagents,
    maxSteps: agent.max_steps,
    createdAt: agent.created_at,
    updatedAt: agent.updated_at,
  };
}

function agentNotFound(name: string): AppError {
  return new AppError('AGENT_NOT_FOUND', `Agent '${name}' not found`, { name });
}

/**
 * Agents are read on every request that names one (chat turns, memory, skills), so reads are served from a
 * short-lived cache: writes through this service update it at once; a change made by another process
 * sharing the database shows within CACHE_TTL_MS.
 */
const CACHE_TTL_MS = 1000;

export class AgentService {
  private readonly cache = new Map<string, { agent: Agent; expires: number }>();
  private readonly deleteListeners: Array<(name: string) => Promise<void>> = [];

  constructor(private readonly db: Db) {}

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
    const now = new Date();
    const agent: Agent = {
      name: input.name,
      description: input.description,
      model: input.model ?? DEFAULT_MODEL,
      system_prompt: input.system_prompt,
      allowed_tools: input.allowed_tools,
      subagents: input.subagents,
      max_steps: input.max_steps,
      created_at: now,
      updated_at: now,
    };
    const inserted = await this.db.insert(agents).values(toRow(agent)).onConflictDoNothing().returning({ name: agents.name });
    if (inserted.length === 0) {
      throw new AppError('AGENT_EXISTS', `Agent '${input.name}' already exists`, { name: input.name });
    }
    return this.remember(agent);
  }

  async update(name: string, patch: AgentPatch): Promise<Agent> {
    const updated = applyAgentPatch(await this.get(name), patch, new Date());
    const rows = await this.db.update(agents).set(toRow(updated)).where(eq(agents.name, name)).returning({ name: agents.name });
    if (rows.length === 0) throw agentNotFound(name);
    return this.remember(updated);
  }

  /** Lets a service release what it holds for an agent (connections, files) when the agent is deleted. */
  onDelete(listener: (name: string) => Promise<void>): void {
    this.deleteListeners.push(listener);
  }

  /** Deletes the agent with its conversations, memories, skills and MCP servers; runs and the audit log stay as history. */
  async delete(name: string): Promise<void> {
    await this.get(name);
    for (const listener of this.deleteListeners) await listener(name);
    this.cache.delete(name);
    const [deleted] = await this.db.batch([
      this.db.delete(agents).where(eq(agents.name, name)).returning({ name: agents.name }),
      this.db.delete(messages).where(eq(messages.agent, name)),
      this.db.delete(sessions).where(eq(sessions.agent, name)),
      this.db.delete(memories).where(eq(memories.agent, name)),
      this.db.delete(skills).where(eq(skills.agent, name)),
      this.db.delete(mcpServers).where(eq(mcpServers.agent, name)),
    ]);
    if (deleted.length === 0) throw agentNotFound(name);
  }

  /** Makes sure the `default` agent exists; called at every start, so deleting it lasts until the next start. */
  async ensureDefault(): Promise<void> {
    const now = new Date();
    await this.db
      .insert(agents)
      .values(
        toRow({
          name: DEFAULT_AGENT_NAME,
          description: 'The default agent (offline echo provider until you configure a model).',
          model: DEFAULT_MODEL,
          system_prompt: 'You are a helpful assistant.',
          allowed_tools: [],
          subagents: [],
          max_steps: DEFAULT_MAX_STEPS,
          created_at: now,
          updated_at: now,
        }),
      )
      .onConflictDoNothing();
  }
}
