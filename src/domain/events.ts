/** Events (seed 004): the catalogue of event types, the envelope, and the stream and audit filters. */
import { z } from 'zod';
import { AppError } from './errors.ts';

export const EVENT_TYPES = [
  'run.started',
  'run.completed',
  'run.failed',
  'run.cancelled',
  'message.user',
  'message.assistant',
  'message.system',
  'model.request',
  'model.response',
  'model.stream',
  'primitive.called',
  'primitive.result',
  'skill.invoked',
  'skill.completed',
  'memory.stored',
  'memory.recalled',
  'vault.accessed',
  'vault.denied',
  'heartbeat.fired',
  'heartbeat.created',
  'subagent.spawned',
  'subagent.completed',
  'approval.requested',
  'approval.decided',
  'security.violation',
  'security.redacted',
  'channel.message_received',
  'channel.message_sent',
] as const;

export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;

/** Events that end a run: after them the run's sequence counter is no longer needed in memory. */
export const RUN_END_EVENTS: ReadonlySet<string> = new Set<EventType>(['run.completed', 'run.failed', 'run.cancelled']);

export const EventEnvelope = z
  .object({
    event_id: z.string().describe('evt_ + UUIDv7; also the SSE `id:` and the Last-Event-ID to resume after.'),
    timestamp: z.date(),
    agent_id: z.string().nullable().describe('Agent that generated the event; null for system events.'),
    run_id: z.string().nullable().describe('Run context; null for system events.'),
    sequence: z
      .number()
      .int()
      .min(1)
      .describe('Monotonically increasing per run (events with no run share one system-wide counter).'),
    event_type: z.string().describe(`One of: ${EVENT_TYPES.join(', ')}.`),
    payload: z.record(z.string(), z.unknown()).describe('Event-specific data, with secrets replaced by [REDACTED].'),
  })
  .meta({ id: 'Event' });
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** Characters of a tool's output kept in its result event; the run's step keeps the whole output. */
export const TOOL_OUTPUT_EVENT_CHARS = 4000;

/** A tool call as primitive.called / skill.invoked record it; `id` is null for a call made over the API, outside any run. */
export interface ToolCallRecord {
  id: string | null;
  name: string;
  kind: 'primitive' | 'skill' | 'mcp';
  arguments: unknown;
}

/** The events of a tool call: skills have their own, every other tool (memory, MCP, sub-agents) is a primitive. */
export function toolEventTypes(kind: ToolCallRecord['kind']): { called: EventType; result: EventType } {
  return kind === 'skill' ? { called: 'skill.invoked', result: 'skill.completed' } : { called: 'primitive.called', result: 'primitive.result' };
}

/** What a call whose tool threw answers: the message of an expected failure (an AppError), never internals. */
export function toolFailureOutput(error: unknown): string {
  return `Error: ${error instanceof AppError ? error.message : 'the tool failed'}`;
}

/** The payload of primitive.called and skill.invoked, for a run's calls and the API's alike (`args`, as seed 004 names them). */
export function toolCalledPayload(call: ToolCallRecord): Record<string, unknown> {
  return { tool_call_id: call.id, name: call.name, kind: call.kind, args: call.arguments };
}

/** The payload of primitive.result and skill.completed, for a run's calls and the API's alike. */
export function toolResultPayload(call: ToolCallRecord, result: { output: string; is_error: boolean; duration_ms: number }): Record<string, unknown> {
  return {
    tool_call_id: call.id,
    name: call.name,
    kind: call.kind,
    output: result.output.slice(0, TOOL_OUTPUT_EVENT_CHARS),
    is_error: result.is_error,
    duration_ms: result.duration_ms,
  };
}

/** What a producer hands to the event bus; the bus adds id, timestamp and sequence. */
export interface EmitEvent {
  agent_id: string | null;
  run_id: string | null;
  event_type: EventType;
  payload?: Record<string, unknown>;
}

export const EventFilter = z.object({
  agent_id: z.string().min(1).optional().describe('Only events of this agent.'),
  run_id: z.string().min(1).optional().describe('Only events of this run.'),
  event_type: z
    .array(z.string().min(1))
    .optional()
    .meta({
      description: 'Only these event types; comma-separated over REST, e.g. run.started,run.completed.',
      param: { style: 'form', explode: false },
    }),
});
export type EventFilter = z.infer<typeof EventFilter>;

/** The audit cursor: opaque to callers, the base64url of the audit-log position (seq) of the last event returned. */
export function encodeCursor(seq: number): string {
  return Buffer.from(String(seq)).toString('base64url');
}

export function decodeCursor(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString();
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

export const AuditQuery = EventFilter.extend({
  since: z.date().optional().describe('Only events at or after this time (ISO 8601).'),
  until: z.date().optional().describe('Only events at or before this time (ISO 8601).'),
  limit: z.number().int().min(1).max(1000).default(100).describe('Most events to return (1-1000).'),
  cursor: z
    .string()
    .min(1)
    .max(24)
    .regex(/^[\w-]+$/, 'is not a cursor returned by this API')
    .refine((cursor) => decodeCursor(cursor) !== undefined, 'is not a cursor returned by this API')
    .optional()
    .describe('next_cursor of the previous page.'),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditPage = z
  .object({
    events: z.array(EventEnvelope).describe('Oldest first.'),
    next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
  })
  .meta({ id: 'AuditPage' });
export type AuditPage = z.infer<typeof AuditPage>;
