/**
 * The vault primitives (vault.set, vault.get, vault.list, vault.delete) as a model calls them: through the REST chat
 * and `moxxy run`, with the echo provider's literal <invoke> tags, or an OpenAI-compatible model mocked with msw.
 */
import { rmSync } from 'node:fs';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { createServices } from '../src/services/container.ts';
import { runCli } from './helpers/process.ts';
import { makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

const OPENAI = 'https://api.openai.test/v1';
const msw = setupServer();
let server: TestServer;

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  server = await startTestServer({ providers: { openai: { baseUrl: OPENAI, apiKey: 'sk-test-key' }, maxRetries: 0, retryBaseDelayMs: 1 } });
});
afterAll(async () => {
  msw.close();
  await server.close();
});

const invoke = (tool: string, args: unknown) => `<invoke name="${tool}">${JSON.stringify(args)}</invoke>`;

async function keeper(name: string, model?: unknown): Promise<void> {
  expect((await server.api.post('/api/agents', { name, allowed_tools: ['vault.*'], ...(model ? { model } : {}) })).status).toBe(201);
}

async function chat(agent: string, message: string) {
  const res = await server.api.post(`/api/agents/${agent}/chat`, { message });
  expect(res.status).toBe(200);
  return res.body.data as { content: string; run_id: string };
}

async function runEvents(runId: string): Promise<Array<{ event_type: string; payload: any }>> {
  return (await server.api.get(`/api/audit?run_id=${runId}&limit=1000`)).body.data.events;
}

describe('vault tools through the REST chat', () => {
  it("stores seed 000's gateway_port with vault.set, recorded as primitive.called and primitive.result", async () => {
    await keeper('gatekeeper');
    const reply = await chat('gatekeeper', `Store '18900' in vault as gateway_port ${invoke('vault.set', { key: 'gateway_port', value: '18900' })}`);
    expect(reply.content).toBe("vault.set: Stored secret 'gateway_port'.");
    expect((await server.api.get('/api/agents/gatekeeper/vault/gateway_port')).body.data).toMatchObject({ key: 'gateway_port', value: '18900' });
    const events = await runEvents(reply.run_id);
    expect(events.find((e) => e.event_type === 'primitive.called')?.payload).toMatchObject({ name: 'vault.set', kind: 'primitive' });
    expect(events.find((e) => e.event_type === 'primitive.result')?.payload).toMatchObject({ name: 'vault.set', is_error: false, output: "Stored secret 'gateway_port'." });
  });

  it('says when vault.set replaced a value, lists keys with vault.list and removes one with vault.delete', async () => {
    await keeper('rotator');
    await server.api.post('/api/agents/rotator/vault', { key: 'api_token', value: 'first-value' });
    expect((await chat('rotator', invoke('vault.set', { key: 'api_token', value: 'second-value' }))).content).toBe(
      "vault.set: Stored secret 'api_token' (replacing its previous value).",
    );
    await chat('rotator', invoke('vault.set', { key: 'db_password', value: 'hunter22' }));
    expect((await chat('rotator', invoke('vault.list', {}))).content).toBe('vault.list: api_token\ndb_password');
    expect((await chat('rotator', invoke('vault.delete', { key: 'api_token' }))).content).toBe("vault.delete: Deleted secret 'api_token'.");
    expect((await server.api.get('/api/agents/rotator/vault/api_token')).status).toBe(404);
    expect((await chat('rotator', invoke('vault.delete', { key: 'api_token' }))).content).toBe("vault.delete: Error: Secret 'api_token' not found for agent 'rotator'");
  });

  it('answers bad arguments as an error the model can read', async () => {
    await keeper('careless');
    expect((await chat('careless', invoke('vault.set', { key: '9lives', value: 'x' }))).content).toMatch(/^vault\.set: Invalid arguments: .*key/s);
  });

  it("refuses the vault tools to an agent whose allowed_tools do not name them, and stores nothing", async () => {
    expect((await server.api.post('/api/agents', { name: 'outsider', allowed_tools: ['memory.*'] })).status).toBe(201);
    const reply = await chat('outsider', invoke('vault.set', { key: 'gateway_port', value: '18900' }));
    expect(reply.content).toBe("vault.set: Tool 'vault.set' is not allowed: the agent 'outsider' allow-list does not include it");
    expect((await server.api.get('/api/agents/outsider/vault/gateway_port')).status).toBe(404);
    expect((await runEvents(reply.run_id)).find((e) => e.event_type === 'security.violation')?.payload).toMatchObject({ reason: 'tool_not_allowed', tool: 'vault.set' });
  });

  it('shows a value read with vault.get as [REDACTED] to the caller, in the run and in every event, and audits the read', async () => {
    await keeper('reader');
    await server.api.post('/api/agents/reader/vault', { key: 'gateway_port', value: '18900' });
    const reply = await chat('reader', invoke('vault.get', { key: 'gateway_port' }));
    expect(reply.content).toBe('vault.get: [REDACTED]');
    const run = (await server.api.get(`/api/runs/${reply.run_id}`)).body.data;
    expect(run.steps.find((step: any) => step.type === 'tool')).toMatchObject({ name: 'vault.get', output: '[REDACTED]', is_error: false });
    const events = await runEvents(reply.run_id);
    expect(events.find((e) => e.event_type === 'primitive.result')?.payload).toMatchObject({ name: 'vault.get', output: '[REDACTED]' });
    expect(JSON.stringify(events)).not.toContain('18900');
    const reads = (await server.api.get('/api/audit?agent_id=reader&event_type=vault.accessed')).body.data.events;
    expect(reads.map((e: any) => e.payload)).toEqual([expect.objectContaining({ key: 'gateway_port', source: 'tool' })]);
  });
});

