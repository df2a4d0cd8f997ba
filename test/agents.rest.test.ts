import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('agents over REST', () => {
  it('has a default agent on the echo provider after the first start', async () => {
    const res = await server.api.get('/api/agents/default');
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.data).toMatchObject({ name: 'default', model: { provider: 'echo', name: 'echo' }, allowed_tools: [] });
    expect(new Date(res.body.data.created_at).toISOString()).toBe(res.body.data.created_at);
  });

  it('creates an agent with 201 and the MUXI model fields', async () => {
    const res = await server.api.post('/api/agents', {
      name: 'researcher',
      description: 'Finds things',
      model: { provider: 'openai', name: 'gpt-4o-mini', parameters: { temperature: 0.7, max_tokens: 1024 } },
      system_prompt: 'Be brief.',
      allowed_tools: ['web_crawler'],
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      name: 'researcher',
      description: 'Finds things',
      model: { provider: 'openai', name: 'gpt-4o-mini', parameters: { temperature: 0.7, max_tokens: 1024 } },
      system_prompt: 'Be brief.',
      allowed_tools: ['web_crawler'],
      max_steps: 8,
    });
    const fetched = await server.api.get('/api/agents/researcher');
    expect(fetched.body.data).toEqual(res.body.data);
  });

  it('returns 409 AGENT_EXISTS for a duplicate name and keeps the first', async () => {
    await server.api.post('/api/agents', { name: 'dup', description: 'first' });
    const res = await server.api.post('/api/agents', { name: 'dup', description: 'second' });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ success: false, error: { code: 'AGENT_EXISTS', message: "Agent 'dup' already exists", details: { name: 'dup' } } });
    expect((await server.api.get('/api/agents/dup')).body.data.description).toBe('first');
  });

  it('returns 404 AGENT_NOT_FOUND for an unknown agent', async () => {
    const res = await server.api.get('/api/agents/unknown');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'AGENT_NOT_FOUND', message: "Agent 'unknown' not found" });
  });

  it('patches fields, merges model parameters and moves updated_at', async () => {
    const created = await server.api.post('/api/agents', {
      name: 'patchme',
      model: { provider: 'anthropic', name: 'claude-sonnet-4-5', parameters: { temperature: 0.2 } },
    });
    const res = await server.api.patch('/api/agents/patchme', {
      description: 'now described',
      model: { parameters: { max_tokens: 256 } },
      allowed_tools: ['memory.search'],
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      description: 'now described',
      model: { provider: 'anthropic', name: 'claude-sonnet-4-5', parameters: { temperature: 0.2, max_tokens: 256 } },
      allowed_tools: ['memory.search'],
      created_at: created.body.data.created_at,
    });
    expect(Date.parse(res.body.data.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.body.data.updated_at));
    expect((await server.api.patch('/api/agents/nobody', { description: 'x' })).body.error.code).toBe('AGENT_NOT_FOUND');
  });

  it('answers a read after a PATCH with the new agent, though the same agent was read (and its response reused) before', async () => {
    await server.api.post('/api/agents', { name: 'reread', description: 'before' });
    for (let i = 0; i < 3; i++) expect((await server.api.get('/api/agents/reread')).body.data.description).toBe('before');
    await server.api.patch('/api/agents/reread', { description: 'after', model: { parameters: { top_p: 0.5 } } });
    const res = await server.api.get('/api/agents/reread');
    expect(res.body.data).toMatchObject({ description: 'after', model: { parameters: { top_p: 0.5 } } });
    // The cached agent is shared by every reader, so no reader can change it.
    const shared = await server.services.agents.get('reread');
    expect(() => {
      (shared.model.parameters as Record<string, unknown>).top_p = 0.9;
    }).toThrow(TypeError);
    expect((await server.api.get('/api/agents/reread')).body.data.model.parameters).toEqual({ top_p: 0.5 });
  });

  it('deletes an agent, then answers 404 for it', async () => {
    await server.api.post('/api/agents', { name: 'doomed' });
    const res = await server.api.delete('/api/agents/doomed');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ name: 'doomed', status: 'deleted' });
    expect((await server.api.get('/api/agents/doomed')).status).toBe(404);
    expect((await server.api.delete('/api/agents/doomed')).body.error.code).toBe('AGENT_NOT_FOUND');
  });

  it('deletes an agent\'s conversations and memories with it, so a new agent of the same name starts clean', async () => {
    await server.api.post('/api/agents', { name: 'recycled' });
    await server.api.post('/api/agents/recycled/chat', { message: 'hello', session_id: 'recycled-session' });
    await server.api.post('/api/agents/recycled/memory', { content: 'Likes tea' });
    expect((await server.api.delete('/api/agents/recycled')).status).toBe(200);
    await server.api.post('/api/agents', { name: 'recycled' });
    expect((await server.api.get('/api/agents/recycled/chat/history')).body.data.messages).toEqual([]);
    expect((await server.api.get('/api/agents/recycled/memory')).body.data.memories).toEqual([]);
    expect((await server.api.get('/api/agents/recycled/sessions')).body.data.pagination.total).toBe(0);
  });

  it('paginates with limit and offset given as query strings', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await server.api.post('/api/agents', { name });
    const all = await server.api.get('/api/agents?limit=100');
    const total = all.body.data.pagination.total;
    expect(all.body.data.agents).toHaveLength(total);
    const page = await server.api.get('/api/agents?limit=2&offset=1');
    expect(page.body.data.agents.map((a: { name: string }) => a.name)).toEqual(all.body.data.agents.slice(1, 3).map((a: { name: string }) => a.name));
    expect(page.body.data.pagination).toEqual({ total, limit: 2, offset: 1, next_offset: 3 < total ? 3 : null });
    const last = await server.api.get(`/api/agents?limit=2&offset=${total - 1}`);
    expect(last.body.data.pagination.next_offset).toBeNull();
  });

  it('rejects a bad name, unknown fields and an out-of-range limit with VALIDATION_ERROR issues', async () => {
    const bad = await server.api.post('/api/agents', { name: '../etc/passwd', colour: 'blue' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['', 'name']);
    const limit = await server.api.get('/api/agents?limit=500');
    expect(limit.status).toBe(400);
    expect(limit.body.error.details.issues[0]).toMatchObject({ path: 'limit' });
    const notNumber = await server.api.get('/api/agents?limit=ten');
    expect(notNumber.body.error.details.issues[0]).toMatchObject({ path: 'limit', code: 'invalid_type' });
  });

  it('reports version and database status at /api/health', async () => {
    const res = await server.api.get('/api/health');
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'ok', version: '0.1.0', database: { status: 'ok', kind: 'file' } });
    expect(res.body.data.database.latency_ms).toBeGreaterThanOrEqual(0);
  });
});

