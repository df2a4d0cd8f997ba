/**
 * The event bus: every event is redacted, stored in the audit log, and only then delivered to live
 * subscribers. Writes are batched (events emitted while a write is in flight go in the next one), so
 * per-token model.stream events stay cheap; delivery follows log order.
 *
 * Several processes may share the log. Before each batch is redacted the bus catches up with the change feed
 * (`beforeWrite`), so a secret set through any process is known here first. Delivery follows the log's positions
 * across processes: events other processes stored between two of ours are read and delivered before ours, and a
 * serving process reads what others stored while it was idle (`follow`), so its subscribers see every run's events.
 */
import type { InStatement } from '@libsql/client';
import type { Db } from '../../db/client.ts';
import {
  encodeCursor,
  decodeCursor,
  RUN_END_EVENTS,
  type AuditPage,
  type AuditQuery,
  type EmitEvent,
  type EventEnvelope,
  type EventFilter,
} from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import type { Redactor } from '../redaction.ts';
import { EventLog, MAX_APPEND_ROWS, type StoredEvent } from './log.ts';
import { Subscription, type SubscribeOptions, type SubscriptionSource } from './subscription.ts';

export type { SubscribeOptions } from './subscription.ts';
export type { Subscription } from './subscription.ts';

export interface EventBusOptions {
  /** Live events a subscriber may have waiting before it falls back to reading the log. */
  queueSize?: number;
  /** Keep-alive comment interval of event streams (SSE), in milliseconds. */
  keepAliveMs?: number;
}

interface Pending {
  event: EventEnvelope;
  /** Secrets replaced before the event got here (see emit). */
  redactedBefore: number;
  /** Writes stored in the transaction that stores the event (see emit). */
  alongside?: InStatement[];
  resolve(event: EventEnvelope): void;
  reject(error: unknown): void;
}

/** Other processes' events are read this many at a time. */
const FOLLOW_PAGE = 500;

/** Sequence counters of recent runs kept in memory; others are read back from the log when needed. */
const MAX_RUN_COUNTERS = 10_000;

export class EventBus implements SubscriptionSource {
  readonly options: Required<EventBusOptions>;
  private readonly log: EventLog;
  private readonly subscribers = new Set<Subscription>();
  /** run_id (null: the system stream) -> last sequence used. */
  private readonly sequences = new Map<string | null, number>();
  private pending: Pending[] = [];
  private writing = false;
  private idle: Promise<void> = Promise.resolve();
  private signalIdle: () => void = () => undefined;
  private closed = false;
  private deliveredSeq = 0;
  /** Whether a read of other processes' events is due. */
  private followWanted = false;
  private followTimer: NodeJS.Timeout | undefined;

  private constructor(
    db: Db,
    private readonly redactor: Redactor,
    options: EventBusOptions,
    /** Runs before each batch is redacted: the change feed's catch-up, so the redactor knows every secret set anywhere. */
    private readonly beforeWrite: () => Promise<void>,
  ) {
    this.log = new EventLog(db);
    this.options = { queueSize: options.queueSize ?? 1000, keepAliveMs: options.keepAliveMs ?? 15_000 };
  }

  /** Opens the bus where the log left off, so positions and sequences continue across restarts. */
  static async open(db: Db, redactor: Redactor, options: EventBusOptions = {}, beforeWrite: () => Promise<void> = async () => undefined): Promise<EventBus> {
    const bus = new EventBus(db, redactor, options, beforeWrite);
    bus.deliveredSeq = await bus.log.lastSeq();
    return bus;
  }

  /** Reads, every `intervalMs`, the events other processes stored, and delivers them here (the servers). */
  follow(intervalMs: number): void {
    if (this.followTimer || this.closed) return;
    this.followTimer = setInterval(() => {
      this.followWanted = true;
      this.schedule();
    }, intervalMs);
    this.followTimer.unref();
  }

  /**
   * Redacts, stores, then delivers one event; resolves with the stored envelope. When redaction
   * replaced anything, a security.redacted event (its id and the count, never the value) follows it.
   * `redactedBefore` counts what was replaced in the payload before it got here (model text is redacted as it
   * streams, a secret split across chunks included), so those replacements are reported too. `alongside` are writes
   * stored in the same transaction as the event (a run's end with its closing event: one commit, not two).
   */
  async emit(input: EmitEvent, redactedBefore = 0, alongside?: InStatement[]): Promise<EventEnvelope> {
    if (this.closed) throw new Error('The event bus is closed');
    // A JSON round trip makes the live payload what the log stores and what readers get back.
    const payload = JSON.parse(JSON.stringify(input.payload ?? {})) as Record<string, unknown>;
    const event: EventEnvelope = {
      event_id: newId('evt'),
      timestamp: new Date(),
      agent_id: input.agent_id,
      run_id: input.run_id,
      sequence: 0,
      event_type: input.event_type,
      payload,
    };
    return new Promise((resolve, reject) => {
      this.pending.push({ event, redactedBefore, alongside, resolve, reject });
      this.schedule();
    });
  }

  /** Live events matching the filter, optionally replaying the log after a given event first. */
  subscribe(filter: EventFilter, options: SubscribeOptions = {}): Subscription {
    const subscription = new Subscription(this, filter, this.options.queueSize, options);
    if (!this.closed && !options.signal?.aborted) this.subscribers.add(subscription);
    else subscription.close();
    return subscription;
  }

