import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpService } from '../src/services/mcp/index.ts';
import { probeBwrap } from '../src/services/sandbox/bwrap-probe.ts';
import { Sandbox, sandboxSettings, SYSTEM_PATH } from '../src/services/sandbox/index.ts';
import { serveOverHttp, STDIO_FIXTURE, type HttpFixture } from './fixtures/mcp/server.ts';
import { makeHomeOutsideTmp, makeTempHome, startTestServer, startTestServerIn, type TestServer } from './helpers/server.ts';

/** Starting a stdio server means a node process loading tsx: slow on a loaded machine. */
const SLOW = 90_000;
const STDIO = STDIO_FIXTURE;
const CALC_TOOLS = ['add', 'echo', 'fail', 'env', 'crash', 'read_file'];
const SERVER_SECRET = 'moxxy-server-own-secret';
/** The data-directory tests need a working bubblewrap; elsewhere stdio servers run unsandboxed. */
const SANDBOX = (await probeBwrap('bwrap')).kind;

let server: TestServer;
let remote: HttpFixture;
const NO_PRIVATE_NETWORK = { allowPrivateNetwork: false, allowHttpLoopback: false };

beforeAll(async () => {
  // Something the moxxy process has in its environment that no MCP server may see.
  process.env.MOXXY_TEST_SERVER_SECRET = SERVER_SECRET;
  remote = await serveOverHttp();
  // The fixture listens on loopback over plain http: the operator lists it as a trusted MCP server.
  server = await startTestServer({ mcp: { allowedUrls: [remote.url] } });
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
        sandbox: { network: false, fs_read: true, fs_write: false },
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
    const envOf = async (name: string) => (await invoke('calc-agent', { server: 'calc', tool: 'env', arguments: { name } })).body.data.content[0].text;
    expect(await envOf('FIXTURE_GREETING')).toBe('hello-from-env');
    expect(await envOf('MOXXY_TEST_SERVER_SECRET')).toBe('(unset)');
    expect(await envOf('PATH')).toBe(SYSTEM_PATH);
    expect(await envOf('HOME')).toBe(join(server.home, 'mcp', 'calc-agent', 'calc'));
  });

  it('answers 502 MCP_ERROR when the server process dies mid-call, and reconnects on the next use', async () => {
    const crashed = await invoke('calc-agent', { server: 'calc', tool: 'crash' });
    expect(crashed.status).toBe(502);
    expect(crashed.body.error).toMatchObject({ code: 'MCP_ERROR', message: "MCP server 'calc' failed calling 'crash': exited with code 1", details: { server: 'calc' } });
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
      { name: 'boxed_http', url: 'http://127.0.0.1:1/mcp', sandbox: { network: true } },
      { name: 'bad_box', command: 'x', sandbox: { network: true, ports: [80] } },
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
    const error = `failed to start: 'moxxy-no-such-mcp-server' is neither an absolute path to a program nor a program on ${SYSTEM_PATH}`;
    expect(added.body.data).toEqual(expect.objectContaining({ name: 'broken', status: 'error', tools_count: 0, error }));

    const listed = (await servers('calc-agent')).body.data.servers;
    expect(listed.find((s: any) => s.name === 'broken')).toMatchObject({ status: 'error', error });
    // Paged like every list, first added first.
    const second = (await server.api.get('/api/agents/calc-agent/mcp/servers?limit=1&offset=1')).body.data;
    expect(second.servers.map((s: any) => s.name)).toEqual(['broken']);
    expect(second.pagination).toEqual({ total: 2, limit: 1, offset: 1, next_offset: null });
    expect((await servers('calc-agent')).body.data.pagination).toEqual({ total: 2, limit: 50, offset: 0, next_offset: null });
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
  it('refuses a URL the operator did not allow (loopback, plain http) before storing or connecting', async () => {
    const refused = await server.api.post('/api/agents/calc-agent/mcp/servers', { name: 'sneaky', url: remote.url.replace('127.0.0.1', 'localhost') });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('URL_NOT_ALLOWED');
    expect((await servers('calc-agent')).body.data.servers.map((s: any) => s.name)).not.toContain('sneaky');
  });

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
      args: { a: 2, b: 3 },
    });
    expect(events.find((e: any) => e.event_type === 'primitive.result')?.payload).toMatchObject({ name: 'mcp.calc.add', kind: 'mcp', output: '5', is_error: false });
  }, SLOW);

  it("records a call over /mcp/invoke as primitive.called and primitive.result, with the payloads of a run's own call", async () => {
    const audit = async (query: string) => (await server.api.get(`/api/audit?agent_id=mcp-chat&event_type=primitive.called,primitive.result&${query}`)).body.data.events;
    const reply = await server.api.post('/api/agents/mcp-chat/chat', { message: '<invoke name="mcp.calc.add">{"a": 4, "b": 5}</invoke>' });
    const ofRun = await audit(`run_id=${reply.body.data.run_id}`);
    expect((await invoke('mcp-chat', { server: 'calc', tool: 'add', arguments: { a: 4, b: 5 } })).body.data.content).toEqual([{ type: 'text', text: '9' }]);
    const ofApi = (await audit('limit=1000')).filter((event: any) => event.run_id === null);

    expect(ofApi.map((event: any) => event.event_type)).toEqual(['primitive.called', 'primitive.result']);
    const called = { name: 'mcp.calc.add', kind: 'mcp', args: { a: 4, b: 5 } };
    const result = { name: 'mcp.calc.add', kind: 'mcp', output: '9', is_error: false, duration_ms: expect.any(Number) };
    expect(ofRun.map((event: any) => event.payload)).toEqual([{ tool_call_id: 'call_1', ...called }, { tool_call_id: 'call_1', ...result }]);
    expect(ofApi.map((event: any) => event.payload)).toEqual([{ tool_call_id: null, ...called }, { tool_call_id: null, ...result }]);

    const failed = await invoke('mcp-chat', { server: 'calc', tool: 'fail' });
    expect(failed.body.data.is_error).toBe(true);
    const failure = (await audit('limit=1000')).filter((event: any) => event.run_id === null).at(-1);
    expect(failure.payload).toMatchObject({ name: 'mcp.calc.fail', output: 'this tool always fails', is_error: true });
  });

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
  it('resolves ${vault:KEY} in env at connect time, and stores only the reference, encrypted', async () => {
    const { database, agents, config, vault, changes, events } = server.services;
    const sandbox = new Sandbox(sandboxSettings(config));
    const mcp = new McpService({
      db: database.db,
      guard: NO_PRIVATE_NETWORK,
      agents,
      vault,
      changes,
      events,
      resolveSecret: async (value, agent) => value.replace('${vault:GREETING}', `secret-of-${agent}`),
      sandbox,
      home: server.home,
    });
    try {
      await server.api.post('/api/agents', { name: 'vaulted' });
      const added = await mcp.add('vaulted', { name: 'calc', ...STDIO, env: { FIXTURE_GREETING: '${vault:GREETING}' } });
      expect(added.status).toBe('connected');
      const result = await mcp.invoke('vaulted', { server: 'calc', tool: 'env', arguments: { name: 'FIXTURE_GREETING' } });
      expect(result.content).toEqual([{ type: 'text', text: 'secret-of-vaulted' }]);
      const [row] = await database.client.execute("SELECT env FROM mcp_servers WHERE agent = 'vaulted'").then((r) => r.rows);
      const stored = JSON.parse(String(row?.env));
      expect(Object.keys(stored)).toEqual(['FIXTURE_GREETING']);
      expect(stored.FIXTURE_GREETING).not.toContain('vault');
      expect(stored.FIXTURE_GREETING).not.toContain('secret-of');
    } finally {
      await mcp.close();
      await sandbox.close();
    }
  }, SLOW);
});

