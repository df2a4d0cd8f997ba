import { rmSync } from 'node:fs';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTempHome, startTestServer, startTestServerIn, type TestServer } from './helpers/server.ts';

const TELEGRAM = 'https://telegram.test';
const STT = 'https://stt.test/v1';
const BOT_TOKEN = '123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ';
const VOICE_BYTES = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 1, 2, 3, 4]);

interface Sent {
  chat_id: string;
  text: string;
  /** The inline keyboard's buttons, when the message had some. */
  buttons?: Array<{ text: string; callback_data: string }>;
}

/**
 * A Bot API double that behaves like Telegram's: getUpdates long-polls (answering at once when updates are
 * pending, else after `timeout` seconds with []), an offset confirms and forgets every update below it,
 * sendMessage records, getFile + /file/bot<token>/<path> serve voice notes, a wrong token answers 401, and
 * queued failures (e.g. 429 with retry_after) answer the next getUpdates calls.
 */
class FakeTelegram {
  private updates: Array<{ update_id: number; message?: Record<string, unknown>; callback_query?: Record<string, unknown> }> = [];
  /** answerCallbackQuery calls: which press, and what its presser was shown. */
  readonly answered: Array<{ callback_query_id: string; text: string }> = [];
  private nextUpdateId = 1000;
  private nextMessageId = 1;
  private waiters = new Set<() => void>();
  readonly sent: Sent[] = [];
  readonly polls: Array<{ offset: number | undefined; timeout: number }> = [];
  readonly downloads: string[] = [];
  readonly failures: Array<{ status: number; body: Record<string, unknown> }> = [];

  constructor(readonly token: string) {}

