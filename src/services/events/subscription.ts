/**
 * One subscriber of the event bus: a bounded live queue, and catch-up from the audit log when it
 * resumes after an event or falls behind, so that it never blocks the bus and never misses an event.
 */
import type { EventEnvelope, EventFilter } from '../../domain/events.ts';
import type { StoredEvent } from './log.ts';

/** What a subscription needs from the bus. */
export interface SubscriptionSource {
  /** The position of the last event handed to subscribers; every event up to it is in the log. */
  readonly lastDeliveredSeq: number;
  read(filter: EventFilter, afterSeq: number, throughSeq: number, limit: number): Promise<StoredEvent[]>;
  seqOf(eventId: string): Promise<number | undefined>;
  remove(subscription: Subscription): void;
}

export interface SubscribeOptions {
  /** Replay the log after this event (SSE Last-Event-ID), then continue live. An unknown id starts live. */
  afterEventId?: string;
  /** Replay the log after this position, then continue live. */
  afterSeq?: number;
  /** Ends the subscription. */
  signal?: AbortSignal;
}

const CATCH_UP_PAGE = 500;

export class Subscription implements AsyncIterableIterator<EventEnvelope> {
  private readonly eventTypes: ReadonlySet<string> | undefined;
  private queue: StoredEvent[] = [];
  private overflowed = false;
  private replay: StoredEvent[] = [];
  private catchingUp: boolean;
  private resumeEventId: string | undefined;
  /** Position of the last event handed to the consumer. */
  private cursor: number;
  private wake: (() => void) | undefined;
  private detach: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly source: SubscriptionSource,
    private readonly filter: EventFilter,
    private readonly queueSize: number,
    options: SubscribeOptions = {},
  ) {
    this.eventTypes = filter.event_type?.length ? new Set(filter.event_type) : undefined;
    this.cursor = options.afterSeq ?? source.lastDeliveredSeq;
    this.resumeEventId = options.afterEventId;
    this.catchingUp = options.afterSeq !== undefined || options.afterEventId !== undefined;
    const { signal } = options;
    if (signal) {
      const onAbort = () => this.close();
      signal.addEventListener('abort', onAbort, { once: true });
      this.detach = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) this.close();
    }
  }

  matches(event: EventEnvelope): boolean {
    return (
      (this.filter.agent_id === undefined || event.agent_id === this.filter.agent_id) &&
      (this.filter.run_id === undefined || event.run_id === this.filter.run_id) &&
      (this.eventTypes === undefined || this.eventTypes.has(event.event_type))
    );
  }

  /** Called by the bus for each matching event, in log order. Never blocks: a full queue is dropped and re-read from the log. */
  push(stored: StoredEvent): void {
    if (this.closed || this.overflowed) return;
    if (this.queue.length >= this.queueSize) {
      this.overflowed = true;
      this.queue = [];
    } else {
      this.queue.push(stored);
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async next(): Promise<IteratorResult<EventEnvelope, undefined>> {
    const [event] = await this.nextBatch(1);
    return event ? { done: false, value: event } : { done: true, value: undefined };
  }

  /** Waits for events and returns every one that is ready (up to `max`), in order; [] once closed. */
  async nextBatch(max = 256): Promise<EventEnvelope[]> {
    for (;;) {
      if (this.closed) return [];
      if (this.replay.length > 0) return this.hand(this.replay.splice(0, max));
      if (this.catchingUp || this.overflowed) {
        await this.catchUp();
        continue;
      }
      const live = this.queue.splice(0, max).filter((stored) => stored.seq > this.cursor);
      if (live.length > 0) return this.hand(live);
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    }
  }

  async return(): Promise<IteratorResult<EventEnvelope, undefined>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.replay = [];
    this.source.remove(this);
    this.detach?.();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private hand(batch: StoredEvent[]): EventEnvelope[] {
    this.cursor = batch[batch.length - 1]!.seq;
    return batch.map((stored) => stored.event);
  }

  /**
   * Reads the log from the cursor up to the last delivered position (the horizon). Live events from
   * then on are buffered in the (emptied) queue, so they follow the replay with no gap and no overlap.
   */
  private async catchUp(): Promise<void> {
    if (this.resumeEventId !== undefined) {
      const seq = await this.source.seqOf(this.resumeEventId);
      if (seq !== undefined) this.cursor = seq;
      this.resumeEventId = undefined;
    }
    const horizon = this.source.lastDeliveredSeq;
    this.queue = [];
    this.overflowed = false;
    const page = this.cursor < horizon ? await this.source.read(this.filter, this.cursor, horizon, CATCH_UP_PAGE) : [];
    this.replay = page;
    this.catchingUp = page.length === CATCH_UP_PAGE;
  }
}
