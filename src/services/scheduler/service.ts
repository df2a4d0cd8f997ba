/** Heartbeats per agent: create, list, read, change and delete them; the scheduler fires them. */
import { and, asc, count, desc, eq, or, sql } from 'drizzle-orm';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import { AppError, validationError } from '../../domain/errors.ts';
import {
  canonicalTimezone,
  DEFAULT_TIMEZONE,
  nextHeartbeatAt,
  scheduleIssues,
  type Heartbeat,
  type HeartbeatCreate,
  type HeartbeatList,
  type HeartbeatPatch,
} from '../../domain/heartbeats.ts';
import { newId } from '../../domain/ids.ts';
import type { Db } from '../../db/client.ts';
import { heartbeats } from '../../db/schema.ts';
import type { AgentDeletion, AgentService } from '../agents.ts';
import type { ChangeFeed } from '../changes/feed.ts';
import type { EventBus } from '../events/bus.ts';
import type { Clock } from './clock.ts';
import { scheduleOf, type HeartbeatRow, type HeartbeatScheduler } from './scheduler.ts';

export interface HeartbeatServiceDeps {
  db: Db;
  agents: AgentService;
  events: EventBus;
  scheduler: HeartbeatScheduler;
  clock: Clock;
  /** Tells the other processes that an agent's heartbeats changed (the key is the agent), and brings theirs. */
  changes: ChangeFeed;
}

