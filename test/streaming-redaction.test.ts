/**
 * Secrets a model streams back — split across chunks, encoded, or echoed in a provider's error — reach no reader
 * whole or in rebuildable pieces: chat SSE, /v1/turn/stream, the event stream, the audit log, runs, stored messages
 * and the server's logs.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { createServices } from '../src/services/container.ts';
import { readSse } from './helpers/sse.ts';
import { makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

const OPENAI = 'https://api.openai.test/v1';
const SECRET = 'CANARYSPLIT-58672fe9';
/** The pieces a model streams the secret in: none of them may show anywhere. */
const PIECES = ['CANAR', 'YSPLIT-58', '672fe9'];
const CHANNEL_TOKEN = 'splitter-channel-token-0123456789';

const msw = setupServer();
let server: TestServer;

/** The mocked model answers with these text deltas, one SSE chunk each (with `error`: a failure inside the stream). */
function modelStreams(deltas: string[], error?: (authorization: string | null) => string) {
  msw.use(
    http.post(`${OPENAI}/chat/completions`, ({ request }) => {
      const chunks = deltas.map((content) => JSON.stringify({ choices: [{ index: 0, delta: { content } }] }));
      if (error) chunks.push(JSON.stringify({ error: { message: error(request.headers.get('authorization')) } }));
      else chunks.push(JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }), '[DONE]');
      return new HttpResponse(chunks.map((chunk) => `data: ${chunk}\n\n`).join(''), { headers: { 'content-type': 'text/event-stream' } });
    }),
  );
}

async function audit(runId: string): Promise<Array<{ event_id: string; event_type: string; payload: any }>> {
  return (await server.api.get(`/api/audit?run_id=${runId}&limit=1000`)).body.data.events;
}

function expectNoPiece(text: string, label: string): void {
  for (const piece of [SECRET, ...PIECES]) expect(text, `${label} holds ${piece}`).not.toContain(piece);
}

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  server = await startTestServer({ providers: { openai: { baseUrl: OPENAI, apiKey: '${vault:OPENAI_KEY}' }, maxRetries: 0, retryBaseDelayMs: 1 } });
  for (const agent of ['splitter', 'encoder']) {
    expect((await server.api.post('/api/agents', { name: agent, model: { provider: 'openai', name: 'gpt-4o-mini' } })).status).toBe(201);
  }
  // `${vault:OPENAI_KEY}` in the configuration names the server's own vault.
  expect((await server.api.post('/api/vault', { key: 'OPENAI_KEY', value: 'sk-splitter-key-5a9d0c44e1' })).status).toBe(201);
  expect((await server.api.post('/api/agents/splitter/vault', { key: 'SPLIT_KEY', value: SECRET })).status).toBe(201);
  expect((await server.api.post('/api/agents/splitter/channels', { type: 'http', config: { authToken: CHANNEL_TOKEN, allowedTools: [] } })).status).toBe(201);
});
afterEach(() => msw.resetHandlers());
afterAll(async () => {
  msw.close();
  await server.close();
});

