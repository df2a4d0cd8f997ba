import { rmSync } from 'node:fs';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { nextHeartbeatAt } from '../src/domain/heartbeats.ts';
import { startServer } from '../src/http/server.ts';
import { createServices } from '../src/services/container.ts';
import type { Clock } from '../src/services/scheduler/clock.ts';
import { createApi, createTrpc, makeTempHome } from './helpers/server.ts';

const OPENAI = 'https://api.openai.test/v1';
const T0 = Date.parse('2025-01-06T07:30:00.000Z'); // a Monday, 08:30 in Paris
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A clock the test moves by hand: timers ring when time is moved past them, never on their own. */
class ManualClock implements Clock {
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  private nextHandle = 1;

  constructor(public time: number) {}

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, delayMs: number): number {
    const handle = this.nextHandle++;
    this.timers.set(handle, { at: this.time + delayMs, callback });
    return handle;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** When each armed timer rings, earliest first. */
  armed(): string[] {
    return [...this.timers.values()].map((timer) => timer.at).sort((a, b) => a - b).map(iso);
  }

  advance(ms: number): void {
    this.time += ms;
    for (const [handle, timer] of [...this.timers].sort(([, a], [, b]) => a.at - b.at)) {
      if (timer.at > this.time) continue;
      this.timers.delete(handle);
      timer.callback();
    }
  }
}

async function startAt(home: string, clock: ManualClock) {
  const config = await loadConfig({
    cwd: home,
    env: { MOXXY_HOME: home },
    overrides: {
      port: 0,
      logLevel: 'silent',
      rateLimits: { enabled: false },
      providers: { openai: { baseUrl: OPENAI, apiKey: 'test-key' }, maxRetries: 0, retryBaseDelayMs: 1 },
    },
  });
  const running = await startServer(await createServices(config, { clock }));
  return { ...running, clock, api: createApi(running.url), trpc: createTrpc(running.url) };
}
type Server = Awaited<ReturnType<typeof startAt>>;

/** Moves the server's clock and waits for the heartbeats that came due to be fired. */
async function advance(server: Server, ms: number): Promise<void> {
  server.clock.advance(ms);
  await server.services.heartbeats.idle();
}

async function waitForRun(server: Server, runId: string) {
  for (let attempt = 0; attempt < 500; attempt++) {
    const run = (await server.api.get(`/api/runs/${runId}`)).body.data;
    if (run.status !== 'running') return run;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`run ${runId} did not end`);
}

async function fired(server: Server, heartbeatId: string): Promise<Array<{ run_id: string | null; payload: any }>> {
  const res = await server.api.get('/api/audit?event_type=heartbeat.fired&limit=1000');
  return res.body.data.events.filter((event: any) => event.payload.heartbeat_id === heartbeatId);
}

