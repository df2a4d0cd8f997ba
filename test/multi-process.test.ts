/**
 * Two servers on one database, as two processes would be (each createServices has its own instance, caches,
 * redactor and change feed), plus the real `moxxy` CLI: a change made through one takes effect in the other.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { leases } from '../src/db/schema.ts';
import { startServer } from '../src/http/server.ts';
import { createServices } from '../src/services/container.ts';
import { REDACTED } from '../src/services/redaction.ts';
import type { Clock } from '../src/services/scheduler/clock.ts';
import { STDIO_FIXTURE } from './fixtures/mcp/server.ts';
import { runCli } from './helpers/process.ts';
import { createApi, makeTempHome } from './helpers/server.ts';

const BOT_TOKEN = '123456789:AAmultiProcessBotTokenForTheTests00';
const NEW_BOT_TOKEN = '987654321:AAanotherBotTokenTheChannelMovesTo';
/** What the requirement allows: a change made through one process takes effect in the others within this. */
const WITHIN_MS = 1000;
/** Starting a stdio MCP server means a node process loading tsx: slow on a loaded machine. */
const SLOW = 90_000;

/** A clock the test moves by hand, shared by both servers' heartbeat schedulers. */
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

  armedAt(): number[] {
    return [...this.timers.values()].map((timer) => timer.at);
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

/**
 * A Bot API double reached under several hosts (each server is given its own), so it knows which server polls.
 * Like Telegram, it answers 409 to a getUpdates made while another for the same bot is pending: two pollers of one
 * bot conflict.
 */
class FakeBotApi {
  /** The host, bot token and offset of each getUpdates, in order. */
  readonly polls: Array<{ host: string; token: string; offset: number | undefined }> = [];
  readonly sent: Array<{ host: string; chat_id: string; text: string }> = [];
  conflicts = 0;
  /** Bot token -> getUpdates pending. */
  private readonly pending = new Map<string, number>();
  private updates: Array<{ update_id: number; message: Record<string, unknown> }> = [];
  private nextUpdateId = 500;
  private waiters = new Set<() => void>();

  text(chatId: number, text: string): void {
    const update_id = this.nextUpdateId++;
    this.updates.push({ update_id, message: { message_id: update_id, date: 0, chat: { id: chatId, type: 'private' }, text } });
    for (const wake of this.waiters) wake();
  }

  handlers(base: string) {
    const host = new URL(base).host;
    return [
      http.post(`${base}/:bot/getUpdates`, async ({ params, request }) => {
        const token = String(params.bot).slice('bot'.length);
        if (this.pending.get(token)) {
          this.conflicts += 1;
          return HttpResponse.json({ ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request' }, { status: 409 });
        }
        this.pending.set(token, 1);
        try {
          const body = (await request.json()) as { offset?: number; timeout?: number };
          this.polls.push({ host, token, offset: body.offset });
          if (body.offset !== undefined) this.updates = this.updates.filter((u) => u.update_id >= body.offset!);
          if (this.updates.length === 0 && body.timeout) {
            await new Promise<void>((resolve) => {
              const done = () => {
                clearTimeout(timer);
                this.waiters.delete(done);
                resolve();
              };
              const timer = setTimeout(done, body.timeout! * 1000);
              this.waiters.add(done);
              request.signal.addEventListener('abort', done);
            });
          }
          return HttpResponse.json({ ok: true, result: [...this.updates] });
        } finally {
          this.pending.delete(token);
        }
      }),
      http.post(`${base}/:bot/sendMessage`, async ({ request }) => {
        const body = (await request.json()) as { chat_id: string | number; text: string };
        this.sent.push({ host, chat_id: String(body.chat_id), text: body.text });
        return HttpResponse.json({ ok: true, result: { message_id: 1, chat: { id: Number(body.chat_id) }, text: body.text } });
      }),
    ];
  }
}

const TELEGRAM_A = 'https://telegram-a.test';
const TELEGRAM_B = 'https://telegram-b.test';
const T0 = Date.parse('2025-01-06T07:30:00.000Z');

async function startIn(home: string, telegramBase: string, clock: ManualClock) {
  const config = await loadConfig({
    cwd: home,
    env: { MOXXY_HOME: home },
    overrides: {
      port: 0,
      logLevel: 'silent',
      rateLimits: { enabled: false },
      channels: { telegram: { apiBaseUrl: telegramBase, pollTimeoutSeconds: 1, retryDelayMs: 20 } },
    },
  });
  const running = await startServer(await createServices(config, { clock }));
  return { ...running, api: createApi(running.url) };
}
type Server = Awaited<ReturnType<typeof startIn>>;

/** Polls `read` until `accept` holds, failing after `timeoutMs`; returns the value accepted. */
async function within<T>(read: () => Promise<T> | T, accept: (value: T) => boolean, timeoutMs = WITHIN_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await sleep(10);
  }
}

/** Sends `text` as a chat message through `server` and answers what that server's audit log holds of it. */
async function loggedUserMessage(server: Server, text: string): Promise<string> {
  const chat = await server.api.post('/api/agents/default/chat', { message: text });
  expect(chat.status).toBe(200);
  const events = (await server.api.get('/api/audit?event_type=message.user&limit=100')).body.data.events;
  return events.find((event: any) => event.run_id === chat.body.data.run_id).payload.content;
}

function processesWith(marker: string): number {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    }).length;
}

