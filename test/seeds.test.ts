/**
 * Seed conformance: the examples of the five seed documents (test/fixtures/seeds, copies of the specification), each
 * run as written against a real server started here — host, port and placeholder tokens aside — one test per
 * example. Request bodies and expected answers are read from the seed text itself (JSON blocks after a heading);
 * commands and code are quoted, and `quoted()` first checks that the seed still says exactly that.
 *
 * Offline: models are the echo provider (or msw), the transcriber and GitHub are msw, DNS answers from a table.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EventSource } from 'eventsource';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { STDIO_FIXTURE } from './fixtures/mcp/server.ts';
import { MOXXY_BIN, runCli, spawnServer, type ServerProcess } from './helpers/process.ts';
import { createApi, makeHomeOutsideTmp, startTestServer, type TestServer } from './helpers/server.ts';
import { parseSse } from './helpers/sse.ts';

/** msw cannot fake DNS, so the server's resolver answers from this table (skill installs resolve before fetching). */
const HOSTS: Record<string, string> = { 'raw.githubusercontent.com': '185.199.108.133' };

vi.mock('node:dns/promises', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:dns/promises')>();
  const lookup = async (host: string) => {
    const address = HOSTS[host];
    if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address, family: 4 }];
  };
  return { ...original, lookup, default: { ...original, lookup } };
});

const run = promisify(execFile);
const CHECKOUT = fileURLToPath(new URL('..', import.meta.url));

const SEED_FILES = {
  main: '000_237ee11246e1ae91.txt',
  http: '001_d71a9cf5d459db32.txt',
  muxi: '002_a5c35962a659c0ed.txt',
  skills: '003_8c4ced069ec384a6.txt',
  events: '004_51cd789cc553623f.txt',
} as const;
const seeds = Object.fromEntries(
  Object.entries(SEED_FILES).map(([name, file]) => [name, readFileSync(new URL(`./fixtures/seeds/${file}`, import.meta.url), 'utf8')]),
) as Record<keyof typeof SEED_FILES, string>;

/** An example as its seed writes it: the test fails here when the seed no longer says so. */
function quoted(seed: string, text: string): string {
  expect(seed, 'the seed no longer has this example').toContain(text);
  return text;
}