  /** A message from a user in a private chat; returns its update_id. */
  send(chatId: number, message: Record<string, unknown>): number {
    const update_id = this.nextUpdateId++;
    this.updates.push({
      update_id,
      message: { message_id: this.nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private', username: `user${chatId}` }, from: { id: chatId, is_bot: false, first_name: 'U' }, ...message },
    });
    for (const wake of this.waiters) wake();
    return update_id;
  }

  text(chatId: number, text: string): number {
    return this.send(chatId, { text });
  }

  /** A user of `chatId` presses an inline button whose data is `data`; returns the callback query id. */
  press(chatId: number, data: string): string {
    const id = `cbq-${this.nextUpdateId}`;
    this.updates.push({
      update_id: this.nextUpdateId++,
      callback_query: { id, from: { id: chatId, is_bot: false, first_name: 'U' }, message: { message_id: 1, chat: { id: chatId, type: 'private' } }, chat_instance: 'x', data },
    });
    for (const wake of this.waiters) wake();
    return id;
  }

  sentTo(chatId: number): string[] {
    return this.sent.filter((m) => m.chat_id === String(chatId)).map((m) => m.text);
  }

  handlers() {
    const bot = `${TELEGRAM}/:bot`;
    const known = (params: Record<string, unknown>) => params.bot === `bot${this.token}`;
    const unauthorized = () => HttpResponse.json({ ok: false, error_code: 401, description: 'Unauthorized' }, { status: 401 });
    return [
      http.post(`${bot}/getUpdates`, async ({ params, request }) => {
        if (!known(params)) return unauthorized();
        const body = (await request.json()) as { offset?: number; timeout?: number };
        this.polls.push({ offset: body.offset, timeout: body.timeout ?? 0 });
        const failure = this.failures.shift();
        if (failure) return HttpResponse.json(failure.body, { status: failure.status });
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
      }),
      http.post(`${bot}/sendMessage`, async ({ params, request }) => {
        if (!known(params)) return unauthorized();
        const body = (await request.json()) as { chat_id: string | number; text: string; reply_markup?: { inline_keyboard: Sent['buttons'][] } };
        this.sent.push({ chat_id: String(body.chat_id), text: body.text, ...(body.reply_markup ? { buttons: body.reply_markup.inline_keyboard.flat() as Sent['buttons'] } : {}) });
        return HttpResponse.json({ ok: true, result: { message_id: this.nextMessageId++, chat: { id: Number(body.chat_id) }, text: body.text } });
      }),
      http.post(`${bot}/answerCallbackQuery`, async ({ params, request }) => {
        if (!known(params)) return unauthorized();
        this.answered.push((await request.json()) as { callback_query_id: string; text: string });
        return HttpResponse.json({ ok: true, result: true });
      }),
      http.post(`${bot}/getFile`, async ({ params, request }) => {
        if (!known(params)) return unauthorized();
        const body = (await request.json()) as { file_id: string };
        return HttpResponse.json({ ok: true, result: { file_id: body.file_id, file_unique_id: 'u1', file_size: VOICE_BYTES.length, file_path: `voice/${body.file_id}.oga` } });
      }),
      http.get(`${TELEGRAM}/file/:bot/voice/:file`, ({ params }) => {
        if (!known(params)) return new HttpResponse(null, { status: 404 });
        this.downloads.push(String(params.file));
        return new HttpResponse(VOICE_BYTES, { headers: { 'content-type': 'application/octet-stream' } });
      }),
    ];
  }
}

/** Waits for a condition the server reaches on its own (its poll loop); generous, so slow machines pass. */
async function eventually<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const msw = setupServer();
const servers: TestServer[] = [];
const settings = { channels: { telegram: { apiBaseUrl: TELEGRAM, pollTimeoutSeconds: 1, retryDelayMs: 20 } } };

async function serve(extra: Record<string, unknown> = {}): Promise<TestServer> {
  const server = await startTestServer({ ...settings, ...extra });
  servers.push(server);
  return server;
}

async function configureBot(server: TestServer, agent = 'default', botToken = '${vault:TELEGRAM_TOKEN}') {
  if (botToken.startsWith('${vault:')) await server.api.post(`/api/agents/${agent}/vault`, { key: 'TELEGRAM_TOKEN', value: BOT_TOKEN });
  const res = await server.api.post(`/api/agents/${agent}/channels`, { type: 'telegram', config: { botToken } });
  expect(res.status).toBe(201);
  return res.body.data;
}

/** Pairs `chatId` through the bot, as a user would. */
async function pair(server: TestServer, telegram: FakeTelegram, chatId: number, agent = 'default') {
  const code = (await server.api.post(`/api/agents/${agent}/channels/telegram/pair`)).body.data.code;
  telegram.text(chatId, `/pair ${code}`);
  await eventually(() => telegram.sentTo(chatId), (texts) => texts.some((t) => t.startsWith('Paired')), 'the pairing reply');
}

let telegram: FakeTelegram;

// Calls to the test servers on loopback pass; anything else unhandled would be the internet, and fails.
beforeAll(() =>
  msw.listen({
    onUnhandledRequest(request, print) {
      if (new URL(request.url).hostname !== '127.0.0.1') print.error();
    },
  }),
);
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  msw.resetHandlers();
});
afterAll(() => msw.close());

