/**
 * The change feed: how a change made by one process (or a CLI command) reaches every other process sharing the
 * database. A change is a row of `changes` (topic, key); each process reads the rows after its position, in order,
 * and hands them to the handlers of their topic. Its own changes it has applied already, so it skips them.
 *
 * A handler must not await event emission (nor anything that waits for the event bus): the bus waits for the feed
 * to catch up before it delivers, so such a handler would wait on itself. Start that work and return.
 */
import { gt, max } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { changes } from '../../db/schema.ts';

/** What changed: a topic and the key of the thing (an agent name, `agent/key` of a secret, a run id ...). */
export type ChangeTopic = 'agent' | 'secret' | 'channel' | 'webhook' | 'heartbeat' | 'mcp' | 'run.cancel' | 'approval' | 'memory';

export type ChangeHandler = (key: string) => Promise<void> | void;

/** Rows read per round; a longer backlog is read in several. */
const PAGE = 500;

export class ChangeFeed {
  private readonly handlers = new Map<ChangeTopic, ChangeHandler[]>();
  private position = 0;
  private reading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * The embedded file's `PRAGMA data_version` when the feed was last read: unchanged, no other connection (no other
   * process) has committed anything since, so no change of theirs can be waiting and the read is skipped. Undefined
   * when not known (not read yet, or a database that is not an embedded file: every catch-up reads).
   */
  private readVersion: number | undefined;

  private constructor(
    private readonly db: Db,
    /** This process's instance id; null for a one-off command, which publishes but never reads. */
    private readonly origin: () => string | null,
    /** Whether the database is an embedded file on the client's one connection, where data_version tells that. */
    private readonly localFile: boolean,
  ) {}

  /** Starts at the end of the feed: what changed before this process started is already in the database it reads. */
  static async open(db: Db, origin: () => string | null, options: { localFile?: boolean } = {}): Promise<ChangeFeed> {
    const feed = new ChangeFeed(db, origin, options.localFile ?? false);
    const [row] = await db.select({ seq: max(changes.seq) }).from(changes);
    feed.position = row?.seq ?? 0;
    return feed;
  }

  on(topic: ChangeTopic, handler: ChangeHandler): void {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
  }

  /** The statement recording a change, to run in the same batch (transaction) as the change itself. */
  record(topic: ChangeTopic, key: string) {
    return this.db.insert(changes).values({ topic, key, origin: this.origin(), at: new Date() });
  }

  /** Records a change on its own. */
  async publish(topic: ChangeTopic, key: string): Promise<void> {
    await this.record(topic, key);
  }

  /**
   * Applies every change recorded so far by other processes. Concurrent callers share one read; a caller that
   * must see a change made before it called (the event bus, before it redacts) awaits this.
   */
  catchUp(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Reads the feed every `intervalMs` from now on (the servers; a one-off command never does). */
  start(intervalMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.catchUp().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.reading?.catch(() => undefined);
  }

  private async read(): Promise<void> {
    // Taken before the rows are read: a commit by someone else after it changes it, so the next catch-up reads.
    const version = this.localFile ? Number((await this.db.$client.execute('PRAGMA data_version')).rows[0]![0]) : undefined;
    if (version !== undefined && version === this.readVersion) return;
    for (;;) {
      const rows = await this.db.select().from(changes).where(gt(changes.seq, this.position)).orderBy(changes.seq).limit(PAGE);
      const self = this.origin();
      for (const row of rows) {
        this.position = row.seq;
        if (self !== null && row.origin === self) continue;
        for (const handler of this.handlers.get(row.topic as ChangeTopic) ?? []) {
          // One handler failing (a secret that no longer decrypts) must not hold up the others or the feed.
          await Promise.resolve(handler(row.key)).catch(() => undefined);
        }
      }
      if (rows.length < PAGE) {
        this.readVersion = version;
        return;
      }
    }
  }
}
