import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

const OPENAI = 'https://api.openai.test/v1';

/**
 * The echo provider's tag for a subagent.spawn call. `</` is written `<\/` (the same string in JSON), so a tag can
 * carry a nested tag for the sub-agent to run without closing the outer one.
 */
function spawnTag(prompt: string, agent?: string): string {
  return `<invoke name="subagent.spawn">${JSON.stringify({ ...(agent ? { agent } : {}), prompt }).replaceAll('</', '<\\/')}</invoke>`;
}

async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('timed out');
}

const msw = setupServer();
let server: TestServer;

async function subagentEvents(server: TestServer, type: string, parentRunId: string): Promise<any[]> {
  const res = await server.api.get(`/api/audit?event_type=${type}&limit=1000`);
  return res.body.data.events.filter((event: any) => event.payload.parent_run_id === parentRunId);
}

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  server = await startTestServer({ providers: { openai: { baseUrl: OPENAI, apiKey: 'test-key' }, maxRetries: 0, retryBaseDelayMs: 1 } });
  await server.api.post('/api/agents', { name: 'boss', allowed_tools: ['subagent.spawn'], subagents: ['helper', 'sloth', 'ghost'] });
  await server.api.post('/api/agents', { name: 'helper', system_prompt: 'You help.' });
});
afterAll(async () => {
  msw.close();
  await server.close();
});