describe('vault.get and the model', () => {
  it('gives the model the value itself, while the caller and the records see [REDACTED]', async () => {
    await keeper('deployer', { provider: 'openai', name: 'gpt-4o-mini' });
    await server.api.post('/api/agents/deployer/vault', { key: 'gateway_port', value: '18900' });
    const requests: any[] = [];
    const sse = (chunk: unknown) => `data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`;
    msw.use(
      http.post(`${OPENAI}/chat/completions`, async ({ request }) => {
        requests.push(await request.json());
        const chunk =
          requests.length === 1
            ? { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'vault__get', arguments: '{"key":"gateway_port"}' } }] }, finish_reason: 'tool_calls' }] }
            : { choices: [{ index: 0, delta: { content: 'The gateway listens on its configured port.' }, finish_reason: 'stop' }] };
        return new HttpResponse(sse(chunk), { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const reply = await chat('deployer', 'Which port does the gateway use?');
    expect(reply.content).toBe('The gateway listens on its configured port.');
    expect(requests[1].messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_1', content: '18900' });
    expect(JSON.stringify(await runEvents(reply.run_id))).not.toContain('18900');
    const history = (await server.api.get(`/api/agents/deployer/chat/history?limit=100`)).body.data;
    expect(JSON.stringify(history)).not.toContain('18900');
  });
});

describe('vault tools through `moxxy run`', () => {
  const home = makeTempHome();
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("runs seed 000's example with the echo provider's <invoke> tag, for a default agent allowed vault.*", async () => {
    const services = await createServices(await loadConfig({ cwd: home, env: { MOXXY_HOME: home }, overrides: { logLevel: 'silent' } }));
    await services.agents.update('default', { allowed_tools: ['vault.*'] });
    await services.close();
    const prompt = `Store '18900' in vault as gateway_port ${invoke('vault.set', { key: 'gateway_port', value: '18900' })}`;
    const run = await runCli(['run', '--agent', 'default', '--prompt', prompt], { MOXXY_HOME: home }, home);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("<- vault.set: Stored secret 'gateway_port'.");
    expect(run.stdout).toBe("vault.set: Stored secret 'gateway_port'.\n");
    const read = await runCli(['vault', 'get', 'gateway_port', '--agent', 'default'], { MOXXY_HOME: home }, home);
    expect(read.stdout.trim()).toBe('18900');
  }, 60_000); // two runs of the command
});
