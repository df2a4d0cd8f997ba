import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MoxxyEvent } from '../src/domain/channel-http.ts';
import { runCli } from './helpers/process.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { parseSse } from './helpers/sse.ts';

const ALPHA_TOKEN = 'alpha-channel-token-0123456789';
const BETA_TOKEN = 'beta-channel-token-from-the-vault';
const STORE_TAG = '<invoke name="memory.store">{"content":"kept"}</invoke>';
// Never reached: telegram channels here are disabled or fail to resolve their token before polling.
const TELEGRAM = { apiBaseUrl: 'https://telegram.invalid', pollTimeoutSeconds: 1 };

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ channels: { telegram: TELEGRAM } });
  for (const name of ['alpha', 'beta']) {
    expect((await server.api.post('/api/agents', { name, allowed_tools: ['memory.*'] })).status).toBe(201);
  }
});
afterAll(() => server.close());

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const turnEvents = (body: { events: unknown[] }) => body.events.map((event) => MoxxyEvent.parse(event));
/** The agent a channel turn ran: its events name the turn, which is a run. */
const agentOf = async (on: TestServer, body: { events: unknown[] }) => (await on.api.get(`/api/runs/${turnEvents(body)[0]!.turnId}`)).body.data.agent_id;

describe('channels API (REST)', () => {
  it('configures an http channel named after its type, answering 201 with created and a masked token', async () => {
    const res = await server.api.post('/api/agents/alpha/channels', { type: 'http', config: { authToken: ALPHA_TOKEN, allowedTools: ['memory.*'] } });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      name: 'http',
      agent: 'alpha',
      type: 'http',
      enabled: true,
      status: 'running',
      last_error: null,
      created: true,
      paired_chats: 0,
      config: { authToken: '********', allowedTools: ['memory.*'] },
    });
    expect(JSON.stringify(res.body)).not.toContain(ALPHA_TOKEN);

    const again = await server.api.post('/api/agents/alpha/channels', { type: 'http', config: { authToken: ALPHA_TOKEN, allowedTools: ['memory.*'] } });
    expect(again.status).toBe(201);
    expect(again.body.data).toMatchObject({ name: 'http', created: false });
  });

  it('lists, gets and names channels, defaulting the name to the type', async () => {
    await server.api.post('/api/agents/alpha/channels', { channel: 'ops-bot', type: 'telegram', config: { botToken: '${vault:TG_TOKEN}' }, enabled: false });
    const list = await server.api.get('/api/agents/alpha/channels');
    expect(list.status).toBe(200);
    expect(list.body.data.channels.map((c: any) => [c.name, c.type, c.enabled, c.status])).toEqual([
      ['http', 'http', true, 'running'],
      ['ops-bot', 'telegram', false, 'stopped'],
    ]);
    expect(list.body.data.pagination).toEqual({ total: 2, limit: 50, offset: 0, next_offset: null });
    expect((await server.api.get('/api/agents/alpha/channels?limit=1')).body.data.pagination.next_offset).toBe(1);

    const one = await server.api.get('/api/agents/alpha/channels/ops-bot');
    expect(one.status).toBe(200);
    // A vault reference is shown as written: it is not the secret.
    expect(one.body.data.config).toEqual({ botToken: '${vault:TG_TOKEN}' });
  });

  it('answers 404 CHANNEL_NOT_FOUND and AGENT_NOT_FOUND', async () => {
    const missing = await server.api.get('/api/agents/alpha/channels/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('CHANNEL_NOT_FOUND');
    expect((await server.api.delete('/api/agents/alpha/channels/nope')).body.error.code).toBe('CHANNEL_NOT_FOUND');
    const ghost = await server.api.get('/api/agents/ghost/channels');
    expect(ghost.status).toBe(404);
    expect(ghost.body.error.code).toBe('AGENT_NOT_FOUND');
  });

  it('answers 400 VALIDATION_ERROR for a config that is not its type\'s, a bad name or an unknown type', async () => {
    const mismatched = await server.api.post('/api/agents/alpha/channels', { type: 'http', config: { botToken: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ' } });
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.error.code).toBe('VALIDATION_ERROR');
    expect(mismatched.body.error.details.issues.map((i: any) => i.path)).toContain('config');

    const noTools = await server.api.post('/api/agents/alpha/channels', { type: 'telegram', config: { authToken: ALPHA_TOKEN, allowedTools: [] } });
    expect(noTools.status).toBe(400);
    expect(noTools.body.error.details.issues[0].path).toMatch(/^config/);

    const shortToken = await server.api.post('/api/agents/alpha/channels', { type: 'http', config: { authToken: 'short', allowedTools: [] } });
    expect(shortToken.status).toBe(400);
    expect(shortToken.body.error.message).toContain('16 characters');

    const badBotToken = await server.api.post('/api/agents/alpha/channels', { type: 'telegram', config: { botToken: 'not-a-token' } });
    expect(badBotToken.status).toBe(400);

    for (const body of [
      { type: 'http', channel: '../etc', config: { authToken: ALPHA_TOKEN, allowedTools: [] } },
      { type: 'sms', config: {} },
      { type: 'http' },
    ]) {
      const res = await server.api.post('/api/agents/alpha/channels', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect((await server.api.get('/api/agents/alpha/channels')).body.data.pagination.total).toBe(2);
  });

  it('disables and enables a channel with PATCH, and deletes it', async () => {
    await server.api.post('/api/agents/alpha/channels', { channel: 'temp', type: 'http', config: { authToken: 'temporary-token-0123456789', allowedTools: [] } });
    const disabled = await server.api.patch('/api/agents/alpha/channels/temp', { enabled: false });
    expect(disabled.status).toBe(200);
    expect(disabled.body.data).toMatchObject({ enabled: false, status: 'stopped' });
    const refused = await server.api.post('/v1/turn', { prompt: 'hi' }, bearer('temporary-token-0123456789'));
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({
      error: 'channel_disabled',
      message: 'The http channel \'temp\' of agent \'alpha\' is disabled: enable it with PATCH /api/agents/alpha/channels/temp {"enabled": true}',
    });

    const enabled = await server.api.patch('/api/agents/alpha/channels/temp', { enabled: true });
    expect(enabled.body.data).toMatchObject({ enabled: true, status: 'running' });
    expect((await server.api.post('/v1/turn', { prompt: 'hi' }, bearer('temporary-token-0123456789'))).status).toBe(200);

    const deleted = await server.api.delete('/api/agents/alpha/channels/temp');
    expect(deleted.status).toBe(200);
    expect(deleted.body.data).toEqual({ name: 'temp', status: 'deleted' });
    expect((await server.api.get('/api/agents/alpha/channels/temp')).status).toBe(404);
    expect((await server.api.post('/v1/turn', { prompt: 'hi' }, bearer('temporary-token-0123456789'))).status).toBe(401);
  });

  it('puts a channel whose ${vault:KEY} names no secret in status error, with the reason', async () => {
    const res = await server.api.post('/api/agents/beta/channels', { type: 'http', config: { authToken: '${vault:HTTP_TOKEN}', allowedTools: [] } });
    expect(res.status).toBe(201);
    expect(res.body.data.status).toBe('error');
    expect(res.body.data.last_error).toContain('HTTP_TOKEN');
  });

  it('refuses pairing on an http channel', async () => {
    const res = await server.api.post('/api/agents/alpha/channels/http/pair');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('only telegram channels');
  });
});

describe('channels over tRPC', () => {
  it('configures, reads, disables and deletes a channel with Dates', async () => {
    const created = await server.trpc.channels.configure.mutate({ name: 'beta', channel: 'bot', type: 'telegram', config: { botToken: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ' }, enabled: false });
    expect(created).toMatchObject({ name: 'bot', agent: 'beta', type: 'telegram', created: true, status: 'stopped', config: { botToken: '********' } });
    expect(created.created_at).toBeInstanceOf(Date);
    const got = await server.trpc.channels.get.query({ name: 'beta', channel: 'bot' });
    expect(got.enabled).toBe(false);
    const pairing = await server.trpc.channels.pair.mutate({ name: 'beta', channel: 'bot' });
    expect(pairing.code).toMatch(/^[A-Z2-9]{8}$/);
    expect(pairing.expires_at.getTime()).toBeGreaterThan(Date.now());
    expect(await server.trpc.channels.listChats.query({ name: 'beta', channel: 'bot' })).toEqual({ chats: [], pagination: { total: 0, limit: 50, offset: 0, next_offset: null } });
    await expect(server.trpc.channels.get.query({ name: 'beta', channel: 'nope' })).rejects.toMatchObject({ data: { code: 'CHANNEL_NOT_FOUND', httpStatus: 404 } });
    expect(await server.trpc.channels.delete.mutate({ name: 'beta', channel: 'bot' })).toEqual({ name: 'bot', status: 'deleted' });
  });
});

describe('the http channel bound per agent', () => {
  beforeAll(async () => {
    await server.api.post('/api/agents/beta/vault', { key: 'HTTP_TOKEN', value: BETA_TOKEN });
    // Re-configured now that its secret exists.
    const beta = await server.api.post('/api/agents/beta/channels', { type: 'http', config: { authToken: '${vault:HTTP_TOKEN}', allowedTools: [] } });
    expect(beta.body.data).toMatchObject({ status: 'running', last_error: null });
  });

  it('runs the agent whose channel token the caller sends, with that channel\'s allowedTools', async () => {
    const alpha = await server.api.post('/v1/turn', { prompt: `Remember ${STORE_TAG}` }, bearer(ALPHA_TOKEN));
    expect(alpha.status).toBe(200);
    const alphaTurn = turnEvents(alpha.body);
    expect(await agentOf(server, alpha.body)).toBe('alpha');
    expect(alphaTurn.find((e) => e.type === 'tool_call_requested')).toMatchObject({ name: 'memory.store', callId: 'call_1' });
    expect(alphaTurn.find((e) => e.type === 'tool_call_approved')).toMatchObject({ callId: 'call_1', decidedBy: 'policy' });
    expect(alphaTurn.find((e) => e.type === 'tool_result')).toMatchObject({ callId: 'call_1', ok: true });
    expect((await server.api.get('/api/agents/alpha/memory')).body.data.memories.map((m: any) => m.content)).toEqual(['kept']);

    // beta's own allow-list has memory.*, its channel allows nothing: the channel wins.
    const beta = await server.api.post('/v1/turn', { prompt: `Remember ${STORE_TAG}` }, bearer(BETA_TOKEN));
    expect(beta.status).toBe(200);
    const betaTurn = turnEvents(beta.body);
    expect(await agentOf(server, beta.body)).toBe('beta');
    expect(betaTurn.find((e) => e.type === 'tool_call_denied')).toMatchObject({ callId: 'call_1', decidedBy: 'policy', reason: expect.stringContaining('not allowed') });
    expect(betaTurn.find((e) => e.type === 'tool_result')).toMatchObject({ callId: 'call_1', ok: false, error: { kind: 'denied' } });
    expect((await server.api.get('/api/agents/beta/memory')).body.data.memories).toEqual([]);
  });

  it('answers 401 for an unknown token once any channel exists, even without a server-wide channel', async () => {
    for (const headers of [{}, bearer('not-any-channel-token'), bearer(`${ALPHA_TOKEN}x`)]) {
      const res = await server.api.post('/v1/turn', { prompt: 'hi' }, headers);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('unauthorized');
    }
  });

  it('streams a turn for the bound agent and records the channel in its events', async () => {
    const res = await fetch(`${server.url}/v1/turn/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BETA_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'streamed to beta' }),
    });
    const text = await res.text();
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    const [first] = parseSse(text).events;
    expect(await agentOf(server, { events: [JSON.parse(first!.data)] })).toBe('beta');
    const audit = (await server.api.get('/api/audit?agent_id=beta&event_type=channel.message_received,channel.message_sent&limit=1000')).body.data.events;
    const received = audit.find((e: any) => e.event_type === 'channel.message_received' && e.payload.content === 'streamed to beta');
    expect(received.payload).toMatchObject({ channel: 'http', type: 'http' });
    expect(audit.some((e: any) => e.event_type === 'channel.message_sent' && e.payload.content === 'streamed to beta')).toBe(true);
  });

  it('redacts a literal channel token wherever it shows up in events', async () => {
    await server.api.post('/v1/turn', { prompt: `my token is ${ALPHA_TOKEN}` }, bearer(ALPHA_TOKEN));
    const audit = (await server.api.get('/api/audit?agent_id=alpha&event_type=channel.message_received&limit=1000')).body.data.events;
    expect(audit.at(-1).payload.content).toBe('my token is [REDACTED]');
    expect(JSON.stringify(audit)).not.toContain(ALPHA_TOKEN);
  });

  it('answers 503 channel_disabled while the only channel is disabled, and channel_not_configured when none is left', async () => {
    const other = await startTestServer();
    try {
      await other.api.post('/api/agents/default/channels', { type: 'http', config: { authToken: ALPHA_TOKEN, allowedTools: [] } });
      expect(await agentOf(other, (await other.api.post('/v1/turn', { prompt: 'hi' }, bearer(ALPHA_TOKEN))).body)).toBe('default');
      await other.api.patch('/api/agents/default/channels/http', { enabled: false });
      const disabled = await other.api.post('/v1/turn', { prompt: 'hi' }, bearer(ALPHA_TOKEN));
      expect(disabled.status).toBe(503);
      expect(disabled.body).toMatchObject({ error: 'channel_disabled', message: expect.stringContaining("The http channel 'http' of agent 'default' is disabled") });
      expect(disabled.body.message).not.toContain('moxxy.config');
      await other.api.delete('/api/agents/default/channels/http');
      const res = await other.api.post('/v1/turn', { prompt: 'hi' }, bearer(ALPHA_TOKEN));
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('channel_not_configured');
    } finally {
      await other.close();
    }
  });

  it('keeps the server-wide channels.http token (MOXXY_HTTP_TOKEN) working beside per-agent channels', async () => {
    const both = await startTestServer({ channels: { http: { authToken: 'the-server-wide-token-0123', allowedTools: [], agent: 'default' } } });
    try {
      await both.api.post('/api/agents', { name: 'gamma' });
      await both.api.post('/api/agents/gamma/channels', { type: 'http', config: { authToken: ALPHA_TOKEN, allowedTools: [] } });
      expect(await agentOf(both, (await both.api.post('/v1/turn', { prompt: 'hi' }, bearer('the-server-wide-token-0123'))).body)).toBe('default');
      expect(await agentOf(both, (await both.api.post('/v1/turn', { prompt: 'hi' }, bearer(ALPHA_TOKEN))).body)).toBe('gamma');
    } finally {
      await both.close();
    }
  });
});

describe('channel scopes and agent deletion', () => {
  it('needs channels:read to list and channels:write to configure', async () => {
    const guarded = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: 'internal-token-for-channel-tests' });
    try {
      const internal = { headers: { 'x-moxxy-internal-token': 'internal-token-for-channel-tests' } };
      const reader = (await guarded.api.post('/api/tokens', { name: 'reader', scopes: ['channels:read'] }, internal)).body.data.token;
      expect((await guarded.api.get('/api/agents/default/channels', bearer(reader))).status).toBe(200);
      const write = await guarded.api.post('/api/agents/default/channels', { type: 'http', config: { authToken: ALPHA_TOKEN, allowedTools: [] } }, bearer(reader));
      expect(write.status).toBe(403);
      expect(write.body.error.code).toBe('FORBIDDEN');
      expect((await guarded.api.get('/api/agents/default/channels')).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });

  it('deletes an agent\'s channels with the agent', async () => {
    await server.api.post('/api/agents', { name: 'doomed' });
    await server.api.post('/api/agents/doomed/channels', { type: 'http', config: { authToken: 'doomed-token-0123456789', allowedTools: [] } });
    expect((await server.api.post('/v1/turn', { prompt: 'hi' }, bearer('doomed-token-0123456789'))).status).toBe(200);
    expect((await server.api.delete('/api/agents/doomed')).status).toBe(200);
    expect((await server.api.post('/v1/turn', { prompt: 'hi' }, bearer('doomed-token-0123456789'))).status).toBe(401);
    await server.api.post('/api/agents', { name: 'doomed' });
    expect((await server.api.get('/api/agents/doomed/channels')).body.data.channels).toEqual([]);
  });
});

describe('moxxy channels (CLI)', () => {
  it('lists an agent\'s channels and prints a telegram pairing code', async () => {
    await server.api.post('/api/agents/alpha/channels', { channel: 'cli-bot', type: 'telegram', config: { botToken: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ' }, enabled: false });
    const env = { MOXXY_HOME: server.home, MOXXY_LOG_LEVEL: 'silent' };
    const list = await runCli(['channels', 'list', '--agent', 'alpha'], env);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')).toContain('cli-bot\ttelegram\tdisabled');
    expect(list.stdout).toContain('http\thttp\trunning');

    const pair = await runCli(['channels', 'pair', 'cli-bot', '--agent', 'alpha'], env);
    expect(pair.code).toBe(0);
    expect(pair.stdout.trim()).toMatch(/^[A-Z2-9]{8}$/);
    expect(pair.stderr).toContain(`/pair ${pair.stdout.trim()}`);

    const wrong = await runCli(['channels', 'pair', 'http', '--agent', 'alpha'], env);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('only telegram channels pair chats');
  });
});