const msw = setupServer();
const homes: string[] = [];
let server: Server;

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  const home = makeTempHome();
  homes.push(home);
  server = await startAt(home, new ManualClock(T0));
});
afterEach(() => msw.resetHandlers());
afterAll(async () => {
  msw.close();
  await server.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('heartbeats API', () => {
  it('creates, lists, reads (by id or name), changes and deletes a heartbeat', async () => {
    const created = await server.api.post('/api/agents/default/heartbeats', {
      name: 'morning-brief',
      prompt: 'Summarise the news',
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
    });
    expect(created.status).toBe(201);
    const heartbeat = created.body.data;
    expect(heartbeat).toEqual({
      id: expect.stringMatching(/^hb_[0-9a-f-]{36}$/),
      agent_id: 'default',
      name: 'morning-brief',
      prompt: 'Summarise the news',
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
      interval_seconds: null,
      enabled: true,
      // 09:00 in Paris is 08:00 UTC in winter: half an hour from now.
      next_run_at: '2025-01-06T08:00:00.000Z',
      last_run_at: null,
      last_run_id: null,
      created_at: iso(T0),
      updated_at: iso(T0),
    });

    const list = await server.api.get('/api/agents/default/heartbeats');
    expect(list.body.data.heartbeats.map((h: any) => h.id)).toContain(heartbeat.id);
    expect(list.body.data.pagination).toMatchObject({ limit: 50, offset: 0 });
    expect((await server.api.get(`/api/agents/default/heartbeats/${heartbeat.id}`)).body.data).toEqual(heartbeat);
    expect((await server.api.get('/api/agents/default/heartbeats/morning-brief')).body.data).toEqual(heartbeat);

    const patched = await server.api.patch(`/api/agents/default/heartbeats/${heartbeat.id}`, { interval_seconds: 3600, prompt: 'Check in' });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ cron: null, timezone: null, interval_seconds: 3600, prompt: 'Check in', next_run_at: iso(T0 + 60 * MINUTE) });

    const deleted = await server.api.delete('/api/agents/default/heartbeats/morning-brief');
    expect(deleted.body.data).toEqual({ id: heartbeat.id, status: 'deleted' });
    const gone = await server.api.get(`/api/agents/default/heartbeats/${heartbeat.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('HEARTBEAT_NOT_FOUND');
  });

  it('reads cron in the given time zone, summer time included', async () => {
    const created = await server.api.post('/api/agents/default/heartbeats', { name: 'ny-close', prompt: 'Close', cron: '30 16 * * 1-5', timezone: 'America/New_York' });
    expect(created.body.data.next_run_at).toBe('2025-01-06T21:30:00.000Z');
    const moved = await server.api.patch(`/api/agents/default/heartbeats/${created.body.data.id}`, { timezone: 'Asia/Tokyo' });
    // 16:30 in Tokyo on Monday the 6th is 07:30 UTC, which is now: the next one is Tuesday's.
    expect(moved.body.data).toMatchObject({ timezone: 'Asia/Tokyo', next_run_at: '2025-01-07T07:30:00.000Z' });
    await server.api.delete(`/api/agents/default/heartbeats/${created.body.data.id}`);
    // In July, 09:00 in Paris is 07:00 UTC.
    expect(nextHeartbeatAt({ cron: '0 9 * * *', timezone: 'Europe/Paris' }, new Date('2025-07-01T00:00:00Z'))).toEqual(new Date('2025-07-01T07:00:00Z'));
  });

  it('emits heartbeat.created', async () => {
    const created = await server.api.post('/api/agents/default/heartbeats', { name: 'announced', prompt: 'hi', interval_seconds: 300 });
    const events = (await server.api.get('/api/audit?event_type=heartbeat.created&limit=1000')).body.data.events;
    expect(events.filter((event: any) => event.payload.heartbeat_id === created.body.data.id)).toEqual([
      expect.objectContaining({
        agent_id: 'default',
        payload: { heartbeat_id: created.body.data.id, name: 'announced', cron: null, timezone: null, interval_seconds: 300, enabled: true, next_run_at: iso(T0 + 5 * MINUTE) },
      }),
    ]);
    await server.api.delete(`/api/agents/default/heartbeats/${created.body.data.id}`);
  });

  it('answers 400 VALIDATION_ERROR with a clear message for a bad schedule', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ cron: '* * * * *', interval_seconds: 60 }, 'cron', /either cron or interval_seconds, not both/],
      [{}, 'cron', /give a schedule/],
      [{ cron: '61 * * * *' }, 'cron', /not a valid cron expression: Invalid value for minute: 61/],
      [{ cron: 'every monday' }, 'cron', /use five fields/],
      [{ cron: '0 0 30 2 *' }, 'cron', /never fires/],
      [{ cron: '0 9 * * *', timezone: 'Mars/Olympus' }, 'timezone', /not a known IANA time zone/],
      [{ interval_seconds: 60, timezone: 'UTC' }, 'timezone', /timezone applies to cron schedules only/],
      [{ interval_seconds: 0 }, 'interval_seconds', /expected number to be >=1/],
    ];
    for (const [schedule, path, message] of cases) {
      const res = await server.api.post('/api/agents/default/heartbeats', { name: 'bad', prompt: 'x', ...schedule });
      expect(res.status, JSON.stringify(schedule)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.details.issues[0].path).toBe(path);
    }
    const created = await server.api.post('/api/agents/default/heartbeats', { name: 'patchable', prompt: 'x', interval_seconds: 60 });
    const badPatch = await server.api.patch(`/api/agents/default/heartbeats/${created.body.data.id}`, { timezone: 'Europe/Paris' });
    expect(badPatch.status).toBe(400);
    expect(badPatch.body.error.message).toMatch(/timezone applies to cron schedules only/);
    const badCron = await server.api.patch(`/api/agents/default/heartbeats/${created.body.data.id}`, { cron: 'nope' });
    expect(badCron.status).toBe(400);
    await server.api.delete(`/api/agents/default/heartbeats/${created.body.data.id}`);
  });

  it('answers 404 for an unknown agent or heartbeat and 409 HEARTBEAT_EXISTS for a duplicate name', async () => {
    const ghost = await server.api.post('/api/agents/ghost/heartbeats', { name: 'x', prompt: 'x', interval_seconds: 60 });
    expect(ghost.status).toBe(404);
    expect(ghost.body.error.code).toBe('AGENT_NOT_FOUND');
    expect((await server.api.get('/api/agents/ghost/heartbeats')).body.error.code).toBe('AGENT_NOT_FOUND');
    expect((await server.api.delete('/api/agents/default/heartbeats/hb_nope')).body.error.code).toBe('HEARTBEAT_NOT_FOUND');

    const first = await server.api.post('/api/agents/default/heartbeats', { name: 'twice', prompt: 'x', interval_seconds: 60 });
    const again = await server.api.post('/api/agents/default/heartbeats', { name: 'twice', prompt: 'y', interval_seconds: 60 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('HEARTBEAT_EXISTS');
    const other = await server.api.post('/api/agents/default/heartbeats', { name: 'other-name', prompt: 'x', interval_seconds: 60 });
    const renamed = await server.api.patch(`/api/agents/default/heartbeats/${other.body.data.id}`, { name: 'twice' });
    expect(renamed.status).toBe(409);
    expect(renamed.body.error.code).toBe('HEARTBEAT_EXISTS');
    await server.api.delete(`/api/agents/default/heartbeats/${first.body.data.id}`);
    await server.api.delete(`/api/agents/default/heartbeats/${other.body.data.id}`);
  });

  it('needs agents:read to list and agents:write to create', async () => {
    const token = (await server.api.post('/api/tokens', { name: 'hb-reader', scopes: ['agents:read'] })).body.data.token as string;
    const headers = { authorization: `Bearer ${token}` };
    expect((await server.api.get('/api/agents/default/heartbeats', { headers })).status).toBe(200);
    const refused = await server.api.post('/api/agents/default/heartbeats', { name: 'nope', prompt: 'x', interval_seconds: 60 }, { headers });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
  });

  it('serves the same operations over tRPC, with dates as Date', async () => {
    const created = await server.trpc.heartbeats.create.mutate({ agent: 'default', name: 'over-trpc', prompt: 'x', interval_seconds: 120 });
    expect(created.next_run_at).toEqual(new Date(T0 + 2 * MINUTE));
    const got = await server.trpc.heartbeats.get.query({ agent: 'default', id: 'over-trpc' });
    expect(got.id).toBe(created.id);
    await server.trpc.heartbeats.delete.mutate({ agent: 'default', id: created.id });
  });
});

describe('heartbeat scheduler', () => {
  it('arms one timer, for the earliest heartbeat, and fires it into a run of its own session', async () => {
    await server.api.post('/api/agents', { name: 'ticker' });
    const hourly = (await server.api.post('/api/agents/ticker/heartbeats', { name: 'hourly', prompt: 'Hourly check', cron: '@hourly' })).body.data;
    const minutely = (await server.api.post('/api/agents/ticker/heartbeats', { name: 'minutely', prompt: 'Minute check', interval_seconds: 60 })).body.data;
    expect(hourly.next_run_at).toBe(iso(T0 + 30 * MINUTE));
    expect(server.clock.armed()).toEqual([iso(T0 + MINUTE)]);

    await advance(server, 59_999);
    expect(await fired(server, minutely.id)).toEqual([]);
    await advance(server, 1);

    const [event] = await fired(server, minutely.id);
    expect(event!.payload).toEqual({
      heartbeat_id: minutely.id,
      name: 'minutely',
      status: 'started',
      run_id: expect.stringMatching(/^run_/),
      scheduled_at: iso(T0 + MINUTE),
      next_run_at: iso(T0 + 2 * MINUTE),
    });
    const run = await waitForRun(server, event!.payload.run_id);
    expect(run).toMatchObject({ agent_id: 'ticker', session_id: minutely.id, source: 'heartbeat', input: 'Minute check', output: 'Minute check', status: 'completed' });
    const after = (await server.api.get(`/api/agents/ticker/heartbeats/${minutely.id}`)).body.data;
    expect(after).toMatchObject({ last_run_at: iso(T0 + MINUTE), last_run_id: run.id, next_run_at: iso(T0 + 2 * MINUTE) });
    expect(server.clock.armed()).toEqual([iso(T0 + 2 * MINUTE)]);
    // The hourly one has not fired.
    expect(await fired(server, hourly.id)).toEqual([]);

    await server.api.delete('/api/agents/ticker');
    const rows = await server.services.database.client.execute({ sql: "SELECT count(*) AS n FROM heartbeats WHERE agent = 'ticker'", args: [] });
    expect(Number(rows.rows[0]!.n)).toBe(0);
  });

  it('disabling clears next_run_at and the timer; enabling counts from now', async () => {
    await server.api.post('/api/agents', { name: 'switchy' });
    const heartbeat = (await server.api.post('/api/agents/switchy/heartbeats', { name: 'beat', prompt: 'x', interval_seconds: 600 })).body.data;
    const armedBefore = server.clock.armed();
    expect(armedBefore).toHaveLength(1);
    const disabled = await server.api.patch(`/api/agents/switchy/heartbeats/${heartbeat.id}`, { enabled: false });
    expect(disabled.body.data).toMatchObject({ enabled: false, next_run_at: null });
    await advance(server, 3 * MINUTE);
    const enabled = await server.api.patch(`/api/agents/switchy/heartbeats/${heartbeat.id}`, { enabled: true });
    expect(enabled.body.data).toMatchObject({ enabled: true, next_run_at: iso(server.clock.now() + 10 * MINUTE) });
    expect(server.clock.armed()).toContain(iso(server.clock.now() + 10 * MINUTE));
    await server.api.delete('/api/agents/switchy');
  });

  it('skips a slot while the previous heartbeat run is still going, then fires again once it ended', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    msw.use(
      http.post(`${OPENAI}/chat/completions`, async () => {
        await gate;
        const chunk = (choice: object) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, ...choice }] })}\n\n`;
        return new HttpResponse(chunk({ delta: { content: 'slow answer' }, finish_reason: 'stop' }) + 'data: [DONE]\n\n', { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    await server.api.post('/api/agents', { name: 'slowpoke', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    const heartbeat = (await server.api.post('/api/agents/slowpoke/heartbeats', { name: 'beat', prompt: 'Work slowly', interval_seconds: 60 })).body.data;
    const start = server.clock.now();

    await advance(server, MINUTE);
    const [first] = await fired(server, heartbeat.id);
    expect(first!.payload.status).toBe('started');

    await advance(server, MINUTE);
    const events = await fired(server, heartbeat.id);
    expect(events[1]!.payload).toMatchObject({ status: 'skipped', reason: 'previous_run_active', run_id: first!.payload.run_id, next_run_at: iso(start + 3 * MINUTE) });
    expect((await server.api.get(`/api/agents/slowpoke/heartbeats/${heartbeat.id}`)).body.data).toMatchObject({
      last_run_id: first!.payload.run_id,
      next_run_at: iso(start + 3 * MINUTE),
    });

    release();
    expect(await waitForRun(server, first!.payload.run_id)).toMatchObject({ status: 'completed', output: 'slow answer' });
    await advance(server, MINUTE);
    const third = (await fired(server, heartbeat.id))[2]!;
    expect(third.payload.status).toBe('started');
    expect(third.payload.run_id).not.toBe(first!.payload.run_id);
    await waitForRun(server, third.payload.run_id);
    await server.api.delete('/api/agents/slowpoke');
  });
});

describe('heartbeats across a restart', () => {
  it('keeps schedules, and fires a heartbeat that missed many slots once, then counts from now', async () => {
    const home = makeTempHome();
    homes.push(home);
    const first = await startAt(home, new ManualClock(T0));
    const interval = (await first.api.post('/api/agents/default/heartbeats', { name: 'every-minute', prompt: 'tick', interval_seconds: 60 })).body.data;
    const cron = (await first.api.post('/api/agents/default/heartbeats', { name: 'five', prompt: 'tock', cron: '*/5 * * * *' })).body.data;
    const later = (await first.api.post('/api/agents/default/heartbeats', { name: 'tomorrow', prompt: 'later', cron: '0 12 * * *' })).body.data;
    await first.close();
    expect(first.clock.armed()).toEqual([]);

    // Down for an hour and a bit: 63 minute slots and 12 five-minute slots missed.
    const restartAt = T0 + 63 * MINUTE + 20_000;
    const second = await startAt(home, new ManualClock(restartAt));
    try {
      await second.services.heartbeats.idle();
      const intervalFired = await fired(second, interval.id);
      const cronFired = await fired(second, cron.id);
      expect(intervalFired).toHaveLength(1);
      expect(cronFired).toHaveLength(1);
      expect(await fired(second, later.id)).toEqual([]);
      expect(intervalFired[0]!.payload).toMatchObject({ status: 'started', scheduled_at: iso(T0 + MINUTE), next_run_at: iso(restartAt + MINUTE) });
      expect(cronFired[0]!.payload).toMatchObject({ status: 'started', scheduled_at: iso(T0 + 5 * MINUTE), next_run_at: '2025-01-06T08:35:00.000Z' });
      await waitForRun(second, intervalFired[0]!.payload.run_id);
      await waitForRun(second, cronFired[0]!.payload.run_id);

      const list = (await second.api.get('/api/agents/default/heartbeats')).body.data.heartbeats;
      expect(list.find((h: any) => h.id === later.id)).toMatchObject({ next_run_at: '2025-01-06T12:00:00.000Z', last_run_at: null });
      expect(list.find((h: any) => h.id === interval.id)).toMatchObject({ last_run_at: iso(restartAt), next_run_at: iso(restartAt + MINUTE) });
      expect(second.clock.armed()).toEqual([iso(restartAt + MINUTE)]);
      const runs = await second.services.database.client.execute({ sql: "SELECT count(*) AS n FROM runs WHERE source = 'heartbeat'", args: [] });
      expect(Number(runs.rows[0]!.n)).toBe(2);
    } finally {
      await second.close();
    }
    expect(second.clock.armed()).toEqual([]);
  });
});
