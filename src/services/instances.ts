/**
 * This process as an instance of the server: a row of `instances` with a lease it renews. What an instance holds
 * (its runs, its leases) is given up only when its lease has expired, by whichever process notices first, so a
 * one-off command sharing the database never touches anyone's runs, and a process killed with SIGKILL has its runs
 * failed by the survivors.
 */
import { hostname } from 'node:os';
import { and, eq, inArray, isNull, lt, notInArray, or, sql } from 'drizzle-orm';
import { newId } from '../domain/ids.ts';
import type { Db } from '../db/client.ts';
import { instances, leases, runs } from '../db/schema.ts';

export interface InstanceSettings {
  /** How long a lease lasts without renewal. */
  leaseMs: number;
  /** How often the lease is renewed (and, on a server, expired instances are looked for). */
  renewMs: number;
}

/** A run failed because the process running it went away. */
export interface ReapedRun {
  id: string;
  agent: string;
}

export const INTERRUPTED = { code: 'INTERNAL_ERROR', message: 'The server process running this run stopped before it ended' } as const;

export class Instances {
  private current: string | null = null;
  private starting: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly settings: InstanceSettings,
    /** Told of the runs it failed, so their streams end (run.failed events). */
    private readonly onReaped: (runs: ReapedRun[]) => Promise<void>,
  ) {}

  /** This process's instance id, or null before it registered (a one-off command that runs no turn never does). */
  get id(): string | null {
    return this.current;
  }

  /**
   * Registers this process and renews its lease from now on; a server (`reaper`) also fails the runs of expired
   * instances at each renewal. Idempotent: the first call registers, later ones return the same id.
   */
  register(kind: 'server' | 'cli', options: { reaper: boolean }): Promise<string> {
    this.starting ??= (async () => {
      const id = newId('inst');
      const now = Date.now();
      await this.db.insert(instances).values({
        id, kind, hostname: hostname(), pid: process.pid, startedAt: new Date(now), renewedAt: new Date(now), expiresAt: new Date(now + this.settings.leaseMs),
      });
      this.current = id;
      if (options.reaper) await this.reap();
      this.timer = setInterval(() => void this.tick(options.reaper).catch(() => undefined), this.settings.renewMs);
      this.timer.unref();
      return id;
    })();
    return this.starting;
  }

  /** Whether an instance still holds its lease. */
  async alive(id: string | null): Promise<boolean> {
    if (id === null) return false;
    if (id === this.current) return true;
    const [row] = await this.db.select({ expiresAt: instances.expiresAt }).from(instances).where(eq(instances.id, id)).limit(1);
    return row !== undefined && row.expiresAt.getTime() > Date.now();
  }

  /**
   * Fails the runs of every instance whose lease expired (and runs no live instance owns: left by a version before
   * instances, or by a process that never registered), releases their leases and forgets them.
   */
  async reap(): Promise<ReapedRun[]> {
    const now = new Date();
    const expired = (await this.db.select({ id: instances.id }).from(instances).where(lt(instances.expiresAt, now))).map((row) => row.id);
    const live = this.db.select({ id: instances.id }).from(instances).where(sql`${instances.expiresAt} >= ${now.getTime()}`);
    const reaped = await this.db
      .update(runs)
      .set({ status: 'failed', error: INTERRUPTED, completedAt: now })
      .where(and(inArray(runs.status, ['queued', 'running']), or(isNull(runs.instanceId), notInArray(runs.instanceId, live))))
      .returning({ id: runs.id, agent: runs.agent });
    if (expired.length) {
      await this.db.batch([this.db.delete(leases).where(inArray(leases.holder, expired)), this.db.delete(instances).where(inArray(instances.id, expired))]);
    }
    if (reaped.length) await this.onReaped(reaped);
    return reaped;
  }

  /** Forgets this instance (a clean stop, once its runs have ended): what it held is free at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const id = this.current;
    if (id === null) return;
    this.current = null;
    await this.db.batch([this.db.delete(leases).where(eq(leases.holder, id)), this.db.delete(instances).where(eq(instances.id, id))]);
  }

  private async tick(reaper: boolean): Promise<void> {
    if (this.current === null) return;
    const now = Date.now();
    await this.db
      .update(instances)
      .set({ renewedAt: new Date(now), expiresAt: new Date(now + this.settings.leaseMs) })
      .where(eq(instances.id, this.current));
    if (reaper) await this.reap();
  }
}