describe('subagent.spawn', () => {
  it('runs a child run and hands its answer back to the parent, with lineage on both runs and events', async () => {
    const reply = await server.api.post('/api/agents/boss/chat', { message: `Delegating: ${spawnTag('Report back: all good')}` });
    expect(reply.status).toBe(200);
    expect(reply.body.data.content).toBe('subagent.spawn: Report back: all good');

    const parent = (await server.api.get(`/api/runs/${reply.body.data.run_id}`)).body.data;
    expect(parent).toMatchObject({ parent_run_id: null, depth: 0, status: 'completed' });
    expect(parent.steps.find((step: any) => step.type === 'tool')).toMatchObject({ name: 'subagent.spawn', output: 'Report back: all good', is_error: false });

    const [spawned] = await subagentEvents(server, 'subagent.spawned', parent.id);
    expect(spawned).toMatchObject({
      agent_id: 'boss',
      run_id: parent.id,
      payload: { parent_run_id: parent.id, child_run_id: expect.stringMatching(/^run_/), agent: 'boss', depth: 1, prompt: 'Report back: all good' },
    });
    const childId = spawned.payload.child_run_id;
    const child = (await server.api.get(`/api/runs/${childId}`)).body.data;
    expect(child).toMatchObject({ agent_id: 'boss', parent_run_id: parent.id, depth: 1, source: 'subagent', input: 'Report back: all good', output: 'Report back: all good', status: 'completed' });
    expect(child.session_id).not.toBe(parent.session_id);

    expect(await subagentEvents(server, 'subagent.completed', parent.id)).toEqual([
      expect.objectContaining({
        run_id: parent.id,
        payload: expect.objectContaining({ parent_run_id: parent.id, child_run_id: childId, agent: 'boss', depth: 1, status: 'completed', output: 'Report back: all good' }),
      }),
    ]);
  });

  it('hands the task to another agent by name, and reports an unknown agent to the model', async () => {
    const reply = await server.api.post('/api/agents/boss/chat', { message: spawnTag('Ask the helper', 'helper') });
    expect(reply.body.data.content).toBe('subagent.spawn: Ask the helper');
    const [spawned] = await subagentEvents(server, 'subagent.spawned', reply.body.data.run_id);
    expect((await server.api.get(`/api/runs/${spawned.payload.child_run_id}`)).body.data).toMatchObject({ agent_id: 'helper', depth: 1 });

    const ghost = await server.api.post('/api/agents/boss/chat', { message: spawnTag('Anyone?', 'ghost') });
    expect(ghost.status).toBe(200);
    expect(ghost.body.data.content).toBe("subagent.spawn: Error: Agent 'ghost' not found");
    expect(await subagentEvents(server, 'subagent.spawned', ghost.body.data.run_id)).toEqual([]);
  });

  it('hands tasks only to itself and the agents its subagents list names', async () => {
    await server.api.post('/api/agents', { name: 'stranger', allowed_tools: ['*'] });
    const reply = await server.api.post('/api/agents/boss/chat', { message: spawnTag('Do my bidding', 'stranger') });
    expect(reply.body.data.content).toBe(
      "subagent.spawn: Error: agent 'boss' may not hand tasks to 'stranger': only to itself and the agents in its subagents list (helper, sloth, ghost)",
    );
    expect(await subagentEvents(server, 'subagent.spawned', reply.body.data.run_id)).toEqual([]);
    const violations = (await server.api.get(`/api/audit?event_type=security.violation&limit=1000`)).body.data.events;
    expect(violations.find((event: any) => event.run_id === reply.body.data.run_id)?.payload).toEqual({
      reason: 'subagent_not_allowed', agent: 'stranger', tool: 'subagent.spawn',
    });
  });

  it('refuses a third level below the top-level run (depth limit 2) without failing any run', async () => {
    const reply = await server.api.post('/api/agents/boss/chat', { message: spawnTag(spawnTag(spawnTag('Too deep'))) });
    expect(reply.status).toBe(200);
    expect(reply.body.data.content).toMatch(
      /^subagent\.spawn: subagent\.spawn: subagent\.spawn: Error: sub-agent depth limit reached: this run is already 2 level\(s\) deep and sub-agents may go 2 deep/,
    );

    const top = reply.body.data.run_id;
    const [first] = await subagentEvents(server, 'subagent.spawned', top);
    const [second] = await subagentEvents(server, 'subagent.spawned', first.payload.child_run_id);
    expect(second.payload.depth).toBe(2);
    expect(await subagentEvents(server, 'subagent.spawned', second.payload.child_run_id)).toEqual([]);
    const deepest = (await server.api.get(`/api/runs/${second.payload.child_run_id}`)).body.data;
    expect(deepest).toMatchObject({ depth: 2, parent_run_id: first.payload.child_run_id, status: 'completed' });
    expect(deepest.steps.find((step: any) => step.type === 'tool')).toMatchObject({ name: 'subagent.spawn', is_error: true });
    const runs = await server.services.database.client.execute({ sql: 'SELECT depth FROM runs WHERE id IN (?, ?, ?) ORDER BY depth', args: [top, first.payload.child_run_id, second.payload.child_run_id] });
    expect(runs.rows.map((row) => Number(row.depth))).toEqual([0, 1, 2]);
  });

  it('is offered only to agents that allow it', async () => {
    const reply = await server.api.post('/api/agents/helper/chat', { message: spawnTag('Not for me') });
    expect(reply.body.data.content).toBe("subagent.spawn: Tool 'subagent.spawn' is not allowed: the agent 'helper' allow-list does not include it");
  });

  it('cancels the child when the parent is cancelled', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    msw.use(
      http.post(`${OPENAI}/chat/completions`, async () => {
        await gate;
        return new HttpResponse('data: [DONE]\n\n', { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    await server.api.post('/api/agents', { name: 'sloth', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    try {
      const chat = server.api.post('/api/agents/boss/chat', { message: spawnTag('Take your time', 'sloth') });
      const spawned = await waitFor(async () => {
        const events = (await server.api.get('/api/audit?event_type=subagent.spawned&limit=1000')).body.data.events;
        return events.find((event: any) => event.payload.agent === 'sloth');
      });
      const cancelled = await server.api.post(`/api/runs/${spawned.payload.parent_run_id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.data.status).toBe('cancelled');
      expect((await server.api.get(`/api/runs/${spawned.payload.child_run_id}`)).body.data).toMatchObject({ status: 'cancelled', parent_run_id: spawned.payload.parent_run_id });
      expect((await chat).status).toBe(200);
      const [completed] = await subagentEvents(server, 'subagent.completed', spawned.payload.parent_run_id);
      expect(completed.payload).toMatchObject({ child_run_id: spawned.payload.child_run_id, status: 'cancelled' });
    } finally {
      release();
    }
  });
});

describe('sub-agent limits from configuration', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ runtime: { subagents: { maxDepth: 5, maxTotal: 1 } } });
    await limited.api.patch('/api/agents/default', { allowed_tools: ['subagent.*'] });
  });
  afterAll(() => limited.close());

  it('refuses a spawn while maxTotal sub-agents are alive', async () => {
    const reply = await limited.api.post('/api/agents/default/chat', { message: spawnTag(spawnTag('Second')) });
    expect(reply.body.data.content).toBe('subagent.spawn: subagent.spawn: Error: too many sub-agents running (limit 1); try again later or do the task yourself');
    // Once the first has ended, there is room again.
    const again = await limited.api.post('/api/agents/default/chat', { message: spawnTag('Fine') });
    expect(again.body.data.content).toBe('subagent.spawn: Fine');
    const alive = await limited.services.database.client.execute("SELECT count(*) AS n FROM runs WHERE source = 'subagent' AND status = 'running'");
    expect(Number(alive.rows[0]!.n)).toBe(0);
  });
});