  /** The audit log, oldest first, one page at a time. */
  async query(query: AuditQuery): Promise<AuditPage> {
    const afterSeq = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.log.read(query, { afterSeq, since: query.since, until: query.until }, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      events: page.map((row) => row.event),
      next_cursor: rows.length > query.limit && last ? encodeCursor(last.seq) : null,
    };
  }

  get lastDeliveredSeq(): number {
    return this.deliveredSeq;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Ends every subscription and waits for events already emitted to be stored and delivered. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.followTimer);
    for (const subscription of [...this.subscribers]) subscription.close();
    await this.idle;
  }

  read(filter: EventFilter, afterSeq: number, throughSeq: number, limit: number): Promise<StoredEvent[]> {
    return this.log.read(filter, { afterSeq, throughSeq }, limit);
  }

  seqOf(eventId: string): Promise<number | undefined> {
    return this.log.seqOf(eventId);
  }

  /** Declares a run that has no events yet, so its first one needs no look-up of earlier sequences. */
  startRun(runId: string): void {
    this.rememberSequence(runId, 0);
  }

  /**
   * Forgets the last sequence of a run this process knows, so its next event here reads it from the log: a run paused
   * awaiting approval has events written by other processes (the decision, the resumed run) before it goes on here.
   */
  forgetRun(runId: string): void {
    this.sequences.delete(runId);
  }

  remove(subscription: Subscription): void {
    this.subscribers.delete(subscription);
  }

  /** Starts a drain on the next turn of the event loop, so events emitted together share one write. */
  private schedule(): void {
    if (this.writing) return;
    this.writing = true;
    this.idle = new Promise((done) => (this.signalIdle = done));
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.followWanted) {
      if (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_APPEND_ROWS / 2);
        try {
          await this.write(batch);
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      } else {
        this.followWanted = false;
        await this.deliverOthers().catch(() => undefined);
      }
    }
    this.writing = false;
    this.signalIdle();
  }

  private async write(batch: Pending[]): Promise<void> {
    await this.beforeWrite().catch(() => undefined);
    const rows: Pending[] = [];
    for (const item of batch) {
      const redacted = this.redactor.redact(item.event.payload);
      item.event.payload = redacted.value;
      rows.push(item);
      const count = redacted.count + item.redactedBefore;
      // A security.redacted event (its id and the count, never the value) follows an event where secrets were replaced.
      if (count > 0) {
        const notice: EventEnvelope = { ...item.event, event_id: newId('evt'), event_type: 'security.redacted', payload: { event_id: item.event.event_id, count } };
        rows.push({ event: notice, redactedBefore: 0, resolve: () => undefined, reject: () => undefined });
      }
    }
    const next = new Map<string, number>();
    for (const { event } of rows) {
      // The system stream (events of no run) is numbered by the log itself, as every process writes to it.
      const key = event.run_id;
      if (key === null) continue;
      let last = next.get(key) ?? this.sequences.get(key);
      if (last === undefined) last = await this.log.lastSequence(key);
      event.sequence = last + 1;
      next.set(key, event.sequence);
    }
    const stored = await this.log.append(
      rows.map((item) => item.event),
      batch.flatMap((item) => item.alongside ?? []),
    );
    for (const [key, sequence] of next) this.rememberSequence(key, sequence);
    // Whatever other processes stored before these is delivered first, so every subscriber sees the log's order.
    await this.deliverOthers(stored[0]!.seq);
    rows.forEach(({ event, resolve }, index) => {
      const { seq, sequence } = stored[index]!;
      event.sequence = sequence;
      if (event.run_id !== null && RUN_END_EVENTS.has(event.event_type)) this.sequences.delete(event.run_id);
      this.deliver({ seq, event });
      resolve(event);
    });
  }

  /** Reads and delivers the events stored after the last one delivered here (by other processes), up to `beforeSeq`. */
  private async deliverOthers(beforeSeq?: number): Promise<void> {
    while (beforeSeq === undefined || this.deliveredSeq + 1 < beforeSeq) {
      const through = beforeSeq === undefined ? undefined : beforeSeq - 1;
      const page = await this.log.read({}, { afterSeq: this.deliveredSeq, ...(through === undefined ? {} : { throughSeq: through }) }, FOLLOW_PAGE);
      for (const stored of page) this.deliver(stored);
      if (page.length < FOLLOW_PAGE) {
        // Positions skipped by a write that failed are never filled: past them, ours come next.
        if (through !== undefined) this.deliveredSeq = Math.max(this.deliveredSeq, through);
        return;
      }
    }
  }

  private deliver(stored: StoredEvent): void {
    this.deliveredSeq = stored.seq;
    for (const subscriber of this.subscribers) if (subscriber.matches(stored.event)) subscriber.push(stored);
  }

  private rememberSequence(key: string | null, sequence: number): void {
    this.sequences.delete(key);
    this.sequences.set(key, sequence);
    if (this.sequences.size <= MAX_RUN_COUNTERS) return;
    for (const oldest of this.sequences.keys()) {
      if (oldest !== null) {
        this.sequences.delete(oldest);
        return;
      }
    }
  }
}
