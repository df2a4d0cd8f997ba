/** The audit log: the events table, appended in batches and read by position (seq), filter and time. */
import { and, asc, desc, eq, gt, gte, inArray, isNull, lte, max, sql, type SQL } from 'drizzle-orm';
import type { InStatement, InValue } from '@libsql/client';
import type { Db } from '../../db/client.ts';
import { events } from '../../db/schema.ts';
import type { EventEnvelope, EventFilter } from '../../domain/events.ts';

/** An event with its position in the log, which orders all events and is the resume/paging cursor. */
export interface StoredEvent {
  seq: number;
  event: EventEnvelope;
}

export interface LogRange {
  /** Only events after this position. */
  afterSeq?: number;
  /** Only events up to and including this position. */
  throughSeq?: number;
  since?: Date;
  until?: Date;
}

type EventRow = typeof events.$inferSelect;

function toStored(row: EventRow): StoredEvent {
  return {
    seq: row.seq,
    event: {
      event_id: row.eventId,
      timestamp: row.timestamp,
      agent_id: row.agentId,
      run_id: row.runId,
      sequence: row.sequence,
      event_type: row.eventType,
      payload: row.payload,
    },
  };
}

function conditions(filter: EventFilter, range: LogRange): SQL | undefined {
  return and(
    filter.agent_id === undefined ? undefined : eq(events.agentId, filter.agent_id),
    filter.run_id === undefined ? undefined : eq(events.runId, filter.run_id),
    filter.event_type?.length ? inArray(events.eventType, filter.event_type) : undefined,
    range.afterSeq === undefined ? undefined : gt(events.seq, range.afterSeq),
    range.throughSeq === undefined ? undefined : lte(events.seq, range.throughSeq),
    range.since === undefined ? undefined : gte(events.timestamp, range.since),
    range.until === undefined ? undefined : lte(events.timestamp, range.until),
  );
}

const INSERT_EVENTS = 'INSERT INTO events (event_id, timestamp, agent_id, run_id, sequence, event_type, payload) VALUES ';
const RUN_ROW = '(?, ?, ?, ?, ?, ?, ?)';
/** The system stream (no run) is numbered by the log itself: its last sequence + 1, seen by each row in turn. */
const SYSTEM_ROW = '(?, ?, ?, ?, (SELECT coalesce((SELECT sequence FROM events WHERE run_id IS NULL ORDER BY seq DESC LIMIT 1), 0) + 1), ?, ?)';

/** SQLite allows 32,766 bound values per statement; 8 columns per row. */
export const MAX_APPEND_ROWS = 500;

export class EventLog {
  constructor(private readonly db: Db) {}

  /**
   * Appends events in one transaction and returns, in order, each one's position and sequence. Run events keep the
   * sequence they carry (one process runs a run); an event of no run is numbered here, from the log, as every
   * process writes to that stream: one statement each, so each sees the one before. `alongside` runs first, in the
   * same transaction.
   */
  async append(batch: EventEnvelope[], alongside: InStatement[] = []): Promise<Array<{ seq: number; sequence: number }>> {
    const statements: Array<{ rows: EventEnvelope[] }> = [];
    for (const event of batch) {
      const last = statements.at(-1);
      if (event.run_id !== null && last && last.rows[0]!.run_id !== null) last.rows.push(event);
      else statements.push({ rows: [event] });
    }
    // Written as SQL text rather than built by drizzle per batch: the same statement drizzle made, without its cost.
    const results = await this.db.$client.batch([
      // Other writes that belong with these events (a run's end with its closing event), in the same transaction.
      ...alongside,
      ...statements.map(({ rows }) => {
        const args: InValue[] = [];
        for (const event of rows) {
          args.push(event.event_id, event.timestamp.getTime(), event.agent_id, event.run_id);
          if (event.run_id !== null) args.push(event.sequence);
          args.push(event.event_type, JSON.stringify(event.payload));
        }
        const values = rows.map((event) => (event.run_id === null ? SYSTEM_ROW : RUN_ROW)).join(', ');
        return { sql: `${INSERT_EVENTS}${values} RETURNING seq, sequence`, args };
      }),
    ]);
    // Rows are numbered in VALUES order; RETURNING itself promises no order.
    return results.slice(alongside.length).flatMap((result) =>
      result.rows.map((row) => ({ seq: Number(row.seq), sequence: Number(row.sequence) })).toSorted((a, b) => a.seq - b.seq),
    );
  }

  async read(filter: EventFilter, range: LogRange, limit: number): Promise<StoredEvent[]> {
    const rows = await this.db.select().from(events).where(conditions(filter, range)).orderBy(asc(events.seq)).limit(limit);
    return rows.map(toStored);
  }

  async seqOf(eventId: string): Promise<number | undefined> {
    const [row] = await this.db.select({ seq: events.seq }).from(events).where(eq(events.eventId, eventId)).limit(1);
    return row?.seq;
  }

  async lastSeq(): Promise<number> {
    const [row] = await this.db.select({ seq: max(events.seq) }).from(events);
    return row?.seq ?? 0;
  }

  /** The last `sequence` of a run, or of the system stream (events with no run) for null: that of its latest row. */
  async lastSequence(runId: string | null): Promise<number> {
    const [row] = await this.db
      .select({ sequence: events.sequence })
      .from(events)
      .where(runId === null ? isNull(events.runId) : eq(events.runId, runId))
      .orderBy(desc(events.seq))
      .limit(1);
    return row?.sequence ?? 0;
  }
}
