/**
 * Named leases: one holder at a time among the processes sharing the database (the poller of a Telegram bot). A
 * lease is held by an instance (instances.id) until it is released, expires unrenewed, or its instance is reaped.
 */
import { and, eq, lte, or } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { leases } from '../db/schema.ts';

export class Leases {
  constructor(
    private readonly db: Db,
    /** This process's instance id; null before it registered, and then it holds nothing. */
    private readonly holder: () => string | null,
  ) {}

  /**
   * Takes the lease for `durationMs` when it is free, expired or already ours (which renews it), in one conditional
   * statement, so two processes racing for it cannot both win. False when another holds it.
   */
  async acquire(name: string, durationMs: number): Promise<boolean> {
    const holder = this.holder();
    if (holder === null) return false;
    const now = Date.now();
    const expiresAt = new Date(now + durationMs);
    const taken = await this.db
      .insert(leases)
      .values({ name, holder, expiresAt })
      .onConflictDoUpdate({ target: leases.name, set: { holder, expiresAt }, setWhere: or(eq(leases.holder, holder), lte(leases.expiresAt, new Date(now))) })
      .returning({ name: leases.name });
    return taken.length > 0;
  }

  /** Gives the lease up if this process holds it. */
  async release(name: string): Promise<void> {
    const holder = this.holder();
    if (holder === null) return;
    await this.db.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, holder)));
  }
}
