/**
 * Fires heartbeats. One timer, armed for the earliest next_run_at among enabled heartbeats (re-armed whenever
 * one is created, changed or deleted); when it rings, every heartbeat due by then fires once and is rescheduled
 * from now. next_run_at lives in the database, so a restart picks up where the last process stopped, and a
 * heartbeat that missed slots while the server was down fires once, not once per missed slot.
 */
import { and, asc, eq, isNotNull, lte } from 'drizzle-orm';
import { isAppError } from '../../domain/errors.ts';
import { DEFAULT_TIMEZONE, nextHeartbeatAt, type HeartbeatSchedule } from '../../domain/heartbeats.ts';
import type { Db } from '../../db/client.ts';
import { heartbeats } from '../../db/schema.ts';
import type { EventBus } from '../events/bus.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Clock, TimerHandle } from './clock.ts';

export type HeartbeatRow = typeof heartbeats.$inferSelect;

/** setTimeout's ceiling (about 24.8 days); a later heartbeat is reached by re-arming on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** After a failed pass (the database unreachable), try again this much later. */
const RETRY_MS = 60_000;

export function scheduleOf(row: Pick<HeartbeatRow, 'cron' | 'timezone' | 'intervalMs'>): HeartbeatSchedule {
  return row.cron !== null ? { cron: row.cron, timezone: row.timezone ?? DEFAULT_TIMEZONE } : { intervalSeconds: Math.round((row.intervalMs ?? 0) / 1000) };
}

export interface SchedulerDeps {
  db: Db;
  runtime: Runtime;
  events: EventBus;
  clock: Clock;
}

export class HeartbeatScheduler {
  private timer: TimerHandle | undefined;
  private started = false;
  private closed = false;
  /** Passes run one after another: a change made during a pass is seen by the next. */
  private passes: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SchedulerDeps) {}

  /** Starts firing (the API server calls it; one-off commands sharing the database never fire heartbeats). */
  start(): Promise<void> {
    this.started = true;
    return this.reschedule();
  }

  /** Fires whatever is due now and re-arms the timer; call after any change to the heartbeats table. */
  reschedule(): Promise<void> {
    if (!this.started || this.closed) return Promise.resolve();
    this.passes = this.passes.then(() => this.pass());
    return this.passes;
  }

  /** Resolves once the passes asked for so far have run (tests: after moving the clock). */
  idle(): Promise<void> {
    return this.passes;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.disarm();
    await this.passes;
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    this.disarm();
    try {
      const now = this.deps.clock.now();
      const due = await this.deps.db
        .select()
        .from(heartbeats)
        .where(and(eq(heartbeats.enabled, true), lte(heartbeats.nextRunAt, new Date(now))))
        .orderBy(asc(heartbeats.nextRunAt));
      for (const row of due) {
        if (this.closed) return;
        await this.fire(row, now);
      }
      const [next] = await this.deps.db
        .select({ at: heartbeats.nextRunAt })
        .from(heartbeats)
        .where(and(eq(heartbeats.enabled, true), isNotNull(heartbeats.nextRunAt)))
        .orderBy(asc(heartbeats.nextRunAt))
        .limit(1);
      if (next?.at) this.arm(next.at.getTime() - this.deps.clock.now());
    } catch {
      if (!this.closed) this.arm(RETRY_MS);
    }
  }

  private arm(delayMs: number): void {
    if (this.closed) return;
    this.timer = this.deps.clock.setTimer(() => {
      this.timer = undefined;
      void this.reschedule();
    }, Math.min(Math.max(delayMs, 0), MAX_TIMER_MS));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private async fire(row: HeartbeatRow, now: number): Promise<void> {
    const next = nextHeartbeatAt(scheduleOf(row), new Date(now));
    // Moving next_run_at on first, guarded by the value read, claims this slot: a heartbeat changed or deleted
    // since it was read is left alone, and a crash after this point skips the slot rather than repeating it.
    const claimed = await this.deps.db
      .update(heartbeats)
      .set({ nextRunAt: next })
      .where(and(eq(heartbeats.id, row.id), eq(heartbeats.nextRunAt, row.nextRunAt!)))
      .returning({ id: heartbeats.id });
    if (claimed.length === 0) return;

    const payload = { heartbeat_id: row.id, name: row.name, scheduled_at: row.nextRunAt!.toISOString(), next_run_at: next?.toISOString() ?? null };
    try {
      // The heartbeat's own session: its runs see what the earlier ones did, and a run still going makes
      // the runtime answer SESSION_BUSY, which skips this slot instead of stacking runs up.
      const handle = await this.deps.runtime.start({ agent: row.agent, message: row.prompt, session_id: row.id, source: 'heartbeat' });
      await this.deps.db.update(heartbeats).set({ lastRunAt: new Date(now), lastRunId: handle.run.id }).where(eq(heartbeats.id, row.id));
      await this.emitFired(row, { ...payload, status: 'started', run_id: handle.run.id });
    } catch (error) {
      if (isAppError(error) && error.code === 'SESSION_BUSY') {
        await this.emitFired(row, { ...payload, status: 'skipped', reason: 'previous_run_active', run_id: error.details?.run_id ?? null });
      } else {
        const failure = isAppError(error) ? { code: error.code, message: error.message } : { code: 'INTERNAL_ERROR', message: 'The run could not be started' };
        await this.emitFired(row, { ...payload, status: 'failed', run_id: null, error: failure });
      }
    }
  }

  private async emitFired(row: HeartbeatRow, payload: Record<string, unknown>): Promise<void> {
    await this.deps.events.emit({ agent_id: row.agent, run_id: null, event_type: 'heartbeat.fired', payload });
  }
}
