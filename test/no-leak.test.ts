/**
 * A canary secret stored through the API must show up nowhere but in its one explicit read: not in the database
 * file, the server log, the event stream, the audit log, skill output, error messages or any other response.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from './helpers/sse.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const CANARY = 'canary-7f3a9c2e-SECRET-d41d8cd9';
const OPENAI = 'https://api.openai.test/v1';
const msw = setupServer(
  // Like OpenAI, the 401 repeats the key it was given.
  http.post(`${OPENAI}/chat/completions`, ({ request }) =>
    HttpResponse.json({ error: { message: `Incorrect API key provided: ${request.headers.get('authorization')}` } }, { status: 401 }),
  ),
);
const log = new PassThrough();
let logText = '';
log.on('data', (chunk: Buffer) => (logText += chunk.toString()));
let server: TestServer;
/** Every body the API answered with, besides the explicit read. */
const responses: string[] = [];

async function get(path: string): Promise<unknown> {
  const res = await server.api.get(path);
  expect(res.status, path).toBeLessThan(400);
  responses.push(JSON.stringify(res.body));
  return res.body;
}

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  server = await startTestServer(
    { logLevel: 'trace', providers: { openai: { baseUrl: OPENAI, apiKey: '${vault:CANARY}' }, maxRetries: 0, retryBaseDelayMs: 1 } },
    {},
    { logStream: log },
  );
  for (const agent of ['default', 'paid']) {
    if (agent !== 'default') await server.api.post('/api/agents', { name: agent, model: { provider: 'openai', name: 'gpt-4o-mini' } });
    const stored = await server.api.post(`/api/agents/${agent}/vault`, { key: 'CANARY', value: CANARY });
    expect(stored.status).toBe(201);
    responses.push(JSON.stringify(stored.body));
  }
  // The provider's `${vault:CANARY}` is the server's own secret (the same value, so one canary covers both vaults).
  const serverSecret = await server.api.post('/api/vault', { key: 'CANARY', value: CANARY });
  expect(serverSecret.status).toBe(201);
  responses.push(JSON.stringify(serverSecret.body));
  const skill = await server.api.post('/api/agents/default/skills', {
    name: 'leaky',
    language: 'bash',
    code: 'echo "the secret is $CANARY"',
    needs_env: true,
    env_keys: ['CANARY'],
    usage_example: '<invoke name="leaky">[]</invoke>',
  });
  expect(skill.status).toBe(201);
  await server.api.patch('/api/agents/default', { allowed_tools: ['leaky'] });
});
afterAll(async () => {
  msw.close();
  await server.close();
});

describe('the vault leaks no secret', () => {
  it('returns the value only from the explicit read', async () => {
    const read = await server.api.get('/api/agents/default/vault/CANARY');
    expect(read.body.data.value).toBe(CANARY);
  });

  it('redacts it from the output of a skill that prints it', async () => {
    const res = await server.api.post('/api/agents/default/skills/leaky/invoke', { args: [] });
    expect(res.status).toBe(200);
    expect(res.body.data.output.trim()).toBe('the secret is [REDACTED]');
    responses.push(JSON.stringify(res.body));
  });

  it('keeps it out of the event stream and the answer of a run whose skill prints it', async () => {
    const stream = readSse(`${server.url}/v1/events/stream?agent_id=default`, {}, (events) => events.some((event) => event.data.includes('"run.completed"')));
    await expect.poll(() => server.services.events.subscriberCount).toBeGreaterThan(0);
    const chat = await server.api.post('/api/agents/default/chat', { message: 'run it <invoke name="leaky">[]</invoke>', session_id: 'leak-session' });
    expect(chat.status).toBe(200);
    responses.push(JSON.stringify(chat.body));
    const { events } = await stream;
    const text = events.map((event) => event.data).join('\n');
    expect(text).toContain('the secret is [REDACTED]');
    expect(text).not.toContain(CANARY);
    await get(`/api/runs/${chat.body.data.run_id}`);
  });

  it('keeps it out of the error of a provider that rejects ${vault:CANARY} as its API key', async () => {
    const res = await server.api.post('/api/agents/paid/chat', { message: 'hello' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('PROVIDER_ERROR');
    expect(res.body.error.message).toContain('[REDACTED]');
    responses.push(JSON.stringify(res.body));
  });

  it('keeps it out of every other response, the audit log and the server log', async () => {
    await get('/api/agents');
    for (const agent of ['default', 'paid']) {
      await get(`/api/agents/${agent}`);
      await get(`/api/agents/${agent}/vault`);
      await get(`/api/agents/${agent}/chat/history?limit=100`);
      await get(`/api/agents/${agent}/sessions`);
      await get(`/api/agents/${agent}/memory`);
      await get(`/api/agents/${agent}/skills`);
      await get(`/api/agents/${agent}/mcp/servers`);
    }
    await get('/api/agents/default/skills/leaky');
    await get('/api/agents/default/skills/leaky/source');
    await get('/api/audit?limit=1000');
    const rawAudit = await fetch(`${server.url}/v1/audit?limit=1000`);
    responses.push(await rawAudit.text());

    const all = responses.join('\n');
    expect(all).toContain('[REDACTED]');
    expect(all).not.toContain(CANARY);
    expect(logText.length).toBeGreaterThan(0);
    expect(logText).not.toContain(CANARY);
  });

  it('keeps it out of the database files', async () => {
    await server.services.database.client.execute('PRAGMA wal_checkpoint(TRUNCATE)');
    const files = ['moxxy.db', 'moxxy.db-wal'].map((name) => join(server.home, name)).filter((file) => existsSync(file));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(readFileSync(file).includes(CANARY), file).toBe(false);
  });
});