describe('telegram channel', () => {
  it('pairs a chat with a one-time code, refuses unpaired chats and sends the agent\'s reply back', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    msw.use(...telegram.handlers());
    const server = await serve();
    const channel = await configureBot(server);
    expect(channel).toMatchObject({ name: 'telegram', type: 'telegram', status: 'running', config: { botToken: '${vault:TELEGRAM_TOKEN}' } });

    telegram.text(42, 'hello?');
    const refusal = await eventually(() => telegram.sentTo(42), (texts) => texts.length === 1, 'the refusal');
    expect(refusal[0]).toContain('not paired');
    expect(refusal[0]).toContain('/pair CODE');

    const pairing = await server.api.post('/api/agents/default/channels/telegram/pair');
    expect(pairing.status).toBe(201);
    expect(pairing.body.data.code).toMatch(/^[A-Z2-9]{8}$/);
    expect(pairing.body.data.instructions).toContain(`/pair ${pairing.body.data.code}`);

    telegram.text(42, '/pair WRONGCODE');
    await eventually(() => telegram.sentTo(42), (texts) => texts.length === 2, 'the wrong-code reply');
    expect(telegram.sentTo(42)[1]).toContain('not valid');

    telegram.text(42, `/pair ${pairing.body.data.code.toLowerCase()}`);
    await eventually(() => telegram.sentTo(42), (texts) => texts.length === 3, 'the pairing reply');
    expect(telegram.sentTo(42)[2]).toBe("Paired: this chat now talks to agent 'default'.");

    // The code worked once: another chat cannot reuse it.
    telegram.text(7, `/pair ${pairing.body.data.code}`);
    await eventually(() => telegram.sentTo(7), (texts) => texts.length === 1, 'the reuse reply');
    expect(telegram.sentTo(7)[0]).toContain('not valid');

    const chats = await server.api.get('/api/agents/default/channels/telegram/chats');
    expect(chats.body.data.chats).toEqual([{ chat_id: '42', username: 'user42', paired_at: expect.any(String) }]);
    expect((await server.api.get('/api/agents/default/channels/telegram')).body.data.paired_chats).toBe(1);

    telegram.text(42, 'Hello agent');
    await eventually(() => telegram.sentTo(42), (texts) => texts.length === 4, 'the agent reply');
    expect(telegram.sentTo(42)[3]).toBe('Hello agent');

    // The reply goes out first, then channel.message_sent is recorded.
    const audit = await eventually(
      async () => (await server.api.get('/api/audit?agent_id=default&event_type=channel.message_received,channel.message_sent&limit=1000')).body.data.events,
      (events: any[]) => events.length >= 2,
      'the sent event',
    );
    expect(audit.map((e: any) => [e.event_type, e.payload.content])).toEqual([
      ['channel.message_received', 'Hello agent'],
      ['channel.message_sent', 'Hello agent'],
    ]);
    expect(audit[0].payload).toMatchObject({ channel: 'telegram', type: 'telegram', chat_id: '42' });
    expect(audit[1]).toMatchObject({ run_id: expect.stringMatching(/^run_/), payload: { status: 'completed' } });
    const run = (await server.api.get(`/api/runs/${audit[1].run_id}`)).body.data;
    expect(run).toMatchObject({ source: 'channel:telegram', session_id: 'telegram:telegram:42', user_id: 'telegram:42' });

    // Unpaired again, the chat is refused and never reaches the agent.
    expect((await server.api.delete('/api/agents/default/channels/telegram/chats/42')).body.data).toEqual({ chat_id: '42', status: 'unpaired' });
    telegram.text(42, 'still there?');
    await eventually(() => telegram.sentTo(42), (texts) => texts.length === 5, 'the refusal after unpairing');
    expect(telegram.sentTo(42)[4]).toContain('not paired');
    const after = (await server.api.get('/api/audit?agent_id=default&event_type=channel.message_received&limit=1000')).body.data.events;
    expect(after.map((e: any) => e.payload.content)).toEqual(['Hello agent']);
    expect(telegram.polls.every((poll) => poll.timeout === 1)).toBe(true);
  });

  it('pages the paired chats like every list, and answers 404 PAIRED_CHAT_NOT_FOUND for a chat that is not paired', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    msw.use(...telegram.handlers());
    const server = await serve();
    await configureBot(server);
    await pair(server, telegram, 42);
    await pair(server, telegram, 7);

    const first = (await server.api.get('/api/agents/default/channels/telegram/chats?limit=1')).body.data;
    expect(first).toEqual({ chats: [expect.objectContaining({ chat_id: '42' })], pagination: { total: 2, limit: 1, offset: 0, next_offset: 1 } });
    const second = (await server.api.get('/api/agents/default/channels/telegram/chats?limit=1&offset=1')).body.data;
    expect(second).toEqual({ chats: [expect.objectContaining({ chat_id: '7' })], pagination: { total: 2, limit: 1, offset: 1, next_offset: null } });

    const unpaired = await server.api.delete('/api/agents/default/channels/telegram/chats/99');
    expect(unpaired.status).toBe(404);
    expect(unpaired.body.error).toMatchObject({ code: 'PAIRED_CHAT_NOT_FOUND', details: { chat_id: '99', name: 'telegram', agent: 'default' } });
    expect((await server.api.delete('/api/agents/default/channels/nope/chats/42')).body.error.code).toBe('CHANNEL_NOT_FOUND');
  });

  it('transcribes a voice note from a paired chat and answers the transcript', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    const uploads: Array<{ bytes: Buffer; name: string; type: string }> = [];
    msw.use(
      ...telegram.handlers(),
      http.post(`${STT}/audio/transcriptions`, async ({ request }) => {
        const file = (await request.formData()).get('file') as File;
        uploads.push({ bytes: Buffer.from(await file.arrayBuffer()), name: file.name, type: file.type });
        return HttpResponse.json({ text: 'what is on my calendar' });
      }),
    );
    const server = await serve({ transcription: { baseUrl: STT } });
    await configureBot(server);
    await pair(server, telegram, 42);

    telegram.send(42, { voice: { file_id: 'voice1', file_unique_id: 'v1', duration: 2, mime_type: 'audio/ogg', file_size: VOICE_BYTES.length } });
    await eventually(() => telegram.sentTo(42), (texts) => texts.length === 2, 'the answer to the voice note');
    expect(telegram.sentTo(42)[1]).toBe('what is on my calendar');
    expect(telegram.downloads).toEqual(['voice1.oga']);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.bytes.equals(Buffer.from(VOICE_BYTES))).toBe(true);
    expect(uploads[0]!.name).toBe('audio.ogg');
    const received = (await server.api.get('/api/audit?event_type=channel.message_received&limit=1000')).body.data.events;
    expect(received.at(-1).payload).toMatchObject({ content: 'what is on my calendar', voice: true });
  });

  it('answers a voice note politely when no transcriber is configured', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    msw.use(...telegram.handlers());
    const server = await serve();
    await configureBot(server);
    await pair(server, telegram, 42);
    telegram.send(42, { voice: { file_id: 'voice2', file_unique_id: 'v2', duration: 1 } });
    await eventually(() => telegram.sentTo(42), (texts) => texts.length === 2, 'the polite reply');
    expect(telegram.sentTo(42)[1]).toContain('no transcriber is configured');
    expect(telegram.downloads).toEqual([]);
  });

  it('keeps its offset across a restart, so no update is handled twice', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    msw.use(...telegram.handlers());
    const home = makeTempHome();
    try {
      const first = await startTestServerIn(home, settings);
      await configureBot(first);
      await pair(first, telegram, 42);
      const handled = telegram.text(42, 'before restart');
      await eventually(() => telegram.sentTo(42), (texts) => texts.includes('before restart'), 'the first answer');
      await first.close();
      const pollsBefore = telegram.polls.length;

      telegram.text(42, 'while stopped');
      const second = await startTestServerIn(home, settings);
      servers.push(second);
      await eventually(() => telegram.sentTo(42), (texts) => texts.includes('while stopped'), 'the answer after restart');
      expect(telegram.polls[pollsBefore]!.offset).toBe(handled + 1);
      expect(telegram.sentTo(42).filter((t) => t === 'before restart')).toHaveLength(1);
      expect(telegram.sentTo(42).filter((t) => t.startsWith('Paired'))).toHaveLength(1);
      expect((await second.api.get('/api/agents/default/channels/telegram')).body.data.status).toBe('running');
    } finally {
      await Promise.all(servers.splice(0).map((server) => server.close()));
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('waits retry_after on 429 and carries on; stops with status error on 401, token redacted', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    telegram.failures.push({ status: 429, body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } } });
    msw.use(...telegram.handlers());
    const server = await serve();
    await configureBot(server);
    const limited = await eventually(
      () => server.api.get('/api/agents/default/channels/telegram'),
      (res) => res.body.data.last_error !== null,
      'the rate-limit note',
    );
    expect(limited.body.data).toMatchObject({ status: 'running', last_error: expect.stringContaining('429') });
    await pair(server, telegram, 42);
    const [first, second] = telegram.polls;
    expect(first!.offset).toBeUndefined();
    expect(second).toBeDefined();

    // A revoked token: Telegram answers 401 and the channel stops polling with the reason.
    const revoked = new FakeTelegram('999:revoked-token-aaaaaaaaaaaaaaaaaaaaa');
    msw.resetHandlers(...revoked.handlers());
    await server.api.post('/api/agents/default/channels', { channel: 'raw', type: 'telegram', config: { botToken: BOT_TOKEN } });
    const failed = await eventually(
      () => server.api.get('/api/agents/default/channels/raw'),
      (res) => res.body.data.status === 'error',
      'the 401 error status',
    );
    expect(failed.body.data.last_error).toContain('401');
    expect(failed.body.data.config.botToken).toBe('********');
    expect(JSON.stringify(failed.body)).not.toContain(BOT_TOKEN);
  });

  it('stops polling when disabled or deleted, and starts again when enabled', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    msw.use(...telegram.handlers());
    const server = await serve();
    await configureBot(server);
    await eventually(() => telegram.polls.length, (n) => n > 0, 'the first poll');

    const disabled = await server.api.patch('/api/agents/default/channels/telegram', { enabled: false });
    expect(disabled.body.data).toMatchObject({ enabled: false, status: 'stopped' });
    const polls = telegram.polls.length;
    telegram.text(42, 'nobody listens');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(telegram.polls.length).toBe(polls);
    expect(telegram.sent).toEqual([]);

    expect((await server.api.patch('/api/agents/default/channels/telegram', { enabled: true })).body.data.status).toBe('running');
    await eventually(() => telegram.sentTo(42), (texts) => texts.length === 1, 'the refusal once enabled');

    expect((await server.api.delete('/api/agents/default/channels/telegram')).status).toBe(200);
    const afterDelete = telegram.polls.length;
    telegram.text(42, 'gone');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(telegram.polls.length).toBe(afterDelete);
  });

  it('sends a call waiting for approval to the paired chat with Approve / Deny buttons, and a press decides it', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    msw.use(...telegram.handlers());
    const server = await serve();
    await server.api.post('/api/agents', { name: 'careful', allowed_tools: ['memory.*'] });
    await server.api.post('/api/agents/careful/vault', { key: 'TELEGRAM_TOKEN', value: BOT_TOKEN });
    const configured = await server.api.post('/api/agents/careful/channels', {
      type: 'telegram',
      config: { botToken: '${vault:TELEGRAM_TOKEN}', toolPolicy: { 'memory.store': 'ask' } },
    });
    expect(configured.status).toBe(201);
    expect(configured.body.data.config.toolPolicy).toEqual({ 'memory.store': 'ask' });
    await pair(server, telegram, 42, 'careful');

    telegram.text(42, 'Remember <invoke name="memory.store">{"content": "from telegram"}</invoke>');
    const asked = await eventually(() => telegram.sent.filter((m) => m.chat_id === '42' && m.buttons), (list) => list.length === 1, 'the approval request');
    expect(asked[0]!.text).toContain('memory.store');
    expect(asked[0]!.text).toContain('from telegram');
    expect(asked[0]!.buttons!.map((b) => b.text)).toEqual(['Approve', 'Deny']);
    const approve = asked[0]!.buttons![0]!.callback_data;
    const runId = approve.split(':')[2]!;
    expect((await server.api.get(`/api/runs/${runId}`)).body.data).toMatchObject({ status: 'awaiting_approval', source: 'channel:telegram' });

    // A chat that is not paired cannot decide it.
    const stranger = telegram.press(7, approve);
    await eventually(() => telegram.answered, (list) => list.some((a) => a.callback_query_id === stranger), 'the stranger\'s answer');
    expect((await server.api.get(`/api/runs/${runId}`)).body.data.status).toBe('awaiting_approval');

    const pressed = telegram.press(42, approve);
    await eventually(() => telegram.answered, (list) => list.some((a) => a.callback_query_id === pressed), 'the press answer');
    expect(telegram.answered.find((a) => a.callback_query_id === pressed)!.text).toBe('Approved');
    const answer = await eventually(() => telegram.sentTo(42), (texts) => texts.some((t) => t.startsWith('memory.store:')), 'the answer after approval');
    expect(answer.at(-1)).toContain('memory.store:');
    const run = (await server.api.get(`/api/runs/${runId}`)).body.data;
    expect(run.status).toBe('completed');
    expect(run.steps.find((step: { type: string }) => step.type === 'tool')).toMatchObject({ name: 'memory.store', is_error: false });
    const decided = await server.api.get('/api/audit?agent_id=careful&event_type=approval.decided');
    expect(decided.body.data.events[0].payload).toMatchObject({ decision: 'approved', decided_by: 'telegram:42' });

    // Denied with the other button: the model is told, and the chat gets its answer.
    telegram.text(42, 'Again <invoke name="memory.store">{"content": "not this"}</invoke>');
    const second = await eventually(() => telegram.sent.filter((m) => m.chat_id === '42' && m.buttons), (list) => list.length === 2, 'the second request');
    telegram.press(42, second[1]!.buttons![1]!.callback_data);
    const denied = await eventually(() => telegram.sentTo(42), (texts) => texts.some((t) => t.includes('a person denied the call')), 'the answer after denial');
    expect(denied.at(-1)).toContain("Tool 'memory.store' was not run");
    const memories = await server.api.get('/api/agents/careful/memory');
    expect(memories.body.data.memories.map((m: { content: string }) => m.content)).toEqual(['from telegram']);
  });

  it('sends the answer of a call asked about before a restart once it is approved through the API after it', async () => {
    telegram = new FakeTelegram(BOT_TOKEN);
    msw.use(...telegram.handlers());
    const home = makeTempHome();
    try {
      const first = await startTestServerIn(home, settings);
      await first.api.post('/api/agents', { name: 'patient', allowed_tools: ['memory.*'], tool_policy: { 'memory.store': 'ask' } });
      await first.api.post('/api/agents/patient/vault', { key: 'TELEGRAM_TOKEN', value: BOT_TOKEN });
      await first.api.post('/api/agents/patient/channels', { type: 'telegram', config: { botToken: '${vault:TELEGRAM_TOKEN}' } });
      await pair(first, telegram, 42, 'patient');
      telegram.text(42, 'Keep <invoke name="memory.store">{"content": "after the restart"}</invoke>');
      const asked = await eventually(() => telegram.sent.filter((m) => m.buttons), (list) => list.length === 1, 'the approval request');
      const runId = asked[0]!.buttons![0]!.callback_data.split(':')[2]!;
      await first.close();

      const second = await startTestServerIn(home, settings);
      try {
        const decided = await second.api.post(`/api/runs/${runId}/approvals/call_1`, { decision: 'approve' });
        expect(decided.body.data.status).toBe('approved');
        const texts = await eventually(() => telegram.sentTo(42), (list) => list.some((t) => t.startsWith('memory.store:')), 'the answer after the restart');
        expect(texts.at(-1)).toContain('memory.store:');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