describe('a vault secret streamed in pieces', () => {
  const deltas = ['The key is ', PIECES[0]!, PIECES[1]!, PIECES[2]!, ' and that is all.'];
  const answer = 'The key is [REDACTED] and that is all.';

  it('never shows in the chat SSE frames, the event stream, the audit log, the run or the stored messages', async () => {
    modelStreams(deltas);
    const live = readSse(`${server.url}/v1/events/stream?agent_id=splitter`, {}, (events) => events.some((event) => event.data.includes('"run.completed"')));
    await expect.poll(() => server.services.events.subscriberCount).toBeGreaterThan(0);

    const chat = await readSse(`${server.url}/api/agents/splitter/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'What is the key?', session_id: 'split-session' }),
    });
    const frames = chat.events.map((event) => JSON.parse(event.data));
    const done = frames.at(-1);
    expect(done).toMatchObject({ done: true, status: 'completed', content: answer });
    expect(frames.slice(0, -1).map((frame) => frame.content).join('')).toBe(answer);
    expectNoPiece(chat.events.map((event) => event.data).join('\n'), 'the chat stream');

    const events = await audit(done.run_id);
    const streamed = events.filter((event) => event.event_type === 'model.stream');
    expect(streamed.map((event) => event.payload.delta).join('')).toBe(answer);
    expect(events.find((event) => event.event_type === 'model.response')?.payload.content).toBe(answer);
    const withSecret = streamed.find((event) => event.payload.delta.includes('[REDACTED]'))!;
    expect(events.find((event) => event.event_type === 'security.redacted' && event.payload.event_id === withSecret.event_id)?.payload).toEqual({
      event_id: withSecret.event_id,
      count: 1,
    });
    expectNoPiece(JSON.stringify(events), 'the audit log');
    expectNoPiece((await live).events.map((event) => event.data).join('\n'), 'the event stream');

    const run = (await server.api.get(`/api/runs/${done.run_id}`)).body.data;
    expect(run).toMatchObject({ status: 'completed', output: answer, steps: [expect.objectContaining({ type: 'model', content: answer })] });
    const history = (await server.api.get('/api/agents/splitter/chat/history?session_id=split-session')).body.data.messages;
    expect(history.map((message: any) => message.content)).toEqual(['What is the key?', answer]);

    await server.services.database.client.execute('PRAGMA wal_checkpoint(TRUNCATE)');
    expectNoPiece(readFileSync(join(server.home, 'moxxy.db')).toString('latin1'), 'the database file');
  });

  it('never shows in /v1/turn/stream assistant_chunk deltas nor in the turn\'s final message', async () => {
    modelStreams(deltas);
    const turn = await readSse(`${server.url}/v1/turn/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CHANNEL_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'What is the key?' }),
    });
    expect(turn.status).toBe(200);
    const events = turn.events.slice(0, -1).map((event) => JSON.parse(event.data));
    expect(events.filter((event) => event.type === 'assistant_chunk').map((event) => event.delta).join('')).toBe(answer);
    expect(events.find((event) => event.type === 'assistant_message')).toMatchObject({ type: 'assistant_message', content: answer, stopReason: 'end_turn' });
    expectNoPiece(turn.events.map((event) => event.data).join('\n'), '/v1/turn/stream');
  });

  it('answers a whole turn with the secret redacted', async () => {
    modelStreams(deltas);
    const res = await server.api.post('/api/agents/splitter/chat', { message: 'again?' });
    expect(res.body.data.content).toBe(answer);
  });
});

describe('a provider error that echoes the API key', () => {
  it('is redacted in the chat answer, the chat stream and GET /api/runs/{id}', async () => {
    const echoKey = (authorization: string | null) => `upstream rejected ${authorization}`;
    const expected = 'openai stream failed: upstream rejected Bearer [REDACTED]';

    modelStreams(['Hello'], echoKey);
    const res = await server.api.post('/api/agents/splitter/chat', { message: 'hi' });
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: 'PROVIDER_ERROR', message: expected });
    const run = (await server.api.get(`/api/runs/${res.body.error.details.run_id}`)).body.data;
    expect(run).toMatchObject({ status: 'failed', error: { code: 'PROVIDER_ERROR', message: expected } });

    modelStreams(['Hello'], echoKey);
    const stream = await readSse(`${server.url}/api/agents/splitter/chat/stream?message=hi`);
    expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({ done: true, status: 'failed', error: { message: expected } });
    expect(JSON.stringify([res.body, run, stream.events])).not.toContain('sk-splitter-key');
  });
});