function toHeartbeat(row: HeartbeatRow): Heartbeat {
  return {
    id: row.id,
    agent_id: row.agent,
    name: row.name,
    prompt: row.prompt,
    cron: row.cron,
    timezone: row.cron !== null ? row.timezone : null,
    interval_seconds: row.intervalMs !== null ? Math.round(row.intervalMs / 1000) : null,
    enabled: row.enabled,
    next_run_at: row.nextRunAt,
    last_run_at: row.lastRunAt,
    last_run_id: row.lastRunId,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function heartbeatNotFound(agent: string, ref: string): AppError {
  return new AppError('HEARTBEAT_NOT_FOUND', `Heartbeat '${ref}' not found for agent '${agent}'`, { agent, id: ref });
}

function heartbeatExists(agent: string, name: string): AppError {
  return new AppError('HEARTBEAT_EXISTS', `Agent '${agent}' already has a heartbeat named '${name}'`, { agent, name });
}

function checkSchedule(fields: { cron: string | null; timezone: string | null; interval_seconds: number | null }): void {
  const issues = scheduleIssues(fields);
  if (issues.length === 0) return;
  throw validationError(issues.map((issue) => ({ ...issue, code: 'custom' })));
}

/** A failed insert or update that hit the (agent, name) unique index. */
function isNameClash(error: unknown): boolean {
  const text = `${(error as Error)?.message ?? ''} ${((error as { cause?: Error }).cause)?.message ?? ''}`;
  return /UNIQUE constraint failed: heartbeats\.agent, heartbeats\.name/.test(text);
}

export class HeartbeatService {
  private readonly db: Db;

  constructor(private readonly deps: HeartbeatServiceDeps) {
    this.db = deps.db;
    // Another process's change may move the earliest heartbeat: re-arm the timer (a slot still fires once, see
    // fire()). Not awaited: a pass emits events, and the event bus waits for the feed, so the feed must not wait for it.
    deps.changes.on('heartbeat', () => {
      void deps.scheduler.reschedule();
    });
  }

  /** Starts firing heartbeats (the API server does; one-off commands do not). */
  start(): Promise<void> {
    return this.deps.scheduler.start();
  }

  close(): Promise<void> {
    return this.deps.scheduler.close();
  }

  /** Resolves once the scheduler has finished the passes asked for so far, firings included (tests). */
  idle(): Promise<void> {
    return this.deps.scheduler.idle();
  }

  async list(agentName: string, page: PaginationInput): Promise<HeartbeatList> {
    const agent = (await this.deps.agents.get(agentName)).name;
    const [rows, [totals]] = await Promise.all([
      this.db.select().from(heartbeats).where(eq(heartbeats.agent, agent)).orderBy(asc(heartbeats.createdAt), asc(heartbeats.id)).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(heartbeats).where(eq(heartbeats.agent, agent)),
    ]);
    return { heartbeats: rows.map(toHeartbeat), pagination: paginate(totals?.total ?? 0, page) };
  }

  async get(agentName: string, ref: string): Promise<Heartbeat> {
    return toHeartbeat(await this.row(agentName, ref));
  }

  async create(agentName: string, input: HeartbeatCreate): Promise<Heartbeat> {
    const agent = (await this.deps.agents.get(agentName)).name;
    const cron = input.cron?.trim() ?? null;
    const timezone = cron !== null ? canonicalTimezone(input.timezone ?? DEFAULT_TIMEZONE)! : null;
    const intervalSeconds = input.interval_seconds ?? null;
    checkSchedule({ cron, timezone: cron !== null ? timezone : (input.timezone ?? null), interval_seconds: intervalSeconds });
    const now = new Date(this.deps.clock.now());
    const fields = { cron, timezone, intervalMs: intervalSeconds !== null ? intervalSeconds * 1000 : null };
    const row: HeartbeatRow = {
      id: newId('hb'),
      agent,
      name: input.name,
      prompt: input.prompt,
      ...fields,
      enabled: input.enabled,
      nextRunAt: input.enabled ? nextHeartbeatAt(scheduleOf(fields), now) : null,
      lastRunAt: null,
      lastRunId: null,
      createdAt: now,
      updatedAt: now,
    };
    const [inserted] = await this.db.batch([
      this.db.insert(heartbeats).values(row).onConflictDoNothing().returning({ id: heartbeats.id }),
      this.deps.changes.record('heartbeat', agent),
    ]);
    if (inserted.length === 0) throw heartbeatExists(agent, input.name);
    const heartbeat = toHeartbeat(row);
    await this.deps.events.emit({
      agent_id: agent,
      run_id: null,
      event_type: 'heartbeat.created',
      payload: {
        heartbeat_id: heartbeat.id,
        name: heartbeat.name,
        cron: heartbeat.cron,
        timezone: heartbeat.timezone,
        interval_seconds: heartbeat.interval_seconds,
        enabled: heartbeat.enabled,
        next_run_at: heartbeat.next_run_at?.toISOString() ?? null,
      },
    });
    await this.deps.scheduler.reschedule();
    return heartbeat;
  }

  /** A new schedule, or enabling a disabled heartbeat, counts the next firing from now. */
  async update(agentName: string, ref: string, patch: HeartbeatPatch): Promise<Heartbeat> {
    const current = await this.row(agentName, ref);
    if (patch.cron !== undefined && patch.interval_seconds !== undefined) {
      checkSchedule({ cron: patch.cron, timezone: null, interval_seconds: patch.interval_seconds });
    }
    let cron = current.cron;
    let intervalSeconds = current.intervalMs !== null ? Math.round(current.intervalMs / 1000) : null;
    if (patch.cron !== undefined) {
      cron = patch.cron.trim();
      intervalSeconds = null;
    } else if (patch.interval_seconds !== undefined) {
      cron = null;
      intervalSeconds = patch.interval_seconds;
    }
    const requestedZone = patch.timezone ?? (cron !== null ? (current.timezone ?? DEFAULT_TIMEZONE) : null);
    checkSchedule({ cron, timezone: requestedZone, interval_seconds: intervalSeconds });
    const timezone = cron !== null ? canonicalTimezone(requestedZone ?? DEFAULT_TIMEZONE)! : null;
    const intervalMs = intervalSeconds !== null ? intervalSeconds * 1000 : null;
    const enabled = patch.enabled ?? current.enabled;
    const rescheduled = cron !== current.cron || timezone !== current.timezone || intervalMs !== current.intervalMs || (enabled && !current.enabled);
    const now = new Date(this.deps.clock.now());
    const fields = { cron, timezone, intervalMs };
    const nextRunAt = !enabled ? null : rescheduled ? nextHeartbeatAt(scheduleOf(fields), now) : current.nextRunAt;
    const changes = { name: patch.name ?? current.name, prompt: patch.prompt ?? current.prompt, ...fields, enabled, nextRunAt, updatedAt: now };
    let rows: HeartbeatRow[];
    try {
      [rows] = await this.db.batch([
        this.db.update(heartbeats).set(changes).where(eq(heartbeats.id, current.id)).returning(),
        this.deps.changes.record('heartbeat', current.agent),
      ]);
    } catch (error) {
      if (isNameClash(error)) throw heartbeatExists(current.agent, changes.name);
      throw error;
    }
    if (rows.length === 0) throw heartbeatNotFound(current.agent, ref);
    await this.deps.scheduler.reschedule();
    return toHeartbeat(rows[0]!);
  }

  async delete(agentName: string, ref: string): Promise<Heartbeat> {
    const current = await this.row(agentName, ref);
    const [rows] = await this.db.batch([
      this.db.delete(heartbeats).where(eq(heartbeats.id, current.id)).returning(),
      this.deps.changes.record('heartbeat', current.agent),
    ]);
    if (rows.length === 0) throw heartbeatNotFound(current.agent, ref);
    await this.deps.scheduler.reschedule();
    return toHeartbeat(rows[0]!);
  }

  /** A deleted agent's heartbeats go with it. */
  /** The agent's heartbeats go with it (src/services/agents.ts, delete); the timer is re-armed afterwards. */
  async deletionOf(agent: string): Promise<AgentDeletion> {
    return {
      statements: [this.db.delete(heartbeats).where(eq(heartbeats.agent, agent)), this.deps.changes.record('heartbeat', agent)],
      release: () => this.deps.scheduler.reschedule(),
    };
  }

  /** By id (hb_...) or by name, within the agent. */
  private async row(agentName: string, ref: string): Promise<HeartbeatRow> {
    const agent = (await this.deps.agents.get(agentName)).name;
    const [row] = await this.db
      .select()
      .from(heartbeats)
      .where(and(eq(heartbeats.agent, agent), or(eq(heartbeats.id, ref), eq(heartbeats.name, ref))))
      // A name can look like an id; the id wins.
      .orderBy(desc(sql`${heartbeats.id} = ${ref}`))
      .limit(1);
    if (!row) throw heartbeatNotFound(agent, ref);
    return row;
  }
}