/** The first JSON value after the markers, each found after the one before (e.g. a heading, then "Response"). */
function jsonAfter(seed: string, ...markers: string[]): any {
  let at = 0;
  for (const marker of markers) {
    at = seed.indexOf(marker, at);
    expect(at, `the seed no longer has "${marker}"`).toBeGreaterThanOrEqual(0);
    at += marker.length;
  }
  const start = seed.slice(at).search(/[[{]/) + at;
  let depth = 0;
  let inString = false;
  for (let i = start; i < seed.length; i++) {
    const char = seed[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth++;
    else if ((char === '}' || char === ']') && --depth === 0) return JSON.parse(seed.slice(start, i + 1));
  }
  throw new Error(`no JSON after ${markers.join(' > ')}`);
}

/** The seeds' servers live at these origins; the examples run against ours. */
const SEED_ORIGINS = /http:\/\/(?:localhost|127\.0\.0\.1):(?:17890|3737|3000)/g;
const at = (text: string, url: string) => text.replace(SEED_ORIGINS, url);

/** The `moxxy` of the examples: this checkout's bin. */
const MOXXY = `"${process.execPath}" "${MOXXY_BIN}"`;
const MOXXY_FUNCTION = `moxxy() { ${MOXXY} "$@"; }`;

interface CurlResult {
  exitCode: number;
  status: number;
  contentType: string;
  body: string;
}

/** Runs a seed's curl command (at our server) with sh, as a user would paste it. */
async function curl(command: string, url: string, options: { env?: Record<string, string>; cwd?: string; maxTime?: number } = {}): Promise<CurlResult> {
  const limit = options.maxTime ? ` --max-time ${options.maxTime}` : '';
  const script = `${at(command, url)}${limit} --silent --show-error --write-out '\\n%{http_code} %{content_type}'`;
  const result = await run('sh', ['-c', script], { env: { ...process.env, ...options.env }, cwd: options.cwd }).then(
    (done) => ({ ...done, code: 0 }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  const stdout = result.stdout;
  const [status, contentType = ''] = stdout.slice(stdout.lastIndexOf('\n') + 1).split(' ');
  return { exitCode: result.code, status: Number(status), contentType, body: stdout.slice(0, stdout.lastIndexOf('\n')) };
}

const json = (result: CurlResult) => JSON.parse(result.body);
const sseData = (body: string) => parseSse(body).events.map((event) => event.data);
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UUID_V7 = /[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/;

/** A shell script that ends by exec-ing a `moxxy` server; resolves with where it listens. */
function spawnShell(script: string, env: Record<string, string>, cwd: string): Promise<{ url: string; output: () => string }> {
  const child = spawn('sh', ['-c', script], { cwd, env: { ...process.env, MOXXY_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not start:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
}

/** EventSource as a page served by `origin` has it (relative URLs resolve against the page), and when it was closed. */
function pageEventSource(origin: string) {
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  class PageEventSource extends EventSource {
    constructor(url: string | URL, init?: ConstructorParameters<typeof EventSource>[1]) {
      super(new URL(url, origin), init);
    }
    override close(): void {
      super.close();
      markClosed();
    }
  }
  return { PageEventSource, closed };
}

/** Runs a seed's JavaScript with the given globals (it may use top-level await); resolves with the variables named in `results`. */
async function runScript(code: string, globals: Record<string, unknown>, results: string[] = []): Promise<Record<string, unknown>> {
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<unknown>;
  const body = `${code}\nreturn { ${results.join(', ')} };`;
  return (await new AsyncFunction(...Object.keys(globals), body)(...Object.values(globals))) as Record<string, unknown>;
}

function recordingConsole() {
  const logs: unknown[][] = [];
  return { logs, console: { log: (...args: unknown[]) => logs.push(args) } };
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Tests that start the `moxxy` command (a second or more each, several on a busy machine). */
const CLI_TIMEOUT_MS = 60_000;
const OPENAI = 'https://api.openai.test/v1';
const TRANSCRIBER = 'https://stt.test/v1';
const HTTP_TOKEN = 'seed-http-channel-token';
const INTERNAL_TOKEN = 'your-token';
const msw = setupServer();
const dirs: string[] = [];
const children: ChildProcess[] = [];
const processes: ServerProcess[] = [];

function tempDir(prefix = 'moxxy-seed-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** An open loopback server (no credentials needed) with an HTTP channel on `default`, and OpenAI mocked with msw. */
let open: TestServer;
/** The same with an internal token: every request needs credentials. */
let guarded: TestServer;
/** Rate limits on. */
let limited: TestServer;
/** A transcriber configured (msw). */
let voice: TestServer;

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  const providers = { openai: { baseUrl: OPENAI, apiKey: 'sk-seed-test' }, maxRetries: 0, retryBaseDelayMs: 1 };
  const channel = { channels: { http: { authToken: HTTP_TOKEN, allowedTools: ['memory.*'] } } };
  [open, guarded, limited, voice] = await Promise.all([
    startTestServer({ providers, ...channel }),
    startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN }),
    startTestServer({ rateLimits: { enabled: true } }),
    startTestServer({ ...channel, transcription: { baseUrl: TRANSCRIBER } }),
  ]);
});

afterEach(() => msw.resetHandlers());

afterAll(async () => {
  msw.close();
  await Promise.all(
    children.map((child) => new Promise((exited) => (child.exitCode !== null || child.signalCode !== null ? exited(null) : (child.once('exit', exited), child.kill('SIGTERM'))))),
  );
  await Promise.all([open, guarded, limited, voice].map((server) => server?.close()));
  await Promise.all(processes.map((server) => server.stop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('seed 000: main API', () => {
  const seed = seeds.main;

  it('runs `moxxy run --agent default --prompt ...`: the echo provider answers with the prompt', async () => {
    const command = quoted(seed, `moxxy run --agent default --prompt "Store '18900' in vault as gateway_port"`);
    const home = tempDir();
    const result = await run('sh', ['-c', `${MOXXY_FUNCTION}\n${command}`], { cwd: home, env: { ...process.env, MOXXY_HOME: home } });
    expect(result.stdout).toBe("Store '18900' in vault as gateway_port\n");
  }, CLI_TIMEOUT_MS);

  it('accepts X-Moxxy-Internal-Token when MOXXY_INTERNAL_TOKEN is set, and refuses requests without it', async () => {
    const exported = quoted(seed, 'export MOXXY_INTERNAL_TOKEN="your-token"');
    expect(exported).toContain(INTERNAL_TOKEN);
    const command = quoted(seed, 'curl -H "X-Moxxy-Internal-Token: your-token" http://localhost:17890/api/agents');
    const allowed = await curl(command, guarded.url);
    expect(allowed.status).toBe(200);
    expect(json(allowed)).toMatchObject({ success: true, data: { agents: expect.arrayContaining([expect.objectContaining({ name: 'default' })]) } });
    const refused = await curl('curl http://localhost:17890/api/agents', guarded.url);
    expect(refused.status).toBe(401);
    expect(json(refused)).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
  });

  it('is open without authentication for local development', async () => {
    quoted(seed, 'For local development, the API is accessible without authentication by default.');
    expect((await open.api.get('/api/agents')).status).toBe(200);
  });

  it('wraps a success as {"success": true, "data": {...}}', async () => {
    quoted(seed, '"success": true,\n"data": { ... }');
    const res = await open.api.get('/api/agents/default');
    expect(Object.keys(res.body).sort()).toEqual(['data', 'success']);
    expect(res.body).toMatchObject({ success: true, data: { name: 'default' } });
  });

  it("answers an unknown agent with the seed's error body", async () => {
    const expected = jsonAfter(seed, 'Error\njson\n');
    const res = await open.api.get('/api/agents/unknown');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject(expected);
  });

  it('answers with the status codes the seed lists', async () => {
    for (const row of ['| 200 | Success |', '| 201 | Created |', '| 400 | Bad Request |', '| 401 | Unauthorized |', '| 404 | Not Found |']) quoted(seed, row);
    expect((await open.api.get('/api/agents')).status).toBe(200);
    expect((await open.api.post('/api/agents', { name: 'status-codes' })).status).toBe(201);
    expect((await open.api.post('/api/agents', { name: 'Not A Slug' })).status).toBe(400);
    expect((await createApi(guarded.url).get('/api/agents')).status).toBe(401);
    expect((await open.api.get('/api/agents/nobody-here')).status).toBe(404);
  });

  it('limits chat to 10, reads to 100 and writes to 50 requests a second by default', async () => {
    for (const row of ['| Chat | 10/second |', '| Read | 100/second |', '| Write | 50/second |']) quoted(seed, row);
    const limit = async (method: string, path: string, body?: unknown) =>
      (await limited.api.request(method, path, { body })).headers.get('x-ratelimit-limit');
    expect(await limit('POST', '/api/agents/default/chat', { message: 'Hello!' })).toBe('10');
    expect(await limit('GET', '/api/agents')).toBe('100');
    expect(await limit('POST', '/api/agents', { name: 'rate-limited-write' })).toBe('50');
  });

  /** What each endpoint of the seed's tables needs: a body, and things that must exist first. */
  const ENDPOINTS: Record<string, { path: string; body?: unknown; status?: number; before?: (server: TestServer) => Promise<unknown> }> = {
    'GET /api/agents': { path: '/api/agents' },
    'GET /api/agents/:name': { path: '/api/agents/default' },
    'POST /api/agents': { path: '/api/agents', body: { name: 'table-created' }, status: 201 },
    'DELETE /api/agents/:name': { path: '/api/agents/table-doomed', before: (s) => s.api.post('/api/agents', { name: 'table-doomed' }) },
    'POST /api/agents/:name/chat': { path: '/api/agents/default/chat', body: { message: 'Hello!' } },
    'GET /api/agents/:name/chat/stream': { path: '/api/agents/default/chat/stream?message=Hello' },
    'GET /api/agents/:name/memory': { path: '/api/agents/default/memory' },
    'POST /api/agents/:name/memory': { path: '/api/agents/default/memory', body: { content: 'User prefers vegetarian food' }, status: 201 },
    'DELETE /api/agents/:name/memory': { path: '/api/agents/default/memory' },
    'GET /api/agents/:name/skills': { path: '/api/agents/default/skills' },
    'POST /api/agents/:name/skills/:skill/invoke': {
      path: '/api/agents/default/skills/table-greet/invoke',
      body: { args: ['world'] },
      before: (s) => s.api.post('/api/agents/default/skills', { name: 'table-greet', description: 'Greets', language: 'bash', code: '#!/bin/bash\necho "Hello, $1"' }),
    },
    'GET /api/agents/:name/vault': { path: '/api/agents/default/vault' },
    'GET /api/agents/:name/vault/:key': { path: '/api/agents/default/vault/table_read', before: (s) => s.api.post('/api/agents/default/vault', { key: 'table_read', value: 'table-secret-1' }) },
    'POST /api/agents/:name/vault': { path: '/api/agents/default/vault', body: { key: 'table_stored', value: 'table-secret-2' }, status: 201 },
    'DELETE /api/agents/:name/vault/:key': {
      path: '/api/agents/default/vault/table_doomed',
      before: (s) => s.api.post('/api/agents/default/vault', { key: 'table_doomed', value: 'table-secret-3' }),
    },
    'GET /api/agents/:name/channels': { path: '/api/agents/default/channels' },
    'POST /api/agents/:name/channels': {
      path: '/api/agents/default/channels',
      body: { type: 'http', channel: 'table-http', config: { authToken: 'table-channel-token-0123456789abcdef', allowedTools: [] } },
      status: 201,
    },
    'GET /api/webhooks': { path: '/api/webhooks' },
    'POST /api/webhooks': { path: '/api/webhooks', body: { name: 'table-hook', agent: 'default', prompt_template: 'Deliver {{body}}' }, status: 201 },
    'POST /api/webhooks/:name/trigger': {
      path: '/api/webhooks/table-trigger/trigger',
      body: { event: 'ping' },
      status: 202,
      before: (s) => s.api.post('/api/webhooks', { name: 'table-trigger', agent: 'default', prompt_template: 'Deliver {{body}}' }),
    },
  };
  const rows = [...seed.matchAll(/^\| (GET|POST|PUT|PATCH|DELETE) \| (\/api\/\S+) \| [^|]+ \|$/gm)].map((match) => `${match[1]} ${match[2]}`);

  it("lists the endpoints this suite runs, and the suite runs every endpoint of the seed's tables", () => {
    expect(rows.sort()).toEqual(Object.keys(ENDPOINTS).sort());
  });

  it.each(Object.keys(ENDPOINTS))('serves %s', async (row) => {
    const endpoint = ENDPOINTS[row]!;
    await endpoint.before?.(open);
    const res = await open.api.request(row.split(' ')[0]!, endpoint.path, { body: endpoint.body });
    expect(res.status, JSON.stringify(res.body)).toBe(endpoint.status ?? 200);
    if (res.headers.get('content-type')?.includes('text/event-stream')) expect(res.body).toContain('"done":true');
    else expect(res.body.success).toBe(true);
  });

  it("runs the seed's EventSource example: the chunks are logged, then the stream is closed on done", async () => {
    const code = quoted(
      seed,
      "const eventSource = new EventSource('/api/agents/default/chat/stream?message=Hello');\neventSource.onmessage = (event) => {\nconst data = JSON.parse(event.data);\nif (data.done) {\neventSource.close();\n} else {\nconsole.log(data.content);\n}\n};",
    );
    const page = pageEventSource(open.url);
    const output = recordingConsole();
    await runScript(code, { EventSource: page.PageEventSource, console: output.console });
    await page.closed;
    expect(output.logs.map(([content]) => content).join('')).toBe('Hello');
  });

  it('serves the OpenAPI document at GET /api/openapi.json', async () => {
    quoted(seed, 'GET /api/openapi.json');
    const res = await open.api.get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ openapi: expect.stringMatching(/^3\.1\./), paths: expect.objectContaining({ '/api/agents': expect.any(Object) }) });
  });

  it("runs the seed's JavaScript fetch example", async () => {
    const code = quoted(
      seed,
      "const response = await fetch('http://localhost:17890/api/agents/default/chat', {\nmethod: 'POST',\nheaders: { 'Content-Type': 'application/json' },\nbody: JSON.stringify({ message: 'Hello!' })\n});\nconst data = await response.json();",
    );
    const { data } = await runScript(at(code, open.url), { fetch }, ['data']);
    expect(data).toMatchObject({ success: true, data: { content: 'Hello!', agent_id: 'default' } });
  });

  it("runs the seed's Python example (with requests, or a stand-in for its post() where requests is not installed)", async () => {
    const code = quoted(
      seed,
      "import requests\nresponse = requests.post(\n'http://localhost:17890/api/agents/default/chat',\njson={'message': 'Hello!'}\n)\ndata = response.json()",
    );
    const env: Record<string, string> = {};
    const hasRequests = await run('python3', ['-c', 'import requests']).then(() => true, () => false);
    if (!hasRequests) {
      const shim = tempDir();
      writeFileSync(
        join(shim, 'requests.py'),
        [
          'import json, urllib.request',
          'class Response:',
          '    def __init__(self, body): self.body = body',
          '    def json(self): return json.loads(self.body)',
          'def post(url, json=None):',
          "    request = urllib.request.Request(url, data=__import__('json').dumps(json).encode(), headers={'Content-Type': 'application/json'}, method='POST')",
          '    with urllib.request.urlopen(request) as answer: return Response(answer.read())',
          '',
        ].join('\n'),
      );
      env.PYTHONPATH = shim;
    }
    const script = `${at(code, open.url)}\nimport json\nprint(json.dumps(data))`;
    const result = await run('python3', ['-c', script], { env: { ...process.env, ...env } });
    expect(JSON.parse(result.stdout)).toMatchObject({ success: true, data: { content: 'Hello!' } });
  });

  it("runs the seed's cURL example", async () => {
    const command = quoted(seed, 'curl -X POST http://localhost:17890/api/agents/default/chat \\\n-H "Content-Type: application/json" \\\n-d \'{"message": "Hello!"}\'');
    const result = await curl(command, open.url);
    expect(result.status).toBe(200);
    expect(json(result)).toMatchObject({ success: true, data: { content: 'Hello!', agent_id: 'default', run_id: expect.stringMatching(/^run_/) } });
  });
});

describe('seed 001: the HTTP channel', () => {
  const seed = seeds.http;
  /** The seed's moxxy.config.ts, from its first line comment to the end of the defineConfig call. */
  const configFile = /\/\/ moxxy\.config\.ts\n[\s\S]*?\n\}\);\n/.exec(seed)![0];
  let channel: { url: string; token: string };

  /** The seed's own steps: a token from openssl, its moxxy.config.ts as written, then `moxxy channels http`. */
  beforeAll(async () => {
    const steps = quoted(seed, 'export MOXXY_HTTP_TOKEN=$(openssl rand -hex 32)\nmoxxy channels http');
    const project = tempDir();
    writeFileSync(join(project, 'moxxy.config.ts'), configFile);
    const [exportToken, serve] = steps.split('\n');
    // Port aside: the seed's 3737 may be taken here.
    const started = await spawnShell(`${exportToken}\necho "token=$MOXXY_HTTP_TOKEN"\nexec ${serve!.replace(/^moxxy /, `${MOXXY} `)} --port 0`, { MOXXY_HOME: join(project, 'home') }, project);
    channel = { url: started.url, token: /token=([0-9a-f]{64})/.exec(started.output())![1]! };
  });

  it("reads the config's authToken '${vault:MOXXY_HTTP_TOKEN}' from the server's vault when the variable is not set", async () => {
    expect(configFile).toContain(quoted(seed, "authToken: '${vault:MOXXY_HTTP_TOKEN}',"));
    const project = tempDir();
    writeFileSync(join(project, 'moxxy.config.ts'), configFile);
    const env = { MOXXY_HOME: join(project, 'home') };
    const stored = await runCli(['vault', 'set', '--server', 'MOXXY_HTTP_TOKEN', 'token-kept-in-the-vault'], env, project);
    expect(stored.code, stored.stderr).toBe(0);
    const server = await spawnShell(`exec ${MOXXY} channels http --port 0`, env, project);
    const turn = (token: string) =>
      fetch(`${server.url}/v1/turn`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi' }) });
    expect((await turn('token-kept-in-the-vault')).status).toBe(200);
    expect((await turn('some-other-token')).status).toBe(401);
  }, CLI_TIMEOUT_MS);

  it('answers GET /v1/health with {"status": "ok"}', async () => {
    quoted(seed, 'GET/v1/health{ "status": "ok" }');
    const res = await fetch(`${channel.url}/v1/health`);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('requires Authorization: Bearer <token> on every protected route', async () => {
    quoted(seed, 'Every protected route requires Authorization: Bearer <token>.');
    const turn = (headers: Record<string, string>) =>
      fetch(`${channel.url}/v1/turn`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ prompt: 'hi' }) });
    expect((await turn({})).status).toBe(401);
    expect((await turn({ authorization: 'Bearer not-the-token' })).status).toBe(401);
    expect((await turn({ authorization: `Bearer ${channel.token}` })).status).toBe(200);
  });

  it("streams the seed's SSE example: one data: line per MoxxyEvent, assistant_chunk deltas making the answer, then data: [DONE]", async () => {
    quoted(seed, 'POST/v1/turn/streamsameSSE: one data: line per MoxxyEvent, terminating with data: [DONE]');
    quoted(seed, 'For a chat UI, pull assistant_chunk events and append their delta field');
    const command = quoted(
      seed,
      'curl -N http://localhost:3737/v1/turn/stream \\\n  -H "Authorization: Bearer $MOXXY_HTTP_TOKEN" \\\n  -H "Content-Type: application/json" \\\n  -d \'{"prompt":"list TS files"}\'',
    );
    const result = await curl(command, channel.url, { env: { MOXXY_HTTP_TOKEN: channel.token } });
    expect(result.status).toBe(200);
    expect(result.contentType).toContain('text/event-stream');
    const data = sseData(result.body);
    expect(data.at(-1)).toBe('[DONE]');
    const events = data.slice(0, -1).map((line) => JSON.parse(line));
    for (const event of events) expect(event).toEqual(expect.objectContaining({ type: expect.any(String) }));
    const answer = events.filter((event) => event.type === 'assistant_chunk').map((event) => event.delta).join('');
    expect(answer).toBe('list TS files');
  });

  it('answers POST /v1/turn {prompt, model?, systemPrompt?} with {events, assistant}', async () => {
    quoted(seed, 'POST/v1/turn{ prompt, model?, systemPrompt? }{ events: MoxxyEvent[], assistant: string }');
    const res = await open.api.post('/v1/turn', { prompt: 'Hello from a script', systemPrompt: 'Be brief.' }, { headers: { authorization: `Bearer ${HTTP_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['assistant', 'events']);
    expect(res.body.assistant).toBe('Hello from a script');
    expect(res.body.events.length).toBeGreaterThan(0);
  });

  it('shows tool activity as tool_call_requested, then tool_result', async () => {
    quoted(seed, 'for tool activity, watch tool_call_requestedtool_result');
    const res = await open.api.post('/v1/turn', { prompt: '<invoke name="memory.store">{"content": "likes tea"}</invoke>' }, { headers: { authorization: `Bearer ${HTTP_TOKEN}` } });
    const types: string[] = res.body.events.map((event: { type: string }) => event.type);
    expect(types).toContain('tool_call_requested');
    expect(types.indexOf('tool_result')).toBeGreaterThan(types.indexOf('tool_call_requested'));
  });

  it('exports turnRequestSchema from @moxxy/plugin-channel-http: a project outside the checkout imports it as the seed says', async () => {
    quoted(seed, 'The request body schema is exported as turnRequestSchema from @moxxy/plugin-channel-http.');
    const project = tempDir();
    mkdirSync(join(project, 'node_modules', '@moxxy'), { recursive: true });
    // What `npm install @moxxy/plugin-channel-http@file:<checkout>` makes, and tsx, which runs the package's TypeScript.
    symlinkSync(CHECKOUT, join(project, 'node_modules', '@moxxy', 'plugin-channel-http'));
    symlinkSync(join(CHECKOUT, 'node_modules', 'tsx'), join(project, 'node_modules', 'tsx'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'turn-client', private: true, type: 'module' }));
    writeFileSync(
      join(project, 'check.mjs'),
      [
        "import { turnRequestSchema } from '@moxxy/plugin-channel-http';",
        "const valid = turnRequestSchema.safeParse({ prompt: 'list TS files', model: 'gpt-4o-mini', systemPrompt: 'Be brief.' });",
        "const invalid = turnRequestSchema.safeParse({ prompt: '' });",
        'console.log(JSON.stringify({ valid: valid.success, invalid: invalid.success }));',
        '',
      ].join('\n'),
    );
    const result = await run(process.execPath, ['--import', 'tsx', 'check.mjs'], { cwd: project });
    expect(JSON.parse(result.stdout)).toEqual({ valid: true, invalid: false });
  }, CLI_TIMEOUT_MS);

  it('answers POST /v1/turn/audio with 503 no_transcriber when there is no transcriber', async () => {
    quoted(seed, 'otherwise the endpoint returns 503 no_transcriber');
    const res = await open.api.request('POST', '/v1/turn/audio', { rawBody: new Uint8Array([1, 2, 3]), headers: { authorization: `Bearer ${HTTP_TOKEN}`, 'content-type': 'audio/m4a' } });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: 'no_transcriber' });
  });

  it("runs the seed's audio example: the transcript becomes the prompt, the answer is {transcript, assistant, events}", async () => {
    quoted(seed, 'POST/v1/turn/audioraw audio bytes with Content-Type: audio/*{ transcript, events, assistant }');
    const command = quoted(
      seed,
      'curl -X POST \\\n  "http://localhost:3737/v1/turn/audio?model=claude-sonnet-4-6&language=en" \\\n  -H "Authorization: Bearer $MOXXY_HTTP_TOKEN" \\\n  -H "Content-Type: audio/m4a" \\\n  --data-binary @voicenote.m4a',
    );
    const transcript = "summarize today's calendar";
    quoted(seed, `"transcript": "${transcript}"`);
    msw.use(http.post(`${TRANSCRIBER}/audio/transcriptions`, () => HttpResponse.json({ text: transcript })));
    const cwd = tempDir();
    writeFileSync(join(cwd, 'voicenote.m4a'), Buffer.from('not really m4a, but bytes'));
    const result = await curl(command, voice.url, { env: { MOXXY_HTTP_TOKEN: HTTP_TOKEN }, cwd });
    expect(result.status).toBe(200);
    const body = json(result);
    expect(Object.keys(body).sort()).toEqual(['assistant', 'events', 'transcript']);
    // The echo provider answers with the prompt: the transcript.
    expect(body).toMatchObject({ transcript, assistant: transcript });
  });

  it('runs the audio turn on the model its query names (model=claude-sonnet-4-6)', async () => {
    quoted(seed, '/v1/turn/audio?model=claude-sonnet-4-6&language=en');
    msw.use(http.post(`${TRANSCRIBER}/audio/transcriptions`, () => HttpResponse.json({ text: 'what model is this' })));
    const res = await voice.api.request('POST', '/v1/turn/audio?model=claude-sonnet-4-6&language=en', {
      rawBody: new Uint8Array([1, 2, 3]),
      headers: { authorization: `Bearer ${HTTP_TOKEN}`, 'content-type': 'audio/m4a' },
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body.events)).toContain('claude-sonnet-4-6');
  });

  it('refuses to serve the channel without channels.http.allowedTools', async () => {
    quoted(seed, 'channels.http.allowedTools is requiredisAvailable refuses to start without it.');
    const project = tempDir();
    writeFileSync(join(project, 'moxxy.config.ts'), "import { defineConfig } from '@moxxy/config';\nexport default defineConfig({ channels: { http: { authToken: 'no-tools-token' } } });\n");
    const result = await runCli(['channels', 'http', '--port', '0'], { MOXXY_HOME: join(project, 'home') }, project);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('allowedTools');
  }, CLI_TIMEOUT_MS);

  it('runs `moxxy service install|status|logs http` (systemd user units; systemctl and journalctl are fakes here)', async () => {
    const commands = quoted(seed, 'moxxy service install http\nmoxxy service status http\nmoxxy service logs http --lines 100');
    const root = tempDir();
    const log = join(root, 'calls.log');
    for (const program of ['systemctl', 'journalctl']) {
      writeFileSync(join(root, program), `#!/bin/sh\necho "${program} $*" >> "${log}"\n`, { mode: 0o755 });
    }
    const env = { MOXXY_HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'xdg'), MOXXY_SYSTEMCTL: join(root, 'systemctl'), MOXXY_JOURNALCTL: join(root, 'journalctl') };
    await run('sh', ['-c', `set -e\n${MOXXY_FUNCTION}\n${commands}`], { cwd: root, env: { ...process.env, ...env } });
    expect(readFileSync(join(root, 'xdg', 'systemd', 'user', 'moxxy-http.service'), 'utf8')).toContain('channels http');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      'systemctl --user daemon-reload',
      'systemctl --user enable --now moxxy-http.service',
      'systemctl --user status moxxy-http.service',
      'journalctl --user -u moxxy-http.service -n 100',
    ]);
  }, CLI_TIMEOUT_MS);

  it('short-circuits the SSE stream with event: error and a JSON data line when the turn fails', async () => {
    quoted(seed, 'Errors short-circuit the SSE stream with event: error\\ndata: {...}.');
    await open.api.post('/api/agents', { name: 'interrupted-model', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    await open.api.post('/api/agents/interrupted-model/channels', { type: 'http', config: { authToken: 'interrupted-model-token-0123456789', allowedTools: [] } });
    // The model starts answering, then its stream breaks off: the turn fails once the SSE stream is under way.
    msw.use(
      http.post(`${OPENAI}/chat/completions`, () => {
        const body = new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Let me' } }] })}\n\n`));
            setTimeout(() => controller.error(new Error('connection reset')), 50);
          },
        });
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const res = await fetch(`${open.url}/v1/turn/stream`, {
      method: 'POST',
      headers: { authorization: 'Bearer interrupted-model-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello?' }),
    });
    const { events } = parseSse(await res.text());
    const failure = events.find((event) => event.event === 'error');
    expect(failure, JSON.stringify(events)).toBeDefined();
    expect(JSON.parse(failure!.data)).toEqual(expect.any(Object));
    expect(events.at(-1)).toBe(failure);
  });

  it('caps request bodies at 64 KB', async () => {
    quoted(seed, 'Request bodies are capped at 64 KB.');
    const res = await open.api.post('/v1/turn', { prompt: 'x'.repeat(65 * 1024) }, { headers: { authorization: `Bearer ${HTTP_TOKEN}` } });
    expect(res.status).toBe(413);
  });
});

describe('seed 002: MUXI at /api/v1', () => {
  const seed = seeds.muxi;
  const v1 = (server: TestServer, method: string, path: string, body?: unknown) => server.api.request(method, `/api/v1${path}`, { body });
  /** The seed's chat examples talk to an agent that its agent examples create: made here when no earlier test did. */
  const ensureMuxiAgent = async (id: string) => {
    if ((await v1(open, 'GET', `/agents/${id}`)).status === 404) expect((await v1(open, 'POST', '/agents', { id, name: id, description: '' })).status).toBe(201);
  };

  it('authenticates with Authorization: Bearer <token>, the key given to `moxxy serve --api-key`', async () => {
    quoted(seed, 'Authorization: Bearer <token>');
    quoted(seed, 'You can set the token\nwhen starting a muxi server with the --api-key\nflag.');
    const home = tempDir();
    const server = await spawnServer({ MOXXY_HOME: home }, home, ['serve', '--api-key', 'seed-002-api-key']);
    processes.push(server);
    const agents = (authorization?: string) => fetch(`${server.url}/api/v1/agents`, { headers: authorization ? { authorization } : {} });
    const refused = await agents();
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'authentication_error' } });
    expect((await agents('Bearer seed-002-api-key')).status).toBe(200);
  }, CLI_TIMEOUT_MS);

  it('lists agents: GET /agents answers {"agents": [{id, name, description}]}', async () => {
    const example = jsonAfter(seed, 'GET /agents\nList all available agents.\nResponse:');
    await v1(open, 'POST', '/agents', { ...example.agents[0], model: { provider: 'echo', name: 'echo' } });
    const res = await v1(open, 'GET', '/agents');
    expect(res.status).toBe(200);
    expect(res.body.agents).toContainEqual(expect.objectContaining(example.agents[0]));
  });

  it("creates an agent from the seed's body: POST /agents answers {id, name, description, status: created}", async () => {
    const body = jsonAfter(seed, 'POST /agents', 'Request Body:');
    const expected = jsonAfter(seed, 'POST /agents', 'Response:');
    const res = await v1(open, 'POST', '/agents', body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject(expected);
  });

  it("gets an agent: GET /agents/{agent_id} answers the seed's example for the agent it describes", async () => {
    const expected = jsonAfter(seed, 'GET /agents/{agent_id}', 'Response:');
    await v1(open, 'POST', '/agents', { ...expected, id: 'muxi-detail' });
    const res = await v1(open, 'GET', '/agents/muxi-detail');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...expected, id: 'muxi-detail' });
  });

  it('deletes an agent: DELETE /agents/{agent_id} answers {status: deleted, id}', async () => {
    const expected = jsonAfter(seed, 'DELETE /agents/{agent_id}', 'Response:');
    await v1(open, 'POST', '/agents', { id: expected.id, name: 'Doomed', description: '' });
    const res = await v1(open, 'DELETE', `/agents/${expected.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expected);
    expect((await v1(open, 'GET', `/agents/${expected.id}`)).status).toBe(404);
  });

  it("chats: POST /chat/{agent_id} with the seed's body answers {id, content, timestamp, agent_id, session_id}", async () => {
    const body = jsonAfter(seed, 'POST /chat/{agent_id}', 'Request Body:');
    const example = jsonAfter(seed, 'POST /chat/{agent_id}', 'Response:');
    await ensureMuxiAgent(example.agent_id);
    const res = await v1(open, 'POST', `/chat/${example.agent_id}`, body);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(expect.arrayContaining(Object.keys(example)));
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^msg_/), content: body.message, agent_id: example.agent_id, session_id: example.session_id, timestamp: expect.stringMatching(ISO_TIMESTAMP) });
  });

  it('reads history: GET /chat/{agent_id}/history?user_id&session_id answers {messages: [{id, role, content, timestamp}], has_more}', async () => {
    const chat = jsonAfter(seed, 'POST /chat/{agent_id}', 'Request Body:');
    const agentId = jsonAfter(seed, 'POST /chat/{agent_id}', 'Response:').agent_id;
    const example = jsonAfter(seed, 'GET /chat/{agent_id}/history', 'Response:');
    await ensureMuxiAgent(agentId);
    await v1(open, 'POST', `/chat/${agentId}`, chat);
    const res = await v1(open, 'GET', `/chat/${agentId}/history?user_id=${chat.user_id}&session_id=${chat.session_id}`);
    expect(res.status).toBe(200);
    expect(res.body.has_more).toBe(example.has_more);
    // The session may hold earlier turns; the last is the seed's, the echo provider answering with the question.
    expect(res.body.messages.slice(-2).map((message: any) => [message.role, message.content])).toEqual([
      ['user', example.messages[0].content],
      ['assistant', example.messages[0].content],
    ]);
    for (const message of res.body.messages) expect(Object.keys(message).sort()).toEqual(Object.keys(example.messages[0]).sort());
  });

  it("adds a memory: POST /memory/{agent_id} with the seed's body answers {id, status: created, created_at}", async () => {
    const body = jsonAfter(seed, 'POST /memory/{agent_id}', 'Request Body:');
    const example = jsonAfter(seed, 'POST /memory/{agent_id}', 'Response:');
    await v1(open, 'POST', '/agents', { id: 'muxi-memory', name: 'Memory', description: '' });
    const res = await v1(open, 'POST', '/memory/muxi-memory', body);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(Object.keys(example).sort());
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^mem_/), status: 'created', created_at: expect.stringMatching(ISO_TIMESTAMP) });
  });

  it('queries memory: GET /memory/{agent_id}?user_id&query&limit answers {memories: [{id, content, created_at, relevance_score}]}', async () => {
    const example = jsonAfter(seed, 'GET /memory/{agent_id}', 'Response:');
    await v1(open, 'POST', '/agents', { id: 'muxi-recall', name: 'Recall', description: '' });
    for (const memory of example.memories) await v1(open, 'POST', '/memory/muxi-recall', { user_id: 'user123', content: memory.content });
    const res = await v1(open, 'GET', '/memory/muxi-recall?user_id=user123&query=New%20York&limit=10');
    expect(res.status).toBe(200);
    expect(res.body.memories[0]).toMatchObject({ content: example.memories[0].content, relevance_score: expect.any(Number) });
    for (const memory of res.body.memories) {
      expect(Object.keys(memory).sort()).toEqual(Object.keys(example.memories[0]).sort());
      expect(memory.relevance_score).toBeGreaterThan(0);
      expect(memory.relevance_score).toBeLessThanOrEqual(1);
    }
  });

  it("answers a missing required parameter with the seed's error body", async () => {
    const expected = jsonAfter(seed, 'Error Responses', 'additional information:');
    await v1(open, 'POST', '/agents', { id: 'muxi-errors', name: 'Errors', description: '' });
    const res = await v1(open, 'GET', '/chat/muxi-errors/history?session_id=session456');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: expected.error.code, details: expected.error.details } });
    expect(res.body.error.message).toContain('user_id');
  });

  it('sends X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (UTC epoch seconds)', async () => {
    for (const header of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']) quoted(seed, header);
    const res = await limited.api.get('/api/v1/agents?limit=1');
    const now = Date.now() / 1000;
    expect(Number(res.headers.get('x-ratelimit-limit'))).toBeGreaterThan(0);
    expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    expect(Number.isInteger(reset)).toBe(true);
    expect(reset).toBeGreaterThanOrEqual(Math.floor(now));
    expect(reset).toBeLessThan(now + 120);
  });

  it('uses the common error codes: not_found, authentication_error, permission_denied, rate_limit_exceeded', async () => {
    for (const code of ['not_found', 'authentication_error', 'permission_denied', 'rate_limit_exceeded']) quoted(seed, `${code}\n:`);
    expect((await v1(open, 'GET', '/agents/nobody-here')).body).toMatchObject({ error: { code: 'not_found' } });
    const guardedApi = createApi(guarded.url);
    expect((await guardedApi.get('/api/v1/agents')).body).toMatchObject({ error: { code: 'authentication_error' } });
    const minted = await guardedApi.post('/api/tokens', { name: 'muxi-reader', scopes: ['memory:read'] }, { headers: { 'x-moxxy-internal-token': INTERNAL_TOKEN } });
    const denied = await guardedApi.get('/api/v1/agents', { headers: { authorization: `Bearer ${minted.body.data.token}` } });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ error: { code: 'permission_denied' } });
    // More reads at once than the two a second this server allows.
    const throttled = await startTestServer({ rateLimits: { enabled: true, read: 2 } });
    try {
      const burst = await Promise.all(Array.from({ length: 10 }, () => throttled.api.get('/api/v1/agents')));
      expect(burst.find((answer) => answer.status === 429)?.body).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    } finally {
      await throttled.close();
    }
  });

  it('paginates lists with limit and offset: {items, pagination: {total, limit, offset, next_offset}}', async () => {
    quoted(seed, '"items": [...],');
    const expected = jsonAfter(seed, 'Paginated responses include metadata:', '"pagination":');
    const res = await v1(open, 'GET', '/agents?limit=1&offset=0');
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    expect(Object.keys(res.body.pagination).sort()).toEqual(Object.keys(expected).sort());
    expect(res.body.pagination).toMatchObject({ limit: 1, offset: 0, next_offset: 1 });
  });
});

describe('seed 003: skills and MCP tools', () => {
  const seed = seeds.skills;
  const skills = '/api/agents/default/skills';

  it('lists skills: GET /api/agents/:name/skills has host_shell and web_crawler as the seed shows them', async () => {
    quoted(seed, 'GET /api/agents/:name/skills');
    const example = jsonAfter(seed, 'List Skills', 'Response');
    const res = await open.api.get(skills);
    expect(res.status).toBe(200);
    for (const skill of example.skills) {
      const listed = res.body.data.skills.find((s: { name: string }) => s.name === skill.name);
      expect(listed).toMatchObject({ ...skill, description: expect.any(String) });
    }
  });

  it("gets a skill's details: GET /api/agents/:name/skills/:skill answers the seed's host_shell", async () => {
    quoted(seed, 'GET /api/agents/:name/skills/:skill');
    const example = jsonAfter(seed, 'Get Skill Details', 'Response');
    const res = await open.api.get(`${skills}/host_shell`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ ...example, description: expect.stringContaining('Execute shell commands on the host system') });
  });

  it("creates a skill from the seed's body, which then runs: POST /api/agents/:name/skills", async () => {
    const body = jsonAfter(seed, 'Create Skill', 'Request');
    const example = jsonAfter(seed, 'Create Skill', 'Response');
    const res = await open.api.post(skills, body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ success: true, data: { ...example.skill, created_at: expect.stringMatching(ISO_TIMESTAMP) } });
    const invoked = await open.api.post(`${skills}/${body.name}/invoke`, { args: ['hello'] });
    expect(invoked.body.data.output).toBe('Received: ["hello"]\n');
  });

  it("invokes with array args: POST .../invoke {args: [...]} answers {success, output, exit_code, execution_time_ms}", async () => {
    const body = jsonAfter(seed, 'Invoke Skill', 'Request (Array Args)');
    const example = jsonAfter(seed, 'Invoke Skill', 'Response');
    await open.api.post(skills, { name: 'args-echo', description: 'Prints its argv', language: 'bash', code: '#!/bin/bash\necho "$@"' });
    const res = await open.api.post(`${skills}/args-echo/invoke`, body);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(example.success);
    expect(res.body.data).toMatchObject({ output: 'ls -la /home/user\n', exit_code: 0, execution_time_ms: expect.any(Number) });
  });

  it('invokes with object args (MCP style): the object arrives as JSON on stdin', async () => {
    const body = jsonAfter(seed, 'Invoke Skill', 'Request (Object Args - MCP)');
    await open.api.post(skills, { name: 'stdin-echo', description: 'Prints its stdin', language: 'bash', code: '#!/bin/bash\ncat' });
    const res = await open.api.post(`${skills}/stdin-echo/invoke`, body);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.data.output)).toEqual(body.args);
  });

  it('answers a failing skill with success: false, its output and exit code', async () => {
    const example = jsonAfter(seed, 'Invoke Skill', 'Error Response');
    await open.api.post(skills, { name: 'failing-ls', description: 'ls', language: 'bash', code: '#!/bin/bash\nls "$@"' });
    const res = await open.api.post(`${skills}/failing-ls/invoke`, { args: ['/nonexistent'] });
    expect(res.body.success).toBe(example.success);
    expect(res.body.error.message).toMatch(/exit code 2/);
    // Under /api the seed's output and exit_code sit in the error envelope's details.
    expect(res.body.error.details).toMatchObject({ output: expect.stringContaining("ls: cannot access '/nonexistent'"), exit_code: 2 });
  });

  it("updates a skill with the seed's body: PUT /api/agents/:name/skills/:skill", async () => {
    quoted(seed, 'PUT /api/agents/:name/skills/:skill');
    const body = jsonAfter(seed, 'Update Skill', 'Request');
    await open.api.post(skills, { name: 'updated-skill', description: 'Before', language: 'bash', code: '#!/bin/bash\necho before' });
    const res = await open.api.put(`${skills}/updated-skill`, body);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ description: body.description });
    expect((await open.api.post(`${skills}/updated-skill/invoke`, { args: ['x'] })).body.data.output).toBe('Updated: ["x"]\n');
  });

  it('deletes a skill: DELETE /api/agents/:name/skills/:skill', async () => {
    quoted(seed, 'DELETE /api/agents/:name/skills/:skill');
    const example = jsonAfter(seed, 'Delete Skill', 'Response');
    await open.api.post(skills, { name: 'old_skill', description: 'Old', language: 'bash', code: '#!/bin/bash\necho old' });
    const res = await open.api.delete(`${skills}/old_skill`);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(example.success);
    expect(JSON.stringify(res.body.data)).toContain('old_skill');
    expect((await open.api.get(`${skills}/old_skill`)).status).toBe(404);
  });

  it("installs from the seed's GitHub tree URL: POST /api/agents/:name/skills/install", async () => {
    quoted(seed, 'POST /api/agents/:name/skills/install');
    const body = jsonAfter(seed, 'Install Skill from URL', 'Request');
    const example = jsonAfter(seed, 'Install Skill from URL', 'Response');
    const raw = 'https://raw.githubusercontent.com/user/moxxy-skills/main/skills/weather';
    msw.use(
      http.get(`${raw}/manifest.toml`, () => HttpResponse.text('name = "weather"\ndescription = "Get weather information"\nrun_command = "bash"\nentrypoint = "weather.sh"\n')),
      http.get(`${raw}/weather.sh`, () => HttpResponse.text('#!/bin/bash\necho "Weather for $1: sunny"\n')),
    );
    const res = await open.api.post(`${skills}/install`, body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ success: true, data: { name: example.skill.name, description: example.skill.description } });
    expect((await open.api.post(`${skills}/weather/invoke`, { args: ['London'] })).body.data.output).toBe('Weather for London: sunny\n');
  });

  it("gets a skill's source: its TOML manifest and its code", async () => {
    quoted(seed, 'GET /api/agents/:name/skills/:skill/source');
    const example = jsonAfter(seed, 'Get Skill Source', 'Response');
    const res = await open.api.get(`${skills}/host_shell/source`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data).sort()).toEqual(Object.keys(example).sort());
    expect(res.body.data.manifest.startsWith(example.manifest.replace('..."', ''))).toBe(true);
    expect(res.body.data.code).toEqual(expect.any(String));
  });

  describe('MCP tools', () => {
    const mcp = '/api/agents/default/mcp';
    beforeAll(async () => {
      // The seed's examples talk to a server named filesystem with a read_file tool: the test MCP server has one.
      const added = await open.api.post(`${mcp}/servers`, { name: 'filesystem', ...STDIO_FIXTURE });
      expect(added.status, JSON.stringify(added.body)).toBe(201);
    });

    it('lists MCP servers: {servers: [{name, status, tools_count}]}', async () => {
      quoted(seed, 'GET /api/agents/:name/mcp/servers');
      const example = jsonAfter(seed, 'List MCP Servers', 'Response');
      const res = await open.api.get(`${mcp}/servers`);
      expect(res.body.data.servers).toContainEqual(expect.objectContaining({ name: example.servers[0].name, status: example.servers[0].status, tools_count: expect.any(Number) }));
    });

    it("lists MCP tools: {tools: [{server, name, description, input_schema}]}, read_file as the seed shows it", async () => {
      quoted(seed, 'GET /api/agents/:name/mcp/tools');
      const example = jsonAfter(seed, 'List MCP Tools', 'Response');
      const res = await open.api.get(`${mcp}/tools`);
      const tool = res.body.data.tools.find((t: { server: string; name: string }) => t.server === 'filesystem' && t.name === 'read_file');
      expect(tool).toMatchObject({ ...example.tools[0], description: expect.any(String), input_schema: expect.objectContaining(example.tools[0].input_schema) });
    });

    it("adds an MCP server from the seed's body: POST /api/agents/:name/mcp/servers", async () => {
      const body = jsonAfter(seed, 'Add MCP Server', 'Request');
      const res = await open.api.post(`${mcp}/servers`, body);
      expect(res.status).toBe(201);
      // mcp-postgres is not installed here: the server is kept, with the reason it does not run.
      expect(res.body.data).toMatchObject({ name: body.name, command: body.command, status: 'error', error: expect.stringContaining('mcp-postgres') });
    });

    it("invokes an MCP tool: POST .../mcp/invoke {server, tool, arguments} answers {success, content: [{type, text}]}", async () => {
      const body = jsonAfter(seed, 'Invoke MCP Tool', 'Request');
      const example = jsonAfter(seed, 'Invoke MCP Tool', 'Response');
      // Path aside (like host and port): a file this test owns, outside /tmp, which sandboxes replace with their own.
      const dir = makeHomeOutsideTmp();
      dirs.push(dir);
      writeFileSync(join(dir, 'data.txt'), 'File contents here...');
      const res = await open.api.post(`${mcp}/invoke`, { ...body, arguments: { path: join(dir, 'data.txt') } });
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(example.success);
      expect(res.body.data.content).toEqual(example.content);
    });

    it('removes an MCP server: DELETE /api/agents/:name/mcp/servers/:server', async () => {
      quoted(seed, 'DELETE /api/agents/:name/mcp/servers/:server');
      await open.api.post(`${mcp}/servers`, { name: 'removable', ...STDIO_FIXTURE });
      expect((await open.api.delete(`${mcp}/servers/removable`)).status).toBe(200);
      expect((await open.api.get(`${mcp}/servers`)).body.data.servers.map((s: { name: string }) => s.name)).not.toContain('removable');
    });
  });
});

describe('seed 004: events and audit', () => {
  const seed = seeds.events;
  const agent = 'agent_abc123';

  /** What `server` needs to let the test in: the internal token of `guarded`, nothing on `open`. */
  const credentials = (server: TestServer): { headers: Record<string, string> } => ({ headers: server === guarded ? { 'x-moxxy-internal-token': INTERNAL_TOKEN } : {} });

  beforeAll(async () => {
    for (const server of [open, guarded]) {
      const res = await server.api.post('/api/agents', { name: agent, allowed_tools: ['memory.*'] }, credentials(server));
      expect(res.status).toBe(201);
    }
  });

  const chat = (server: TestServer, message: string) => server.api.post(`/api/agents/${agent}/chat`, { message }, credentials(server));

  it("streams an agent's events to the seed's curl example, with a token that has events:read", async () => {
    const command = quoted(seed, 'curl -N -H "Authorization: Bearer mox_token" \\\n  "http://127.0.0.1:3000/v1/events/stream?agent_id=agent_abc123"');
    const minted = await guarded.api.post('/api/tokens', { name: 'events-reader', scopes: ['events:read'] }, { headers: { 'x-moxxy-internal-token': INTERNAL_TOKEN } });
    const streaming = curl(command.replace('mox_token', minted.body.data.token), guarded.url, { maxTime: 3 });
    await new Promise((resolve) => setTimeout(resolve, 700));
    const reply = await chat(guarded, 'Hello, events');
    const result = await streaming;
    expect(result.exitCode).toBe(28); // curl's "timed out": the stream stays open
    const { events } = parseSse(result.body);
    const ofRun = events.filter((event) => JSON.parse(event.data).run_id === reply.body.data.run_id);
    expect(ofRun.map((event) => JSON.parse(event.data).event_type)).toEqual(expect.arrayContaining(['run.started', 'run.completed']));
    for (const event of ofRun) {
      expect(event.id).toBe(JSON.parse(event.data).event_id);
      expect(JSON.parse(event.data).agent_id).toBe(agent);
    }
  });

  it("runs the seed's EventSource example: onmessage gets every envelope of the agent", async () => {
    const code = quoted(
      seed,
      "const eventSource = new EventSource(\n  'http://127.0.0.1:3000/v1/events/stream?agent_id=agent_abc123',\n);\n\neventSource.onmessage = (event) => {\n  const envelope = JSON.parse(event.data);\n  console.log(envelope.event_type, envelope.payload);\n};",
    );
    const page = pageEventSource(open.url);
    const output = recordingConsole();
    const { eventSource } = await runScript(at(code, open.url), { EventSource: page.PageEventSource, console: output.console }, ['eventSource']);
    const source = eventSource as EventSource;
    try {
      await new Promise((resolve) => (source.readyState === EventSource.OPEN ? resolve(undefined) : source.addEventListener('open', resolve)));
      const reply = await chat(open, 'Hello, EventSource');
      await waitFor(() => output.logs.some(([type]) => type === 'run.completed'), 'run.completed in onmessage');
      expect(output.logs.map(([type]) => type)).toEqual(expect.arrayContaining(['run.started', 'message.user', 'message.assistant', 'run.completed']));
      expect(output.logs.find(([type]) => type === 'run.started')?.[1]).toMatchObject({ session_id: expect.any(String) });
      expect(reply.status).toBe(200);
    } finally {
      source.close();
    }
  });

  it('wraps every event in the envelope {event_id, timestamp, agent_id, run_id, sequence, event_type, payload}', async () => {
    quoted(seed, '"event_id": "evt_7f3a2b1c-...",');
    for (const row of ['event_idUUID v7 unique identifier', 'timestampISO 8601 timestamp', 'sequenceMonotonically increasing counter per run']) quoted(seed, row);
    const reply = await chat(open, 'Envelope, please');
    const events = (await open.api.get(`/api/audit?run_id=${reply.body.data.run_id}&limit=1000`)).body.data.events;
    expect(events.length).toBeGreaterThan(2);
    events.forEach((event: any, i: number) => {
      expect(Object.keys(event).sort()).toEqual(['agent_id', 'event_id', 'event_type', 'payload', 'run_id', 'sequence', 'timestamp']);
      expect(event.event_id).toMatch(new RegExp(`^evt_${UUID_V7.source}$`));
      expect(event.timestamp).toMatch(ISO_TIMESTAMP);
      expect(event).toMatchObject({ agent_id: agent, run_id: reply.body.data.run_id });
      if (i > 0) expect(event.sequence).toBeGreaterThan(events[i - 1].sequence);
    });
  });

  /** Each category of the seed's table, with what makes its events happen. */
  const CATEGORIES: Array<[string, string[], () => Promise<unknown>]> = [
    ['Run Events', ['run.started', 'run.completed', 'run.failed'], async () => {
      await chat(open, 'A run that completes');
      await open.api.post('/api/agents', { name: 'failing-run', model: { provider: 'openai', name: 'gpt-4o-mini' } });
      msw.use(http.post(`${OPENAI}/chat/completions`, () => HttpResponse.json({ error: { message: 'down' } }, { status: 500 })));
      await open.api.post('/api/agents/failing-run/chat', { message: 'A run that fails' });
    }],
    ['Message Events', ['message.user', 'message.assistant'], () => chat(open, 'Messages')],
    ['Model Events', ['model.request', 'model.response', 'model.stream'], () => chat(open, 'Model calls')],
    ['Primitive Events', ['primitive.called', 'primitive.result'], () => chat(open, '<invoke name="memory.search">{"query": "tea"}</invoke>')],
    ['Skill Events', ['skill.invoked', 'skill.completed'], async () => {
      await open.api.post('/api/agents', { name: 'skilled', allowed_tools: ['events-skill'] });
      await open.api.post('/api/agents/skilled/skills', { name: 'events-skill', description: 'Says hi', language: 'bash', code: '#!/bin/bash\necho hi' });
      await open.api.post('/api/agents/skilled/chat', { message: '<invoke name="events-skill">[]</invoke>' });
    }],
    ['Memory Events', ['memory.stored', 'memory.recalled'], () => chat(open, '<invoke name="memory.store">{"content": "likes green tea"}</invoke>')],
    ['Vault Events', ['vault.accessed', 'vault.denied'], async () => {
      await open.api.post(`/api/agents/${agent}/vault`, { key: 'EVENTS_KEY', value: 'events-vault-value' });
      await open.api.get(`/api/agents/${agent}/vault/EVENTS_KEY`);
      // A skill whose env_keys name a secret that does not exist is denied it.
      const skill = { name: 'needs-missing', description: 'Wants a key', language: 'bash', code: '#!/bin/bash\necho ok', needs_env: true, env_keys: ['MISSING_KEY'] };
      await open.api.post(`/api/agents/${agent}/skills`, skill);
      await open.api.post(`/api/agents/${agent}/skills/needs-missing/invoke`, { args: [] });
    }],
    ['Heartbeat Events', ['heartbeat.created', 'heartbeat.fired'], async () => {
      const beat = await open.api.post(`/api/agents/${agent}/heartbeats`, { name: 'events-beat', prompt: 'Beat', interval_seconds: 1 });
      stopHeartbeat = () => open.api.patch(`/api/agents/${agent}/heartbeats/${beat.body.data.id}`, { enabled: false });
    }],
    ['Sub-Agent Events', ['subagent.spawned', 'subagent.completed'], async () => {
      await open.api.post('/api/agents', { name: 'delegator', allowed_tools: ['subagent.*'] });
      await open.api.post('/api/agents/delegator/chat', { message: '<invoke name="subagent.spawn">{"prompt": "Say hi"}</invoke>' });
    }],
    ['Security Events', ['security.violation', 'security.redacted'], async () => {
      await chat(open, '<invoke name="host_shell">["id"]</invoke>');
      await open.api.post(`/api/agents/${agent}/vault`, { key: 'EVENTS_SECRET', value: 'events-secret-value' });
      await chat(open, 'My secret is events-secret-value');
    }],
    ['Channel Events', ['channel.message_received', 'channel.message_sent'], () =>
      open.api.post('/v1/turn', { prompt: 'Over the channel' }, { headers: { authorization: `Bearer ${HTTP_TOKEN}` } })],
  ];
  /** The heartbeat made for its events fires every second until this stops it. */
  let stopHeartbeat: (() => Promise<unknown>) | undefined;
  afterAll(() => stopHeartbeat?.());

  it.each(CATEGORIES)('emits the %s of the seed: %j', async (category, types, happen) => {
    quoted(seed, category);
    for (const type of types) quoted(seed, type);
    const since = new Date(Date.now() - 1000).toISOString();
    await happen();
    const seen = async () => {
      const res = await open.api.get(`/v1/audit?since=${since}&limit=1000`);
      return new Set<string>(res.body.events.map((event: { event_type: string }) => event.event_type));
    };
    const all = await waitFor(async () => {
      const present = await seen();
      return types.every((type) => present.has(type)) ? present : undefined;
    }, `${types.join(', ')} after ${category}`).catch(seen);
    for (const type of types) expect([...all], `${type} after ${category}`).toContain(type);
  });

  it('redacts vault values from every payload as [REDACTED]', async () => {
    quoted(seed, 'Any vault secret values that appear in event payloads are automatically replaced with [REDACTED].');
    await open.api.post(`/api/agents/${agent}/vault`, { key: 'REDACTION_DEMO', value: 'redaction-demo-value' });
    const reply = await chat(open, 'Please remember redaction-demo-value');
    const events = (await open.api.get(`/api/audit?run_id=${reply.body.data.run_id}&limit=1000`)).body.data.events;
    expect(JSON.stringify(events)).not.toContain('redaction-demo-value');
    expect(events.find((event: any) => event.event_type === 'message.user').payload.content).toBe('Please remember [REDACTED]');
  });

  it("queries the audit log: GET /v1/audit?agent_id&event_type&since&until&limit answers {events} as the seed's example", async () => {
    quoted(seed, 'GET /v1/audit');
    for (const row of ['agent_idstringFilter by agent', 'event_typestringFilter by type', 'sincestringISO timestamp start', 'untilstringISO timestamp end', 'limitnumberMax results (default: 100)']) quoted(seed, row);
    const example = jsonAfter(seed, 'GET /v1/audit', 'Response');
    const since = new Date(Date.now() - 1000).toISOString();
    await chat(open, '<invoke name="memory.store">{"content": "audit example"}</invoke>');
    const until = new Date(Date.now() + 1000).toISOString();
    const res = await open.api.get(`/v1/audit?agent_id=${agent}&event_type=${example.events[0].event_type}&since=${since}&until=${until}&limit=10`);
    expect(res.status).toBe(200);
    expect(res.body.events.length).toBeGreaterThan(0);
    const [event] = res.body.events;
    expect(event).toMatchObject({ agent_id: agent, event_type: 'primitive.called' });
    for (const key of Object.keys(example.events[0])) expect(event).toHaveProperty(key);
    expect(event.payload).toMatchObject({ name: 'memory.store', args: { content: 'audit example' } });
    const defaults = await open.api.get('/v1/audit');
    expect(defaults.body.events.length).toBeLessThanOrEqual(100);
  });

  it('requires the events:read scope on both endpoints', async () => {
    quoted(seed, 'GET /v1/events/streamevents:read');
    quoted(seed, 'GET /v1/auditevents:read');
    const mint = async (scopes: string[]) =>
      (await guarded.api.post('/api/tokens', { name: `scopes-${scopes.join('-')}`, scopes }, { headers: { 'x-moxxy-internal-token': INTERNAL_TOKEN } })).body.data.token as string;
    const [reader, other] = [await mint(['events:read']), await mint(['agents:read'])];
    const audit = (token: string) => fetch(`${guarded.url}/v1/audit?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    expect((await audit(reader)).status).toBe(200);
    expect((await audit(other)).status).toBe(403);
    const stream = (token: string) => curl(`curl -N -H "Authorization: Bearer ${token}" "http://127.0.0.1:3000/v1/events/stream"`, guarded.url, { maxTime: 1 });
    expect((await stream(reader)).exitCode).toBe(28);
    expect((await stream(other)).status).toBe(403);
  });
});