describe('encoded forms of a secret', () => {
  const secret = 'p@ss "w0rd"/é+€?&=42';
  const forms = {
    'JSON-escaped': JSON.stringify(secret).slice(1, -1),
    'URL-encoded': encodeURIComponent(secret),
    base64: Buffer.from(`xy${secret}`).toString('base64'),
    base64url: Buffer.from(`x${secret}!`).toString('base64url'),
  };

  it.each(Object.entries(forms))('redacts the %s form in events and the answer, split across chunks too', async (_name, form) => {
    await server.api.post('/api/agents/encoder/vault', { key: 'PASSWORD', value: secret });
    const cut = Math.floor(form.length / 2);
    modelStreams([`here: ${form.slice(0, cut)}`, `${form.slice(cut)} done`]);
    const res = await server.api.post('/api/agents/encoder/chat', { message: 'encode it' });
    expect(res.body.data.content).toMatch(/^here: .{0,4}\[REDACTED\].{0,4} done$/);
    const events = JSON.stringify(await audit(res.body.data.run_id));
    expect(events).toContain('[REDACTED]');
    for (const text of [res.body.data.content, events]) {
      expect(text).not.toContain(form.slice(4, -4));
      expect(text).not.toContain(secret);
    }
  });
});

describe('server-held secrets', () => {
  const INTERNAL_TOKEN = 'internal-token-7c1e2b9a44d0';
  const MASTER_KEY = 'AB'.repeat(32);

  it('redacts the internal token and the master key (as configured and as its key file holds it)', async () => {
    const configured = await startTestServer(
      { auth: { internalToken: INTERNAL_TOKEN }, vault: { masterKey: MASTER_KEY }, providers: { openai: { baseUrl: OPENAI, apiKey: 'sk-configured-literal-key' } } },
    );
    const fromFile = await startTestServer({ providers: { openai: { baseUrl: OPENAI, apiKey: 'sk-configured-literal-key' } } });
    try {
      const keyFile = readFileSync(join(fromFile.home, 'vault.key'), 'utf8').trim();
      const cases: Array<{ target: TestServer; headers: Record<string, string>; secrets: string[] }> = [
        { target: configured, headers: { 'x-moxxy-internal-token': INTERNAL_TOKEN }, secrets: [INTERNAL_TOKEN, MASTER_KEY, 'sk-configured-literal-key'] },
        { target: fromFile, headers: {}, secrets: [keyFile, Buffer.from(keyFile, 'hex').toString('base64'), 'sk-configured-literal-key'] },
      ];
      for (const { target, headers, secrets } of cases) {
        await target.api.patch('/api/agents/default', { model: { provider: 'openai', name: 'gpt-4o-mini' } }, { headers });
        modelStreams(secrets.flatMap((secret) => [`[${secret.slice(0, 7)}`, `${secret.slice(7)}] `]));
        const res = await target.api.post('/api/agents/default/chat', { message: 'leak them' }, { headers });
        expect(res.body.data.content).toBe('[[REDACTED]] '.repeat(secrets.length));
        const events = await target.api.get(`/api/audit?run_id=${res.body.data.run_id}&limit=1000`, { headers });
        for (const secret of secrets) expect(JSON.stringify(events.body)).not.toContain(secret.slice(0, 8));
      }
    } finally {
      await Promise.all([configured.close(), fromFile.close()]);
    }
  });

  it("redacts secrets from the services' log lines, error stacks included", async () => {
    const log = new PassThrough();
    let text = '';
    log.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const home = makeTempHome();
    const config = await loadConfig({ cwd: home, env: { MOXXY_HOME: home }, overrides: { logLevel: 'info', auth: { internalToken: 'internal-"quoted"-token' } } });
    const services = await createServices(config, { logStream: log });
    try {
      await services.vault.set('default', { key: 'SPLIT_KEY', value: SECRET });
      services.logger.error({ err: new Error(`connect failed for ${SECRET}`), header: 'internal-"quoted"-token' }, `could not use ${SECRET}`);
      await expect.poll(() => text).toContain('"level":50');
      const line = JSON.parse(text);
      expect(line).toMatchObject({ msg: 'could not use [REDACTED]', header: '[REDACTED]', err: { message: 'connect failed for [REDACTED]' } });
      expect(line.err.stack).toContain('Error: connect failed for [REDACTED]');
      expect(text).not.toContain('quoted');
    } finally {
      await services.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
