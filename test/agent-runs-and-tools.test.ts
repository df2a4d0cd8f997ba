import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.api.post('/api/agents', { name: 'lister', allowed_tools: ['memory.*'] });
  await server.api.post('/api/agents', { name: 'other' });
});
afterAll(() => server.close());

describe("GET /api/agents/{name}/runs (runs.list)", () => {
  it("lists the agent's runs newest first, with their status, steps and usage", async () => {
    const first = await server.api.post('/api/agents/lister/chat', { message: 'first', session_id: 'ses-one' });
    const second = await server.api.post('/api/agents/lister/chat', { message: '<invoke name="memory.store">{"content":"listed"}</invoke>', session_id: 'ses-two' });
    await server.api.post('/api/agents/other/chat', { message: 'not mine' });

    const res = await server.api.get('/api/agents/lister/runs');
    expect(res.status).toBe(200);
    const { runs, pagination } = res.body.data;
    expect(runs.map((run: { id: string }) => run.id)).toEqual([second.body.data.run_id, first.body.data.run_id]);
    expect(pagination).toEqual({ total: 2, limit: 50, offset: 0, next_offset: null });
    expect(runs[0]).toMatchObject({ agent_id: 'lister', session_id: 'ses-two', status: 'completed', source: 'api' });
    expect(runs[0].steps.map((step: { type: string }) => step.type)).toEqual(['model', 'tool', 'model']);
    expect(runs[0].usage.output_tokens).toBeGreaterThan(0);
  });

  it('filters by session and status, and pages with limit and offset', async () => {
    const bySession = await server.api.get('/api/agents/lister/runs?session_id=ses-one');
    expect(bySession.body.data.runs.map((run: { input: string }) => run.input)).toEqual(['first']);
    expect((await server.api.get('/api/agents/lister/runs?status=failed')).body.data.runs).toEqual([]);
    const page = await server.api.get('/api/agents/lister/runs?limit=1&offset=1');
    expect(page.body.data.runs.map((run: { input: string }) => run.input)).toEqual(['first']);
    expect(page.body.data.pagination).toEqual({ total: 2, limit: 1, offset: 1, next_offset: null });
  });

  it('answers the same over tRPC, with Dates', async () => {
    const viaTrpc = await server.trpc.runs.list.query({ name: 'lister', limit: 5 });
    expect(viaTrpc.runs[0]!.created_at).toBeInstanceOf(Date);
    expect(JSON.parse(JSON.stringify(viaTrpc))).toEqual((await server.api.get('/api/agents/lister/runs?limit=5')).body.data);
  });

  it('answers 404 AGENT_NOT_FOUND for an unknown agent and 400 for an unknown status', async () => {
    const missing = await server.api.get('/api/agents/ghost/runs');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('AGENT_NOT_FOUND');
    expect((await server.api.get('/api/agents/lister/runs?status=sleeping')).status).toBe(400);
  });
});

describe('GET /api/agents/{name}/tools (agents.tools)', () => {
  it('lists primitives, skills and built-ins with whether the agent allows each, host tools marked', async () => {
    await server.api.post('/api/agents/lister/skills', { name: 'greet', language: 'bash', code: 'echo hi' });
    const res = await server.api.get('/api/agents/lister/tools');
    expect(res.status).toBe(200);
    const tools: Array<{ name: string; kind: string; host_tool: boolean; allowed: boolean }> = res.body.data.tools;
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    expect(byName.get('memory.store')).toMatchObject({ kind: 'primitive', host_tool: false, allowed: true });
    expect(byName.get('subagent.spawn')).toMatchObject({ kind: 'primitive', allowed: false });
    expect(byName.get('greet')).toMatchObject({ kind: 'skill', host_tool: false, allowed: false });
    expect(byName.get('host_shell')).toMatchObject({ kind: 'skill', host_tool: true, allowed: false });
    expect(tools.filter((tool) => tool.host_tool).map((tool) => tool.name)).toEqual(['host_shell']);
    const kinds = tools.map((tool) => tool.kind);
    expect(kinds).toEqual([...kinds].sort((a, b) => ['primitive', 'skill', 'mcp'].indexOf(a) - ['primitive', 'skill', 'mcp'].indexOf(b)));
  });

  it('follows the allow-list: `*` allows every tool but host tools, which only their exact name allows', async () => {
    await server.api.patch('/api/agents/other', { allowed_tools: ['*'] });
    const star = (await server.api.get('/api/agents/other/tools')).body.data.tools as Array<{ name: string; allowed: boolean }>;
    expect(star.filter((tool) => !tool.allowed).map((tool) => tool.name)).toEqual(['host_shell']);
    await server.api.patch('/api/agents/other', { allowed_tools: ['*', 'host_shell'] });
    const all = (await server.api.get('/api/agents/other/tools')).body.data.tools as Array<{ allowed: boolean }>;
    expect(all.every((tool) => tool.allowed)).toBe(true);
  });

  it('answers 404 AGENT_NOT_FOUND for an unknown agent, over REST and tRPC', async () => {
    expect((await server.api.get('/api/agents/ghost/tools')).body.error.code).toBe('AGENT_NOT_FOUND');
    await expect(server.trpc.agents.tools.query({ name: 'ghost' })).rejects.toMatchObject({ data: { code: 'AGENT_NOT_FOUND' } });
  });
});