/** Processes whose command line contains the marker. */
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

describe('stdio MCP servers in the sandbox', () => {
  it.runIf(SANDBOX === 'bwrap' || process.env.CI)(
    'cannot read the data directory even with fs_read, yet reads the host (skipped only outside CI without bwrap)',
    async () => {
      const host = await startTestServerIn(makeHomeOutsideTmp());
      try {
        expect((await host.api.post('/api/agents/default/mcp/servers', { name: 'files', ...STDIO })).body.data.status).toBe('connected');
        const read = async (path: string) =>
          (await host.api.post('/api/agents/default/mcp/invoke', { server: 'files', tool: 'read_file', arguments: { path } })).body.data;

        for (const file of ['vault.key', 'moxxy.db', 'moxxy.db-wal']) {
          expect(existsSync(join(host.home, file)), file).toBe(true);
          const hidden = await read(join(host.home, file));
          expect(hidden, file).toMatchObject({ is_error: true, content: [{ type: 'text', text: expect.stringContaining('ENOENT') }] });
        }
        const checkout = await read(join(process.cwd(), 'package.json'));
        expect(checkout.is_error).toBe(false);
        expect(JSON.parse(checkout.content[0].text).name).toBe('moxxy-server');
      } finally {
        await host.close();
        rmSync(host.home, { recursive: true, force: true });
      }
    },
    SLOW,
  );

  it.runIf(SANDBOX === 'bwrap' || process.env.CI)(
    "runs a program installed under the host's /tmp, which the sandbox's private /tmp does not hide (skipped only outside CI without bwrap)",
    async () => {
      // An MCP server in sh (the sandbox has the system's sh and sed), installed as <prefix>/bin/hello under /tmp.
      const prefix = mkdtempSync(join(tmpdir(), 'moxxy-installed-'));
      mkdirSync(join(prefix, 'bin'));
      const program = join(prefix, 'bin', 'hello');
      writeFileSync(
        program,
        [
          '#!/bin/sh',
          'while IFS= read -r line; do',
          `  id=$(printf '%s' "$line" | sed -n 's/.*"id":\\([0-9]*\\).*/\\1/p')`,
          '  case "$line" in',
          `    *'"method":"initialize"'*) v=$(printf '%s' "$line" | sed -n 's/.*"protocolVersion":"\\([^"]*\\)".*/\\1/p')`,
          `      printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"%s","capabilities":{"tools":{}},"serverInfo":{"name":"hello","version":"1.0.0"}}}\\n' "$id" "$v" ;;`,
          `    *'"method":"tools/list"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"where","inputSchema":{"type":"object","properties":{}}}]}}\\n' "$id" ;;`,
          `    *'"method":"tools/call"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"running from %s"}]}}\\n' "$id" "$0" ;;`,
          `    *'"id":'*) printf '{"jsonrpc":"2.0","id":%s,"result":{}}\\n' "$id" ;;`,
          '  esac',
          'done',
          '',
        ].join('\n'),
      );
      chmodSync(program, 0o755);
      try {
        for (const fs_read of [false, true]) {
          const name = `installed_${fs_read ? 'reading' : 'blind'}`;
          const added = await server.api.post('/api/agents/calc-agent/mcp/servers', { name, command: program, sandbox: { fs_read } });
          expect(added.body.data, name).toMatchObject({ status: 'connected', tools_count: 1 });
          const call = await invoke('calc-agent', { server: name, tool: 'where' });
          expect(call.body.data, name).toMatchObject({ is_error: false, content: [{ type: 'text', text: `running from ${program}` }] });
          await server.api.delete(`/api/agents/calc-agent/mcp/servers/${name}`);
        }
      } finally {
        rmSync(prefix, { recursive: true, force: true });
      }
    },
    SLOW,
  );

  it('works in <home>/mcp/<agent>/<server>, which goes when the server is removed', async () => {
    await server.api.post('/api/agents', { name: 'worker' });
    const workdir = join(server.home, 'mcp', 'worker', 'calc');
    expect((await server.api.post('/api/agents/worker/mcp/servers', { name: 'calc', ...STDIO })).body.data.status).toBe('connected');
    expect(existsSync(workdir)).toBe(true);
    expect((await server.api.delete('/api/agents/worker/mcp/servers/calc')).status).toBe(200);
    expect(existsSync(workdir)).toBe(false);
  }, SLOW);

  it('answers with how the server ended, never with what it wrote to stderr', async () => {
    const added = await server.api.post('/api/agents/calc-agent/mcp/servers', {
      name: 'leaky',
      command: 'sh',
      args: ['-c', 'echo LEAKED-SECRET-TEXT >&2; exit 3'],
    });
    expect(added.status).toBe(201);
    expect(added.body.data).toMatchObject({ status: 'error', error: 'failed to start (exit code 3)' });
    const call = await invoke('calc-agent', { server: 'leaky', tool: 'add' });
    expect(call.status).toBe(502);
    expect(call.body.error.message).toBe("MCP server 'leaky' failed to start (exit code 3)");
    expect(JSON.stringify(call.body)).not.toContain('LEAKED');
    expect((await servers('calc-agent')).body.data.servers.find((s: any) => s.name === 'leaky').error).toBe('failed to start (exit code 3)');
    await server.api.delete('/api/agents/calc-agent/mcp/servers/leaky');
  });

  it('logs stderr and the exit instead, with the secrets it was given masked', async () => {
    const { database, agents, config, vault, changes, events } = server.services;
    const sandbox = new Sandbox(sandboxSettings(config));
    const logged: Array<{ message: string; details: Record<string, unknown> }> = [];
    const mcp = new McpService({
      db: database.db,
      guard: NO_PRIVATE_NETWORK,
      agents,
      vault,
      changes,
      events,
      resolveSecret: async (value) => value.replace('${vault:TOKEN}', 'vault-token-value'),
      sandbox,
      home: server.home,
      log: (message, details) => logged.push({ message, details }),
      redact: (text) => text.replace('api-key-value', '[REDACTED]'),
    });
    try {
      await server.api.post('/api/agents', { name: 'logged' });
      const added = await mcp.add('logged', {
        name: 'noisy',
        command: 'sh',
        args: ['-c', 'echo "token=$TOKEN key=api-key-value" >&2; printf "no newline" >&2; exit 4'],
        env: { TOKEN: '${vault:TOKEN}' },
      });
      expect(added).toMatchObject({ status: 'error', error: 'failed to start (exit code 4)' });
      expect(logged).toEqual([
        { message: "MCP server 'noisy' wrote to stderr", details: { agent: 'logged', server: 'noisy', stderr: 'token=[REDACTED] key=[REDACTED]' } },
        { message: "MCP server 'noisy' wrote to stderr", details: { agent: 'logged', server: 'noisy', stderr: 'no newline' } },
        { message: "MCP server 'noisy' exited", details: { agent: 'logged', server: 'noisy', code: 4, signal: null } },
      ]);
    } finally {
      await mcp.close();
      await sandbox.close();
    }
  });

  it('says when a server does not answer in time, and stops it', async () => {
    const { database, agents, config, vault, changes, events } = server.services;
    const sandbox = new Sandbox(sandboxSettings(config));
    const mcp = new McpService({ db: database.db, guard: NO_PRIVATE_NETWORK, agents, vault, changes, events, resolveSecret: async (value) => value, sandbox, home: server.home, timeoutMs: 1000 });
    const marker = `41${process.pid}.5`;
    try {
      await server.api.post('/api/agents', { name: 'silent' });
      const added = await mcp.add('silent', { name: 'mute', command: 'sleep', args: [marker] });
      expect(added).toMatchObject({ status: 'error', error: 'did not answer within 1000 ms' });
      for (let i = 0; i < 50 && processesWith(marker) > 0; i++) await sleep(100);
      expect(processesWith(marker)).toBe(0);
    } finally {
      await mcp.close();
      await sandbox.close();
    }
  });

  it('refuses stdio servers with 503 SANDBOX_UNAVAILABLE when skills.requireSandbox is set and bubblewrap is missing', async () => {
    const strict = await startTestServer({ skills: { bwrap: '/nonexistent/bwrap', requireSandbox: true } });
    try {
      const res = await strict.api.post('/api/agents/default/mcp/servers', { name: 'calc', ...STDIO });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('SANDBOX_UNAVAILABLE');
      expect(res.body.error.message).toContain('/nonexistent/bwrap cannot run');
      expect((await strict.api.get('/api/agents/default/mcp/servers')).body.data.servers).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});

describe('MCP servers over HTTP that fail', () => {
  it('answers with the HTTP status, never the response body', async () => {
    const upstream = createServer((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('LEAKED-BODY-TEXT'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
      const trusting = await startTestServer({ mcp: { allowedUrls: [url] } });
      try {
        const added = await trusting.api.post('/api/agents/default/mcp/servers', { name: 'failing', url });
        expect(added.body.data).toMatchObject({ status: 'error', error: 'answered HTTP 500' });
        expect(JSON.stringify(added.body)).not.toContain('LEAKED');
      } finally {
        await trusting.close();
      }
    } finally {
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
