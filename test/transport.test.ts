/**
 * The HTTP surface under abuse: foreign Host values (DNS rebinding), cross-site browser requests, unusual methods,
 * deeply nested JSON, long query strings, malformed HTTP, slow clients, guessed credentials and revoked tokens.
 * Every answer here is checked against openapi.json (server.api, rawRequest).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signGitHub } from '../src/services/webhooks/signatures.ts';
import { rawRequest } from './helpers/raw-http.ts';
import { readSse } from './helpers/sse.ts';
import { createApi, makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';
import { runCli, spawnServer } from './helpers/process.ts';

const INTERNAL_TOKEN = 'internal-token-for-the-transport-suite-0123';
const internal = { 'x-moxxy-internal-token': INTERNAL_TOKEN };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** `{"a":{"a":...}}` nested `depth` levels. */
const nested = (depth: number): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
/** The same as text, built without recursion: JSON.stringify of 10,000 levels is where the server used to fail. */
const nestedText = (depth: number) => `${'{"a":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;

/** A log stream to hand the server, read back as pino's JSON lines. */
function captureLog() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return {
    stream,
    errors: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((entry) => entry.level >= 50),
  };
}

/** Opens a TCP connection and sends `text`, leaving the rest of the request unsent. */
function halfSend(url: string, text: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(Number(port), hostname, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      socket.write(text);
      resolve({ socket, received: () => received, closed });
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('error', reject);
  });
}

/** The JSON body of a raw HTTP/1.1 answer read off a socket. */
const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

let server: TestServer;
const log = captureLog();
beforeAll(async () => {
  server = await startTestServer({ logLevel: 'info' }, {}, { logStream: log.stream });
});
afterAll(() => server.close());

describe('open loopback mode answers loopback Host values only (DNS rebinding)', () => {
  it('answers 421 HOST_NOT_ALLOWED to a foreign Host, and reads no secret for it', async () => {
    await server.api.post('/api/agents/default/vault', { key: 'REBIND_CANARY', value: 'canary-value-for-rebinding' });
    const rebound = await rawRequest(server.url, { path: '/api/agents/default/vault/REBIND_CANARY', headers: { host: 'rebind.attacker.example:17890' } });
    expect(rebound.status).toBe(421);
    expect(rebound.body).toEqual({
      success: false,
      error: {
        code: 'HOST_NOT_ALLOWED',
        message: "Host 'rebind.attacker.example' is not allowed: this server answers loopback names and http.allowedHosts only",
        details: { host: 'rebind.attacker.example' },
      },
    });
    expect(JSON.stringify(rebound.body)).not.toContain('canary-value');
    const unknownPath = await rawRequest(server.url, { method: 'POST', path: '/api/nowhere', headers: { host: 'rebind.attacker.example' } });
    expect(unknownPath.status).toBe(421);
  });

  it('serves loopback names with any port: localhost, 127.x, [::1], *.localhost', async () => {
    for (const host of ['localhost', 'localhost:9999', '127.0.0.1', '127.1.2.3:80', '[::1]:17890', 'app.localhost']) {
      const res = await rawRequest(server.url, { path: '/api/agents/default', headers: { host } });
      expect(res.status, host).toBe(200);
    }
  });

  it('serves the names in http.allowedHosts, and relaxes the check when an internal token is configured', async () => {
    const listed = await startTestServer({ http: { allowedHosts: ['moxxy.lan'] } });
    const guarded = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
    try {
      expect((await rawRequest(listed.url, { path: '/api/agents', headers: { host: 'MOXXY.lan:8080' } })).status).toBe(200);
      expect((await rawRequest(listed.url, { path: '/api/agents', headers: { host: 'other.lan' } })).status).toBe(421);
      // With a token every request is authenticated, so the name it was sent to grants nothing.
      expect((await rawRequest(guarded.url, { path: '/api/agents', headers: { host: 'moxxy.example.com' } })).status).toBe(401);
      expect((await rawRequest(guarded.url, { path: '/api/agents', headers: { host: 'moxxy.example.com', ...internal } })).status).toBe(200);
    } finally {
      await listed.close();
      await guarded.close();
    }
  });
});

describe('cross-site browser requests', () => {
  const runsStarted = async () => (await server.api.get('/v1/audit?event_type=run.started&limit=100')).body.events.length as number;

  it('refuses a cross-site GET of the chat stream with 403 CROSS_SITE_REQUEST, and starts no run', async () => {
    const before = await runsStarted();
    const forged = await server.api.get('/api/agents/default/chat/stream?message=exfiltrate', { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(forged.status).toBe(403);
    expect(forged.body.error).toEqual({
      code: 'CROSS_SITE_REQUEST',
      message: 'A cross-site request may not change state or start runs',
      details: { sec_fetch_site: 'cross-site' },
    });
    const fromForeignOrigin = await server.api.get('/api/agents/default/chat/stream?message=exfiltrate', { headers: { origin: 'http://evil.example' } });
    expect(fromForeignOrigin.status).toBe(403);
    expect(await runsStarted()).toBe(before);
  });

  it('refuses cross-site writes by Sec-Fetch-Site, by a foreign or opaque Origin, on REST and /trpc, whatever the credentials', async () => {
    const guarded = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
    try {
      const forgeries: Array<Record<string, string>> = [{ 'sec-fetch-site': 'cross-site' }, { origin: 'http://evil.example' }, { origin: 'null' }, { origin: 'http://evil.example', ...internal }];
      for (const headers of forgeries) {
        const res = await server.api.post('/api/agents', { name: 'forged' }, { headers });
        expect(res.status, JSON.stringify(headers)).toBe(403);
        expect(res.body.error.code).toBe('CROSS_SITE_REQUEST');
      }
      const guardedForged = await guarded.api.post('/api/agents', { name: 'forged' }, { headers: { origin: 'http://evil.example', ...internal } });
      expect(guardedForged.status).toBe(403);
      const trpc = await fetch(`${server.url}/trpc/agents.create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
        body: JSON.stringify(superjson.serialize({ name: 'forged' })),
      });
      expect(trpc.status).toBe(403);
      expect((await server.api.get('/api/agents/forged')).status).toBe(404);
    } finally {
      await guarded.close();
    }
  });

  it('lets same-origin pages, loopback origins and non-browser clients write, and anyone read', async () => {
    const sameOrigin = await server.api.post('/api/agents', { name: 'same-origin' }, { headers: { origin: server.url, 'sec-fetch-site': 'same-origin' } });
    expect(sameOrigin.status).toBe(201);
    const devServer = await server.api.post('/api/agents', { name: 'dev-page' }, { headers: { origin: 'http://localhost:5173', 'sec-fetch-site': 'same-site' } });
    expect(devServer.status).toBe(201);
    const typed = await server.api.post('/api/agents', { name: 'typed' }, { headers: { 'sec-fetch-site': 'none' } });
    expect(typed.status).toBe(201);
    expect((await server.api.post('/api/agents', { name: 'curl' })).status).toBe(201);
    // A link to the API reference from another site is a read: it still opens.
    expect((await server.api.get('/api/docs', { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
  });
});

describe('every answer is the envelope', () => {
  it('answers an unusual method with 404 on an unknown path and 405 with Allow on a known one, logging no error', async () => {
    const unknown = await server.api.request('QUERY', '/api/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ROUTE_NOT_FOUND');
    const query = await server.api.request('QUERY', '/api/agents');
    expect(query.status).toBe(405);
    expect(query.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(query.body.error).toEqual({
      code: 'METHOD_NOT_ALLOWED',
      message: 'Method QUERY is not allowed on /api/agents: use GET, HEAD or POST',
      details: { method: 'QUERY', path: '/api/agents', allowed: ['GET', 'HEAD', 'POST'] },
    });
    for (const method of ['OPTIONS', 'TRACE', 'PROPFIND', 'PUT']) {
      const res = await rawRequest(server.url, { method, path: '/api/agents/default' });
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('DELETE, GET, HEAD, PATCH');
    }
    const withJunk = await server.api.request('QUERY', '/api/agents', { rawBody: '{', headers: { 'content-type': 'application/json' } });
    expect(withJunk.status).toBe(405);
    expect(log.errors()).toEqual([]);
  });

  it('refuses JSON nested deeper than 64 levels with 400 VALIDATION_ERROR in every body, and stores nothing', async () => {
    const cases: Array<[string, string, string]> = [
      ['/api/agents/default/memory', 'memory metadata', JSON.stringify({ content: 'deep', metadata: JSON.parse(nestedText(100)) })],
      ['/api/agents/default/chat', 'chat context', `{"message":"hi","context":${nestedText(10_000)}}`],
      ['/api/agents/default/skills/web_crawler/invoke', 'skill object args', `{"args":${nestedText(10_000)}}`],
      ['/api/agents/default/memory', 'memory metadata, 10,000 levels', `{"content":"deep","metadata":${nestedText(10_000)}}`],
    ];
    for (const [path, what, body] of cases) {
      const res = await server.api.request('POST', path, { rawBody: body, headers: { 'content-type': 'application/json' } });
      expect(res.status, what).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: 'Invalid request: JSON nested deeper than 64 levels', details: { max_depth: 64 } });
    }
    const memories = await server.api.get('/api/agents/default/memory?query=deep');
    expect(memories.body.data.memories).toEqual([]);
    // 64 levels are fine.
    const fits = await server.api.post('/api/agents/default/memory', { content: 'nested but fine', metadata: nested(62) });
    expect(fits.status).toBe(201);
  });

  it('refuses deep JSON in tRPC bodies and tRPC query inputs the same way', async () => {
    const body = await fetch(`${server.url}/trpc/memory.add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"json":${nestedText(10_000)}}` });
    expect(body.status).toBe(400);
    expect(((await body.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR');
    const deepInput = encodeURIComponent(`{"json":${nestedText(5_000)}}`);
    for (const search of [`input=${deepInput}`, `input=${deepInput}&input=%7B%7D`]) {
      const query = await fetch(`${server.url}/trpc/agents.get?${search}`);
      expect(query.status).toBe(400);
      expect(((await query.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR');
    }
  });

  it('refuses a signed webhook delivery nested too deep before recording it', async () => {
    const secret = 'deep-webhook-secret-4c1f';
    await server.api.post('/api/webhooks', { name: 'deep', agent: 'default', prompt_template: 'Got {{event}}', secret });
    const payload = `{"action":"opened","x":${nestedText(10_000)}}`;
    const res = await server.api.request('POST', '/api/webhooks/deep/trigger', {
      rawBody: payload,
      headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-hub-signature-256': signGitHub(secret, payload) },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    // Percent-encoded, 1,000 levels are as far as 64 KB go.
    const form = `payload=${encodeURIComponent(`{"x":${nestedText(1_000)}}`)}`;
    const fromForm = await server.api.request('POST', '/api/webhooks/deep/trigger', {
      rawBody: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'issues', 'x-hub-signature-256': signGitHub(secret, form) },
    });
    expect(fromForm.status).toBe(400);
    expect((await server.api.get('/api/webhooks/deep/deliveries')).body.data.deliveries).toEqual([]);
  });

  it('streams an answer to a 32,000-character message sent in the query string, percent-encoded', async () => {
    const message = '語'.repeat(32_000);
    const stream = await readSse(`${server.url}/api/agents/default/chat/stream?message=${encodeURIComponent(message)}`);
    expect(stream.status).toBe(200);
    expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({ done: true, status: 'completed' });
  });

  it('answers a request line or headers over the limit with 431 HEADERS_TOO_LARGE in the envelope', async () => {
    const tooLong = await server.api.get(`/api/agents/default/chat/stream?message=${'x'.repeat(400 * 1024)}`);
    expect(tooLong.status).toBe(431);
    expect(tooLong.body.error).toEqual({
      code: 'HEADERS_TOO_LARGE',
      message: 'The request line and headers are larger than 327680 bytes',
      details: { limit: 327680 },
    });
    const cookie = await server.api.get('/api/agents', { headers: { cookie: 'c'.repeat(400 * 1024) } });
    expect(cookie.status).toBe(431);
  });

  it("answers malformed HTTP with the envelope, not fastify's own 400 body", async () => {
    const socket = await halfSend(server.url, 'GET /api/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nthis is not a header\r\n\r\n');
    await socket.closed;
    expect(socket.received()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(bodyOf(socket.received())).toEqual({ success: false, error: { code: 'VALIDATION_ERROR', message: 'The request is not valid HTTP/1.1', details: { issues: [] } } });
  });
});

describe('timeouts', () => {
  let quick: TestServer;
  beforeAll(async () => {
    quick = await startTestServer({ http: { headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 500 } });
  });
  afterAll(() => quick.close());

  it('closes connections that send headers too slowly, with 408 REQUEST_TIMEOUT', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, () => halfSend(quick.url, 'GET /api/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')));
    const started = Date.now();
    await Promise.all(sockets.map((socket) => socket.closed));
    expect(Date.now() - started).toBeLessThan(2500);
    expect(bodyOf(sockets[0]!.received()).error.code).toBe('REQUEST_TIMEOUT');
  });

  it('ends a request whose body never completes after requestTimeoutMs, with 408 REQUEST_TIMEOUT', async () => {
    const socket = await halfSend(quick.url, 'POST /api/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na');
    const started = Date.now();
    await socket.closed;
    expect(Date.now() - started).toBeLessThan(2500);
    expect(socket.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(socket.received())).toMatchObject({ success: false, error: { code: 'REQUEST_TIMEOUT' } });
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutMs', async () => {
    const socket = await halfSend(quick.url, 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const started = Date.now();
    await socket.closed;
    expect(socket.received()).toMatch(/^HTTP\/1\.1 200 /);
    // Node gives an idle connection up to a second past keepAliveTimeout (5 s by default: it closed after 6).
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('failed credentials are throttled per client address', () => {
  let clock = 1_700_000_000_000;
  let guarded: TestServer;
  let token: string;
  beforeAll(async () => {
    guarded = await startTestServer(
      {
        rateLimits: { enabled: true, read: 1000, write: 1000, chat: 1000 },
        http: { authFailureLimit: 10, authFailureWindowMs: 60_000 },
        channels: { http: { authToken: 'channel-token-of-the-transport-suite', allowedTools: [] } },
      },
      { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN },
      { now: () => clock },
    );
    token = (await guarded.api.post('/api/tokens', { name: 'reader', scopes: ['agents:read', 'events:read'] }, { headers: internal })).body.data.token;
  });
  afterAll(() => guarded.close());

  it('answers 429 RATE_LIMITED with Retry-After after 10 failures in a minute, from that address only, until the window passes', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await guarded.api.get('/api/agents', { headers: bearer(`mox_guess${i}`) })).status).toBe(401);
    }
    const throttled = await guarded.api.get('/api/agents', { headers: bearer(token) });
    expect(throttled.status).toBe(429);
    expect(throttled.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { retry_after: 60 } });
    expect(throttled.headers.get('retry-after')).toBe('60');
    expect((await guarded.api.get('/api/agents', { headers: internal })).status).toBe(429);
    // Another client with the right token, and this one without credentials, are unaffected.
    expect((await rawRequest(guarded.url, { path: '/api/agents', headers: bearer(token), localAddress: '127.0.0.2' })).status).toBe(200);
    expect((await guarded.api.get('/api/agents')).status).toBe(401);
    clock += 30_000;
    expect((await guarded.api.get('/api/agents', { headers: bearer(token) })).headers.get('retry-after')).toBe('30');
    clock += 30_000;
    expect((await guarded.api.get('/api/agents', { headers: bearer(token) })).status).toBe(200);
  });

  it('counts and refuses failures on /trpc, the SSE streams and the channel routes alike', async () => {
    clock += 120_000;
    const from = '127.0.0.3';
    for (let i = 0; i < 4; i++) {
      expect((await rawRequest(guarded.url, { path: '/v1/events/stream', headers: bearer(`mox_guess${i}`), localAddress: from })).status).toBe(401);
    }
    for (let i = 0; i < 3; i++) {
      const input = encodeURIComponent(JSON.stringify(superjson.serialize({})));
      const trpc = await rawRequest(guarded.url, { path: `/trpc/agents.list?input=${input}`, headers: bearer(`mox_guess${i}`), localAddress: from });
      expect(trpc.status).toBe(401);
    }
    for (let i = 0; i < 3; i++) {
      const turn = await rawRequest(guarded.url, {
        method: 'POST', path: '/v1/turn', headers: { ...bearer(`wrong-channel-token-${i}`), 'content-type': 'application/json' }, body: '{"prompt":"hi"}', localAddress: from,
      });
      expect(turn.status).toBe(401);
    }
    expect((await rawRequest(guarded.url, { path: '/v1/events/stream', headers: bearer(token), localAddress: from })).status).toBe(429);
    expect((await rawRequest(guarded.url, { path: `/trpc/agents.list`, headers: bearer(token), localAddress: from })).status).toBe(429);
    const turn = await rawRequest(guarded.url, {
      method: 'POST', path: '/v1/turn', headers: { ...bearer('channel-token-of-the-transport-suite'), 'content-type': 'application/json' }, body: '{"prompt":"hi"}', localAddress: from,
    });
    expect(turn.status).toBe(429);
  });

  it('refuses to bind a non-loopback address with an internal token shorter than 32 characters', async () => {
    const result = await runCli(['serve'], { HOST: '0.0.0.0', PORT: '0', MOXXY_HOME: '/nonexistent/moxxy-home', MOXXY_INTERNAL_TOKEN: 'a' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Refusing to listen on 0.0.0.0 with an internal token of 1 characters: MOXXY_INTERNAL_TOKEN (auth.internalToken) must have at least 32 (e.g. openssl rand -hex 32)',
    );
  });
});

describe('streams end with the API token that opened them', () => {
  let guarded: TestServer;
  beforeAll(async () => {
    guarded = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
  });
  afterAll(() => guarded.close());

  const createToken = async (extra: Record<string, unknown> = {}) =>
    (await guarded.api.post('/api/tokens', { name: 'streamer', scopes: ['events:read'], ...extra }, { headers: internal })).body.data as { id: string; token: string };

  /** Opens a stream with the token and resolves, once it ends (closed or cut), with how long after `since` that was. */
  async function endOf(url: string, token: string, since: () => number): Promise<number> {
    const response = await fetch(url, { headers: bearer(token) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    try {
      while (!(await reader.read()).done);
    } catch {
      // A tRPC subscription ends with its connection.
    }
    return Date.now() - since();
  }

  it('ends /v1/events/stream and a tRPC subscription within a second and a half of DELETE /api/tokens/{id}', async () => {
    const { id, token } = await createToken();
    let revokedAt = Infinity;
    const input = encodeURIComponent(JSON.stringify(superjson.serialize({})));
    const ended = Promise.all([endOf(`${guarded.url}/v1/events/stream`, token, () => revokedAt), endOf(`${guarded.url}/trpc/events.subscribe?input=${input}`, token, () => revokedAt)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    revokedAt = Date.now();
    expect((await guarded.api.delete(`/api/tokens/${id}`, { headers: internal })).status).toBe(200);
    for (const after of await ended) expect(after).toBeLessThan(1500);
  });

  it('ends a stream within a second and a half of its token expiring', async () => {
    const { token } = await createToken({ expires_in: 1 });
    const opened = Date.now();
    const after = await endOf(`${guarded.url}/v1/events/stream`, token, () => opened + 1000);
    expect(after).toBeLessThan(1500);
  });
});

describe('shutdown', () => {
  it('exits within seconds of SIGTERM with a half-sent request, open streams and a skill running', async () => {
    const home = makeTempHome();
    writeFileSync(join(home, 'moxxy.config.json'), JSON.stringify({ http: { shutdownGraceMs: 1000 } }));
    const server = await spawnServer({ MOXXY_HOME: home }, home);
    try {
      const api = createApi(server.url);
      expect((await api.post('/api/agents', { name: 'sleeper', allowed_tools: ['slow'] })).status).toBe(201);
      expect((await api.post('/api/agents/sleeper/skills', { name: 'slow', language: 'bash', code: 'sleep 30', description: 'Sleeps' })).status).toBe(201);
      // A turn whose skill sleeps, streamed: open until the skill is under way.
      const turn = await fetch(`${server.url}/api/agents/sleeper/chat/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: '<invoke name="slow">[]</invoke>' }),
      });
      const turnReader = turn.body!.getReader();
      for (let text = ''; !text.includes('tool_call'); ) text += new TextDecoder().decode((await turnReader.read()).value);
      const events = await fetch(`${server.url}/v1/events/stream`);
      expect(events.status).toBe(200);
      const halfSent = await halfSend(server.url, 'POST /api/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na');

      const started = Date.now();
      const code = await server.stop();
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      await halfSent.closed;
      const drained = await turnReader.read().then(async function rest(chunk): Promise<boolean> {
        return chunk.done || rest(await turnReader.read());
      }).catch(() => true);
      expect(drained).toBe(true);
    } finally {
      server.child.kill('SIGKILL');
      rmSync(home, { recursive: true, force: true });
    }
  });
});
