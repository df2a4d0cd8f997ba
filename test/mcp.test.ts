import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpService } from '../src/services/mcp/index.ts';
import { FIXTURE_SERVER_PATH, serveOverHttp, type HttpFixture } from './fixtures/mcp/server.ts';
import { makeTempHome, startTestServer, startTestServerIn, type TestServer } from './helpers/server.ts';

/** Starting a stdio server means a node process loading tsx: slow on a loaded machine. */
const SLOW = 90_000;
const STDIO = { command: process.execPath, args: ['--import', 'tsx', FIXTURE_SERVER_PATH] };
const CALC_TOOLS = ['add', 'echo', 'fail', 'env', 'crash'];
const SERVER_SECRET = 'moxxy-server-own-secret';

let server: TestServer;
let remote: HttpFixture;

beforeAll(async () => {
  // Something the moxxy process has in its environment that no MCP server may see.
  process.env.MOXXY_TEST_SERVER_SECRET = SERVER_SECRET;
  [server, remote] = await Promise.all([startTestServer(), serveOverHttp()]);
  expect((await server.api.post('/api/agents', { name: 'calc-agent' })).status).toBe(201);
}, SLOW);

afterAll(async () => {
  delete process.env.MOXXY_TEST_SERVER_SECRET;
  await Promise.all([server?.close(), remote?.close()]);
});

const servers = (agent: string) => server.api.get(`/api/agents/${agent}/mcp/servers`);
const invoke = (agent: string, body: unknown) => server.api.post(`/api/agents/${agent}/mcp/invoke`, body);

