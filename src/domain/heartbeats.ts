/** Heartbeats: per-agent schedules (cron in a time zone, or a fixed interval) that start a run with a prompt. */
import { Cron } from 'croner';
import { z } from 'zod';
import { Pagination, PaginationInput, Slug } from './common.ts';

export const DEFAULT_TIMEZONE = 'UTC';
const MAX_INTERVAL_SECONDS = 366 * 24 * 3600;

/** The schedule of a heartbeat: exactly one of the two kinds. */
export type HeartbeatSchedule = { cron: string; timezone: string } | { intervalSeconds: number };

/** The IANA name as the runtime spells it (`europe/paris` -> `Europe/Paris`), or undefined for an unknown zone. */
export function canonicalTimezone(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Why a cron expression cannot be used, or undefined when it can. Five fields (minute resolution) or an @nickname. */
export function cronProblem(expression: string, timezone: string = DEFAULT_TIMEZONE): string | undefined {
  const trimmed = expression.trim();
  if (!trimmed.startsWith('@') && trimmed.split(/\s+/).length !== 5) {
    return `'${expression}' is not a cron expression: use five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1-5", or @hourly, @daily, @weekly, @monthly`;
  }
  try {
    const next = new Cron(trimmed, { timezone, paused: true }).nextRun();
    return next ? undefined : `'${expression}' never fires`;
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern:\s*/, '');
    return `'${expression}' is not a valid cron expression: ${reason}`;
  }
}

/**
 * When a heartbeat fires next, strictly after `after`: the next cron slot in its time zone, or `after` plus the
 * interval. Always counted from `after` (the time it fired, or now), never from missed slots, so a server that
 * was down does not fire a backlog.
 */
export function nextHeartbeatAt(schedule: HeartbeatSchedule, after: Date): Date | null {
  if ('intervalSeconds' in schedule) return new Date(after.getTime() + schedule.intervalSeconds * 1000);
  return new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }).nextRun(after);
}

const HeartbeatName = Slug.describe('Unique per agent.');
const Prompt = z.string().min(1).max(32_000).describe('The message the heartbeat starts each run with.');
const CronExpression = z
  .string()
  .min(1)
  .max(200)
  .superRefine((expression, ctx) => {
    const problem = cronProblem(expression);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('Five-field cron expression (minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly/@yearly.');
const Timezone = z
  .string()
  .min(1)
  .max(100)
  .refine((zone) => canonicalTimezone(zone) !== undefined, { message: 'is not a known IANA time zone, e.g. "Europe/Paris" or "UTC"' })
  .describe(`IANA time zone the cron expression is read in; default ${DEFAULT_TIMEZONE}. Only with cron.`);
const IntervalSeconds = z.number().int().min(1).max(MAX_INTERVAL_SECONDS).describe('Fire every this many seconds (counted from creation, then from each firing).');

interface ScheduleFields {
  cron?: string | null;
  timezone?: string | null;
  interval_seconds?: number | null;
}

/**
 * Checks what the field schemas cannot see alone (input schemas carry no object-level refinements, so their
 * path and body halves can be split for OpenAPI): one kind of schedule, a zone only with cron, and a cron
 * expression that fires in that zone. Applied to a create, and to a heartbeat as a patch would leave it.
 */
export function scheduleIssues(fields: ScheduleFields): Array<{ path: string; message: string }> {
  const hasCron = fields.cron != null;
  const hasInterval = fields.interval_seconds != null;
  if (hasCron && hasInterval) return [{ path: 'cron', message: 'give either cron or interval_seconds, not both' }];
  if (!hasCron && !hasInterval) return [{ path: 'cron', message: 'give a schedule: cron (with an optional timezone) or interval_seconds' }];
  if (!hasCron && fields.timezone != null) return [{ path: 'timezone', message: 'timezone applies to cron schedules only' }];
  if (hasCron) {
    const problem = cronProblem(fields.cron!, fields.timezone ?? DEFAULT_TIMEZONE);
    if (problem) return [{ path: 'cron', message: problem }];
  }
  return [];
}

export const HeartbeatCreate = z
  .strictObject({
    name: HeartbeatName,
    prompt: Prompt,
    cron: CronExpression.optional(),
    timezone: Timezone.optional(),
    interval_seconds: IntervalSeconds.optional(),
    enabled: z.boolean().default(true),
  })
  .describe('Exactly one of cron (with an optional timezone) or interval_seconds.');
export type HeartbeatCreate = z.infer<typeof HeartbeatCreate>;

export const HeartbeatPatch = z
  .strictObject({
    name: HeartbeatName.optional(),
    prompt: Prompt.optional(),
    cron: CronExpression.optional().describe('Switches the heartbeat to this cron schedule.'),
    timezone: Timezone.optional(),
    interval_seconds: IntervalSeconds.optional().describe('Switches the heartbeat to this interval.'),
    enabled: z.boolean().optional(),
  })
  .describe('Fields given replace the current ones; a new schedule is counted from now.');
export type HeartbeatPatch = z.infer<typeof HeartbeatPatch>;

export const Heartbeat = z
  .object({
    id: z.string().describe('hb_ + UUIDv7.'),
    agent_id: z.string(),
    name: z.string(),
    prompt: z.string(),
    cron: z.string().nullable(),
    timezone: z.string().nullable().describe('Set for cron schedules.'),
    interval_seconds: z.number().int().nullable(),
    enabled: z.boolean(),
    next_run_at: z.date().nullable().describe('When it fires next; null while disabled.'),
    last_run_at: z.date().nullable(),
    last_run_id: z.string().nullable().describe('The run it started last.'),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Heartbeat' });
export type Heartbeat = z.infer<typeof Heartbeat>;

export const HeartbeatList = z.object({ heartbeats: z.array(Heartbeat), pagination: Pagination }).meta({ id: 'HeartbeatList' });
export type HeartbeatList = z.infer<typeof HeartbeatList>;

export const HeartbeatRef = z.object({ id: z.string().min(1).max(100).describe('Heartbeat id (hb_...) or its name.') });
export const HeartbeatListInput = PaginationInput;
export const HeartbeatDeleted = z.object({ id: z.string(), status: z.literal('deleted') }).meta({ id: 'HeartbeatDeleted' });