const msw = setupServer();
const telegram = new FakeBotApi();
const clock = new ManualClock(T0);
let home: string;
let a: Server;
let b: Server;

beforeAll(async () => {
  msw.listen({
    onUnhandledRequest(request, print) {
      if (new URL(request.url).hostname !== '127.0.0.1') print.error();
    },
  });
  msw.use(...telegram.handlers(TELEGRAM_A), ...telegram.handlers(TELEGRAM_B));
  home = makeTempHome();
  a = await startIn(home, TELEGRAM_A, clock);
  b = await startIn(home, TELEGRAM_B, clock);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  msw.close();
  rmSync(home, { recursive: true, force: true });
});

describe('two servers on one database', () => {
  it('serves an agent changed or deleted through A with its new settings through B, and refuses it once deleted', async () => {
    expect((await a.api.post('/api/agents', { name: 'scout', description: 'first' })).status).toBe(201);
    expect((await b.api.get('/api/agents/scout')).body.data.description).toBe('first');

    expect((await a.api.patch('/api/agents/scout', { description: 'second' })).status).toBe(200);
    // Once B has read the feed, its cache has let go of the old agent: no time-to-live to wait out.
    await b.services.changes.catchUp();
    expect((await b.api.get('/api/agents/scout')).body.data.description).toBe('second');

    expect((await a.api.patch('/api/agents/scout', { description: 'third' })).status).toBe(200);
    await within(() => b.api.get('/api/agents/scout'), (res) => res.body.data.description === 'third');

    expect((await a.api.delete('/api/agents/scout')).status).toBe(200);
    await within(() => b.api.get('/api/agents/scout'), (res) => res.status === 404);
    const chat = await b.api.post('/api/agents/scout/chat', { message: 'still there?' });
    expect(chat.status).toBe(404);
    expect(chat.body.error.code).toBe('AGENT_NOT_FOUND');
  });

  it("redacts a secret set through A in B's very next event, and stops redacting the value it replaced or deleted", async () => {
    const first = 'alpha-shared-secret-7f3a9c';
    expect((await a.api.post('/api/agents/default/vault', { key: 'SHARED', value: first })).status).toBe(201);
    expect(await loggedUserMessage(b, `the key is ${first}`)).toBe(`the key is ${REDACTED}`);

    const second = 'beta-replacement-secret-1d2e';
    expect((await a.api.post('/api/agents/default/vault', { key: 'SHARED', value: second })).body.data.created).toBe(false);
    expect(await loggedUserMessage(b, `old ${first} new ${second}`)).toBe(`old ${first} new ${REDACTED}`);

    expect((await a.api.delete('/api/agents/default/vault/SHARED')).status).toBe(200);
    expect(await loggedUserMessage(b, `gone ${second}`)).toBe(`gone ${second}`);
  });

  it("redacts a server secret set through A in B's very next event, and forgets it once deleted", async () => {
    const secret = 'server-wide-secret-3c4d5e';
    expect((await a.api.post('/api/vault', { key: 'SERVER_SHARED', value: secret })).status).toBe(201);
    expect(await loggedUserMessage(b, `server ${secret}`)).toBe(`server ${REDACTED}`);
    expect((await a.api.delete('/api/vault/SERVER_SHARED')).status).toBe(200);
    expect(await loggedUserMessage(b, `gone ${secret}`)).toBe(`gone ${secret}`);
  });

  it("redacts a secret set with `moxxy vault set` in both servers' very next event", async () => {
    const secret = 'cli-made-secret-5b6c7d8e';
    const cli = await runCli(['vault', 'set', 'FROM_CLI', secret], { MOXXY_HOME: home });
    expect(cli.code).toBe(0);
    expect(await loggedUserMessage(b, `cli ${secret}`)).toBe(`cli ${REDACTED}`);
    expect(await loggedUserMessage(a, `cli ${secret}`)).toBe(`cli ${REDACTED}`);
  }, 30_000);

  it("accepts an http channel's token configured through A on B's /v1/turn at once, and redacts it there", async () => {
    const turnOnB = (token: string) => b.api.post('/v1/turn', { prompt: 'hello from B' }, { headers: { authorization: `Bearer ${token}` } });
    const configure = (token: string) => a.api.post('/api/agents/default/channels', { channel: 'web', type: 'http', config: { authToken: token, allowedTools: [] } });
    const first = 'http-channel-token-from-a-0123456789';
    expect((await configure(first)).status).toBe(201);
    expect((await turnOnB(first)).status).toBe(200);
    expect(await loggedUserMessage(b, `token ${first}`)).toBe(`token ${REDACTED}`);

    const second = 'http-channel-token-replaced-9876543210';
    expect((await configure(second)).body.data.created).toBe(false);
    expect((await turnOnB(first)).status).toBe(401);
    expect((await turnOnB(second)).status).toBe(200);
    expect(await loggedUserMessage(b, `${first} ${second}`)).toBe(`${first} ${REDACTED}`);

    expect((await a.api.delete('/api/agents/default/channels/web')).status).toBe(200);
    expect((await turnOnB(second)).body.error).toBe('channel_not_configured');
    expect(await loggedUserMessage(b, `token ${second}`)).toBe(`token ${second}`);
  });

  it("redacts a webhook's secret set through A in B's very next event, and follows its replacement", async () => {
    const secret = 'github-webhook-secret-9a8b7c';
    const created = await a.api.post('/api/webhooks', { name: 'deploys', agent: 'default', prompt_template: 'Deployed: {{body}}', secret });
    expect(created.status).toBe(201);
    expect(await loggedUserMessage(b, `hook ${secret}`)).toBe(`hook ${REDACTED}`);

    const replacement = 'github-webhook-secret-replaced-42';
    expect((await a.api.patch('/api/webhooks/deploys', { secret: replacement })).status).toBe(200);
    expect(await loggedUserMessage(b, `${secret} ${replacement}`)).toBe(`${secret} ${REDACTED}`);

    expect((await a.api.patch('/api/webhooks/deploys', { secret: null })).status).toBe(200);
    expect(await loggedUserMessage(b, `hook ${replacement}`)).toBe(`hook ${replacement}`);
  });

  it('closes B\'s client of an MCP server removed through A, and B connects to its replacement', async () => {
    const marker = `mcp-multi-${process.pid}`;
    const stdio = (flavour: string) => ({ name: 'calc', ...STDIO_FIXTURE, args: [...STDIO_FIXTURE.args, marker], env: { FLAVOUR: flavour } });
    const flavourOn = async (server: Server) =>
      (await server.api.post('/api/agents/default/mcp/invoke', { server: 'calc', tool: 'env', arguments: { name: 'FLAVOUR' } })).body.data.content[0].text;

    expect((await a.api.post('/api/agents/default/mcp/servers', stdio('old'))).status).toBe(201);
    expect(await flavourOn(b)).toBe('old');
    expect(processesWith(marker)).toBeGreaterThan(0);

    expect((await a.api.delete('/api/agents/default/mcp/servers/calc')).status).toBe(200);
    const removed = await b.api.post('/api/agents/default/mcp/invoke', { server: 'calc', tool: 'env', arguments: { name: 'FLAVOUR' } });
    expect(removed.status).toBe(404);
    expect(removed.body.error.code).toBe('MCP_SERVER_NOT_FOUND');
    // A stopped its server; B, told through the feed, stops its own.
    await within(() => processesWith(marker), (count) => count === 0, 5_000);

    expect((await a.api.post('/api/agents/default/mcp/servers', stdio('new'))).status).toBe(201);
    expect(await flavourOn(b)).toBe('new');
    expect((await a.api.delete('/api/agents/default/mcp/servers/calc')).status).toBe(200);
  }, SLOW);

  it('fires a heartbeat created through A once with A and B both running, and through B alone once A stopped', async () => {
    const created = await a.api.post('/api/agents/default/heartbeats', { name: 'pulse', prompt: 'pulse check', interval_seconds: 60 });
    expect(created.status).toBe(201);
    const heartbeat = created.body.data;
    const due = Date.parse(heartbeat.next_run_at);
    // B was told: its own timer now rings for it too.
    await within(() => b.services.heartbeats.idle().then(() => clock.armedAt().filter((at) => at === due).length), (count) => count === 2);

    const firings = async (server: Server) =>
      (await server.api.get('/api/audit?event_type=heartbeat.fired&limit=100')).body.data.events.filter((event: any) => event.payload.heartbeat_id === heartbeat.id);
    clock.advance(60_000);
    await Promise.all([a.services.heartbeats.idle(), b.services.heartbeats.idle()]);
    const once = await firings(b);
    expect(once.map((event: any) => [event.payload.status, event.payload.scheduled_at])).toEqual([['started', new Date(due).toISOString()]]);

    await a.close();
    clock.advance(60_000);
    await b.services.heartbeats.idle();
    const twice = await firings(b);
    expect(twice.map((event: any) => [event.payload.status, event.payload.scheduled_at])).toEqual([
      ['started', new Date(due).toISOString()],
      ['started', new Date(due + 60_000).toISOString()],
    ]);
    a = await startIn(home, TELEGRAM_A, clock);
    expect((await a.api.delete(`/api/agents/default/heartbeats/${heartbeat.id}`)).status).toBe(200);
  });

  it('polls a telegram bot from exactly one server, which hands it over when it stops and follows changes made through the other', async () => {
    const hostA = new URL(TELEGRAM_A).host;
    const hostB = new URL(TELEGRAM_B).host;
    const pollersSince = (index: number) => telegram.polls.slice(index).map((poll) => poll.host);

    // Configured through A: A takes the lease at once; B, told through the feed, finds it taken.
    expect((await a.api.post('/api/agents/default/channels', { type: 'telegram', config: { botToken: BOT_TOKEN } })).status).toBe(201);
    await within(() => telegram.polls.length, (count) => count > 0, 5_000);
    await sleep(1500);
    expect(new Set(pollersSince(0))).toEqual(new Set([hostA]));
    telegram.text(42, 'who is there?');
    await within(() => telegram.sent.length, (count) => count === 1, 5_000);
    expect(telegram.sent[0]).toMatchObject({ host: hostA, chat_id: '42', text: expect.stringContaining('not paired') });

    // A stops: it releases the lease and says so, and B takes over without waiting for the lease to expire.
    const beforeStop = telegram.polls.length;
    await a.close();
    await within(() => pollersSince(beforeStop), (hosts) => hosts.includes(hostB));
    telegram.text(42, 'still there?');
    await within(() => telegram.sent.length, (count) => count === 2, 5_000);
    expect(telegram.sent[1]).toMatchObject({ host: hostB, chat_id: '42' });

    // Configured with another bot through a restarted A: B, the poller, restarts with it, and polls the old one no more.
    a = await startIn(home, TELEGRAM_A, clock);
    const configured = await a.api.post('/api/agents/default/channels', { type: 'telegram', config: { botToken: NEW_BOT_TOKEN } });
    expect(configured.body.data).toMatchObject({ created: false, status: 'running' });
    const beforeNewBot = telegram.polls.length;
    const moved = await within(() => telegram.polls.slice(beforeNewBot), (polls) => polls.some((poll) => poll.token === NEW_BOT_TOKEN));
    const firstOfNewBot = beforeNewBot + moved.findIndex((poll) => poll.token === NEW_BOT_TOKEN);
    // A new bot starts from its own first update, not from the old bot's offset.
    expect(telegram.polls[firstOfNewBot]).toEqual({ host: hostB, token: NEW_BOT_TOKEN, offset: undefined });
    await sleep(1500);
    const since = telegram.polls.slice(firstOfNewBot);
    expect(new Set(since.map((poll) => `${poll.host} ${poll.token}`))).toEqual(new Set([`${hostB} ${NEW_BOT_TOKEN}`]));

    // Disabled through A: B, the poller, stops.
    expect((await a.api.patch('/api/agents/default/channels/telegram', { enabled: false })).status).toBe(200);
    await sleep(WITHIN_MS);
    const afterDisable = telegram.polls.length;
    await sleep(1500);
    expect(telegram.polls.length).toBe(afterDisable);

    // Enabled through A again: exactly one of them polls.
    expect((await a.api.patch('/api/agents/default/channels/telegram', { enabled: true })).status).toBe(200);
    await within(() => pollersSince(afterDisable).length, (count) => count > 0, 5_000);
    await sleep(1500);
    expect(new Set(pollersSince(afterDisable)).size).toBe(1);
    expect(telegram.conflicts).toBe(0);
  }, 30_000);

  it('takes over a bot whose poller was killed once its lease has expired, from exactly one server', async () => {
    // What a process killed while polling leaves behind: its lease, until it expires.
    await b.services.database.db.insert(leases).values({ name: 'telegram:default/standby', holder: 'inst_killed', expiresAt: new Date(Date.now() + 2000) });
    const before = telegram.polls.length;
    const pollersOfStandby = () => telegram.polls.slice(before).filter((poll) => poll.token === BOT_TOKEN).map((poll) => poll.host);
    expect((await a.api.post('/api/agents/default/channels', { channel: 'standby', type: 'telegram', config: { botToken: BOT_TOKEN } })).status).toBe(201);
    await sleep(1500);
    expect(pollersOfStandby()).toEqual([]);

    // Each server tries again every few seconds: the first to do so after the expiry polls, and only it.
    await within(pollersOfStandby, (hosts) => hosts.length > 0, 8_000);
    await sleep(1500);
    expect(new Set(pollersOfStandby()).size).toBe(1);
    expect(telegram.conflicts).toBe(0);
  }, 30_000);
});