describe('MCP servers over stdio', () => {
  beforeAll(async () => {
    const res = await server.api.post('/api/agents/calc-agent/mcp/servers', { name: 'calc', ...STDIO, env: { FIXTURE_GREETING: 'hello-from-env' } });
    expect(res.status).toBe(201);
  }, SLOW);

  it('connects a server when it is added and reports its status and tools', async () => {
    const res = await servers('calc-agent');
    expect(res.status).toBe(200);
    expect(res.body.data.servers).toEqual([
      {
        name: 'calc',
        transport: 'stdio',
        status: 'connected',
        tools_count: CALC_TOOLS.length,
        command: process.execPath,
        args: STDIO.args,
        env_keys: ['FIXTURE_GREETING'],
        created_at: expect.any(String),
      },
    ]);
    const overTrpc = await server.trpc.mcp.listServers.query({ agent: 'calc-agent' });
    expect(overTrpc.servers[0]?.created_at).toBeInstanceOf(Date);
  });

  it('never returns env values', async () => {
    const res = await servers('calc-agent');
    expect(JSON.stringify(res.body)).not.toContain('hello-from-env');
  });

  it('lists the tools with the input schema the server gives', async () => {
    const res = await server.api.get('/api/agents/calc-agent/mcp/tools');
    expect(res.status).toBe(200);
    const tools = res.body.data.tools;
    expect(tools.map((t: any) => t.name)).toEqual(CALC_TOOLS);
    expect(tools[0]).toMatchObject({
      server: 'calc',
      name: 'add',
      description: 'Add two numbers.',
      input_schema: {
        type: 'object',
        properties: { a: { type: 'number', description: 'First addend' }, b: { type: 'number', description: 'Second addend' } },
        required: ['a', 'b'],
      },
    });
  });

  it('invokes a tool and answers with its content', async () => {
    const res = await invoke('calc-agent', { server: 'calc', tool: 'add', arguments: { a: 2, b: 3 } });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ content: [{ type: 'text', text: '5' }], is_error: false });
  });

  it('answers a failure the tool reports as is_error, not as an HTTP error', async () => {
    const failed = await invoke('calc-agent', { server: 'calc', tool: 'fail' });
    expect(failed.status).toBe(200);
    expect(failed.body.data).toEqual({ content: [{ type: 'text', text: 'this tool always fails' }], is_error: true });

    const badArgs = await invoke('calc-agent', { server: 'calc', tool: 'add', arguments: { a: 'two' } });
    expect(badArgs.status).toBe(200);
    expect(badArgs.body.data.is_error).toBe(true);
    expect(badArgs.body.data.content[0].text).toContain('Invalid arguments');
  });

  it("gives the child a minimal environment plus its configured env, never the server's own", async () => {
    const greeting = await invoke('calc-agent', { server: 'calc', tool: 'env', arguments: { name: 'FIXTURE_GREETING' } });
    expect(greeting.body.data.content[0].text).toBe('hello-from-env');
    const secret = await invoke('calc-agent', { server: 'calc', tool: 'env', arguments: { name: 'MOXXY_TEST_SERVER_SECRET' } });
    expect(secret.body.data.content[0].text).toBe('(unset)');
    const path = await invoke('calc-agent', { server: 'calc', tool: 'env', arguments: { name: 'PATH' } });
    expect(path.body.data.content[0].text).toBe(process.env.PATH);
  });

  it('answers 502 MCP_ERROR when the server process dies mid-call, and reconnects on the next use', async () => {
    const crashed = await invoke('calc-agent', { server: 'calc', tool: 'crash' });
    expect(crashed.status).toBe(502);
    expect(crashed.body.error).toMatchObject({ code: 'MCP_ERROR', details: { server: 'calc' } });
    expect((await servers('calc-agent')).body.data.servers[0].status).toBe('disconnected');

    const again = await invoke('calc-agent', { server: 'calc', tool: 'add', arguments: { a: 20, b: 22 } });
    expect(again.body.data.content).toEqual([{ type: 'text', text: '42' }]);
    expect((await servers('calc-agent')).body.data.servers[0]).toMatchObject({ status: 'connected', tools_count: CALC_TOOLS.length });
  }, SLOW);

  it('answers 409 MCP_SERVER_EXISTS for a name already used by the agent', async () => {
    const res = await server.api.post('/api/agents/calc-agent/mcp/servers', { name: 'calc', ...STDIO });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('MCP_SERVER_EXISTS');
  });

  it('answers 404 for an unknown agent or server', async () => {
    for (const res of [
      await servers('ghost'),
      await server.api.get('/api/agents/ghost/mcp/tools'),
      await server.api.post('/api/agents/ghost/mcp/servers', { name: 'calc', ...STDIO }),
      await invoke('ghost', { server: 'calc', tool: 'add' }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('AGENT_NOT_FOUND');
    }
    for (const res of [
      await invoke('calc-agent', { server: 'nope', tool: 'add' }),
      await server.api.delete('/api/agents/calc-agent/mcp/servers/nope'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('MCP_SERVER_NOT_FOUND');
    }
  });

  it('answers 400 VALIDATION_ERROR unless exactly one transport is given', async () => {
    const cases = [
      { name: 'both', command: 'x', url: 'http://127.0.0.1:1/mcp' },
      { name: 'neither' },
      { name: 'mixed', url: 'http://127.0.0.1:1/mcp', env: { A: 'b' } },
      { name: 'Bad Name', command: 'x' },
      { name: 'ftp', url: 'ftp://127.0.0.1/mcp' },
    ];
    for (const body of cases) {
      const res = await server.api.post('/api/agents/calc-agent/mcp/servers', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect((await servers('calc-agent')).body.data.servers.map((s: any) => s.name)).toEqual(['calc']);
  });

  it('keeps a server that fails to connect, with status error, leaves its tools out, and removes it', async () => {
    const added = await server.api.post('/api/agents/calc-agent/mcp/servers', { name: 'broken', command: 'moxxy-no-such-mcp-server' });
    expect(added.status).toBe(201);
    expect(added.body.data).toMatchObject({ name: 'broken', status: 'error', tools_count: 0 });
    expect(added.body.data.error).toContain('ENOENT');

    const listed = (await servers('calc-agent')).body.data.servers;
    expect(listed.find((s: any) => s.name === 'broken')).toMatchObject({ status: 'error', error: expect.stringContaining('ENOENT') });
    const tools = (await server.api.get('/api/agents/calc-agent/mcp/tools')).body.data.tools;
    expect(new Set(tools.map((t: any) => t.server))).toEqual(new Set(['calc']));

    const call = await invoke('calc-agent', { server: 'broken', tool: 'add' });
    expect(call.status).toBe(502);
    expect(call.body.error.code).toBe('MCP_ERROR');

    const removed = await server.api.delete('/api/agents/calc-agent/mcp/servers/broken');
    expect(removed.status).toBe(200);
    expect(removed.body.data).toEqual({ name: 'broken', status: 'deleted' });
    expect((await servers('calc-agent')).body.data.servers.map((s: any) => s.name)).toEqual(['calc']);
  });
});

describe('MCP servers over streamable HTTP', () => {
  it('connects, calls tools with the configured headers, hides header values and removes the server', async () => {
    const added = await server.api.post('/api/agents/calc-agent/mcp/servers', {
      name: 'remote',
      url: remote.url,
      headers: { Authorization: 'Bearer remote-t0ken' },
    });
    expect(added.status).toBe(201);
    expect(added.body.data).toEqual({
      name: 'remote',
      transport: 'http',
      status: 'connected',
      tools_count: 4,
      url: remote.url,
      header_keys: ['Authorization'],
      created_at: expect.any(String),
    });

    const echoed = await invoke('calc-agent', { server: 'remote', tool: 'echo', arguments: { text: 'over http' } });
    expect(echoed.body.data).toEqual({ content: [{ type: 'text', text: 'over http' }], is_error: false });
    expect(remote.authorizations.length).toBeGreaterThan(0);
    expect(remote.authorizations.every((value) => value === 'Bearer remote-t0ken')).toBe(true);
    expect(JSON.stringify((await servers('calc-agent')).body)).not.toContain('remote-t0ken');

    const removed = await server.api.delete('/api/agents/calc-agent/mcp/servers/remote');
    expect(removed.body.data).toEqual({ name: 'remote', status: 'deleted' });
    const gone = await invoke('calc-agent', { server: 'remote', tool: 'echo', arguments: { text: 'x' } });
    expect(gone.body.error.code).toBe('MCP_SERVER_NOT_FOUND');
  });
});

describe('MCP tools in agent runs', () => {
  it('lets an agent call an allowed MCP tool, with primitive.called and primitive.result events', async () => {
    await server.api.post('/api/agents', { name: 'mcp-chat', allowed_tools: ['mcp.calc.*'] });
    expect((await server.api.post('/api/agents/mcp-chat/mcp/servers', { name: 'calc', ...STDIO })).body.data.status).toBe('connected');

    const reply = await server.api.post('/api/agents/mcp-chat/chat', { message: 'Sum: <invoke name="mcp.calc.add">{"a": 2, "b": 3}</invoke>' });
    expect(reply.status).toBe(200);
    expect(reply.body.data.content).toBe('mcp.calc.add: 5');

    const run = (await server.api.get(`/api/runs/${reply.body.data.run_id}`)).body.data;
    expect(run.steps.map((s: any) => s.type)).toEqual(['model', 'tool', 'model']);
    expect(run.steps[1]).toMatchObject({ name: 'mcp.calc.add', arguments: { a: 2, b: 3 }, output: '5', is_error: false });

    const events = (await server.api.get(`/api/audit?run_id=${run.id}&limit=1000`)).body.data.events;
    expect(events.find((e: any) => e.event_type === 'primitive.called')?.payload).toMatchObject({
      name: 'mcp.calc.add',
      kind: 'mcp',
      arguments: { a: 2, b: 3 },
    });
    expect(events.find((e: any) => e.event_type === 'primitive.result')?.payload).toMatchObject({ name: 'mcp.calc.add', kind: 'mcp', output: '5', is_error: false });
  }, SLOW);

  it('passes tool failures back to the model and refuses tools outside the allow-list', async () => {
    const reply = await server.api.post('/api/agents/mcp-chat/chat', {
      message: '<invoke name="mcp.calc.fail">{}</invoke> <invoke name="mcp.other.add">{}</invoke>',
    });
    const run = (await server.api.get(`/api/runs/${reply.body.data.run_id}`)).body.data;
    expect(run.steps[1]).toMatchObject({ name: 'mcp.calc.fail', output: 'this tool always fails', is_error: true });
    expect(run.steps[2]).toMatchObject({ name: 'mcp.other.add', output: "Tool 'mcp.other.add' does not exist", is_error: true });
  });
});

describe('MCP servers across restarts', () => {
  it('keeps servers in the database and connects them lazily on first use', async () => {
    const home = makeTempHome();
    try {
      const first = await startTestServerIn(home);
      await first.api.post('/api/agents', { name: 'keeper' });
      expect((await first.api.post('/api/agents/keeper/mcp/servers', { name: 'calc', ...STDIO, env: { FIXTURE_GREETING: 'kept' } })).body.data.status).toBe('connected');
      await first.close();

      const second = await startTestServerIn(home);
      try {
        const before = (await second.api.get('/api/agents/keeper/mcp/servers')).body.data.servers;
        expect(before).toEqual([expect.objectContaining({ name: 'calc', status: 'disconnected', tools_count: 0, env_keys: ['FIXTURE_GREETING'] })]);

        const greeting = await second.api.post('/api/agents/keeper/mcp/invoke', { server: 'calc', tool: 'env', arguments: { name: 'FIXTURE_GREETING' } });
        expect(greeting.body.data.content).toEqual([{ type: 'text', text: 'kept' }]);
        const after = (await second.api.get('/api/agents/keeper/mcp/servers')).body.data.servers;
        expect(after[0]).toMatchObject({ status: 'connected', tools_count: CALC_TOOLS.length });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, SLOW * 2);
});

describe('MCP secrets', () => {
  it('resolves ${vault:KEY} in env at connect time, and stores only the reference', async () => {
    const { database, agents } = server.services;
    const mcp = new McpService({
      db: database.db,
      agents,
      resolveSecret: async (value, agent) => value.replace('${vault:GREETING}', `secret-of-${agent}`),
    });
    try {
      await server.api.post('/api/agents', { name: 'vaulted' });
      const added = await mcp.add('vaulted', { name: 'calc', ...STDIO, env: { FIXTURE_GREETING: '${vault:GREETING}' } });
      expect(added.status).toBe('connected');
      const result = await mcp.invoke('vaulted', { server: 'calc', tool: 'env', arguments: { name: 'FIXTURE_GREETING' } });
      expect(result.content).toEqual([{ type: 'text', text: 'secret-of-vaulted' }]);
      const [row] = await database.client.execute("SELECT env FROM mcp_servers WHERE agent = 'vaulted'").then((r) => r.rows);
      expect(JSON.parse(String(row?.env))).toEqual({ FIXTURE_GREETING: '${vault:GREETING}' });
    } finally {
      await mcp.close();
    }
  }, SLOW);
});