describe('deleting an agent', () => {
  const OWNED = ['agents', 'sessions', 'messages', 'memories', 'skills', 'secrets', 'channels', 'webhooks', 'heartbeats', 'mcp_servers'];
  const count = async (table: string, agent: string) => {
    const column = table === 'agents' ? 'name' : 'agent';
    return Number((await server.services.database.client.execute({ sql: `SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`, args: [agent] })).rows[0]!.n);
  };
  const counts = async (agent: string) => Object.fromEntries(await Promise.all(OWNED.map(async (table) => [table, await count(table, agent)] as const)));

  it('removes everything the agent owns in one transaction: all of it, or none of it', async () => {
    const api = server.api;
    expect((await api.post('/api/agents', { name: 'owner' })).status).toBe(201);
    await api.post('/api/agents/owner/chat', { message: 'hello' });
    await api.post('/api/agents/owner/memory', { content: 'remember me' });
    await api.post('/api/agents/owner/skills', { name: 'tool', language: 'sh', code: 'echo hi\n' });
    await api.post('/api/agents/owner/vault', { key: 'TOKEN', value: 'owner-secret-value' });
    await api.post('/api/agents/owner/channels', { type: 'http', config: { authToken: 'owner-channel-token-123', allowedTools: [] } });
    await api.post('/api/webhooks', { name: 'owner-hook', agent: 'owner', prompt_template: '{{body}}' });
    await api.post('/api/agents/owner/heartbeats', { name: 'tick', interval_seconds: 3600, prompt: 'tick' });
    await api.post('/api/agents/owner/mcp/servers', { name: 'remote', url: 'https://mcp.example.com/mcp' });
    const before = await counts('owner');
    for (const table of OWNED) expect([table, before[table]! > 0]).toEqual([table, true]);

    // A failure in the middle of the delete (here, of the webhooks) leaves every row where it was.
    await server.services.database.client.execute("CREATE TEMP TRIGGER refuse_webhook_delete BEFORE DELETE ON webhooks BEGIN SELECT RAISE(ABORT, 'refused'); END");
    try {
      expect((await api.delete('/api/agents/owner')).status).toBe(500);
    } finally {
      await server.services.database.client.execute('DROP TRIGGER refuse_webhook_delete');
    }
    expect(await counts('owner')).toEqual(before);

    expect((await api.delete('/api/agents/owner')).status).toBe(200);
    expect(await counts('owner')).toEqual(Object.fromEntries(OWNED.map((table) => [table, 0])));
  });
});
