import { PassThrough } from 'node:stream';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggableUrl } from '../src/http/auth.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const INTERNAL_TOKEN = 'internal-token-for-the-console-session-tests';
const internal = { 'x-moxxy-internal-token': INTERNAL_TOKEN };
const sameOrigin = { 'sec-fetch-site': 'same-origin' };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ auth: { internalToken: INTERNAL_TOKEN } });
});
afterAll(() => server.close());

/** The `name=value` part of a Set-Cookie header, and its attributes. */
function parseSetCookie(header: string | null) {
  const [pair = '', ...attributes] = (header ?? '').split(';').map((part) => part.trim());
  return { pair, value: pair.slice(pair.indexOf('=') + 1), attributes };
}

async function login(headers: Record<string, string>) {
  const res = await server.api.post('/api/session', undefined, { headers });
  return { res, cookie: parseSetCookie(res.headers.get('set-cookie')) };
}

async function mintToken(scopes: string[]) {
  return (await server.api.post('/api/tokens', { name: 'session-test', scopes }, { headers: internal })).body.data as { id: string; token: string };
}

/** Opens a stream and reads only its status and content type. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('event-stream') ? undefined : ((await response.json()) as { error: { code: string } });
  controller.abort();
  return { status: response.status, type, body };
}

describe('the console session (POST|GET|DELETE /api/session)', () => {
  it('tells whether the server needs a login, and what the caller may do', async () => {
    const open = await startTestServer();
    try {
      expect((await open.api.get('/api/session')).body.data).toEqual({ auth_required: false, caller: 'anonymous', scopes: ['admin'], token_id: null });
    } finally {
      await open.close();
    }
    expect((await server.api.get('/api/session')).body.data).toEqual({ auth_required: true, caller: 'anonymous', scopes: [], token_id: null });
    expect((await server.api.get('/api/session', { headers: internal })).body.data).toMatchObject({ caller: 'internal', scopes: ['admin'] });
  });

  it('logs in with the internal token into a minted API token in an HttpOnly, SameSite=Strict cookie', async () => {
    const { res, cookie } = await login(internal);
    expect(res.status).toBe(201);
    expect(cookie.pair).toMatch(/^moxxy_session=s\.mox_[A-Za-z0-9_-]{43}$/);
    expect(cookie.value).not.toContain(INTERNAL_TOKEN);
    expect(cookie.attributes).toEqual(['Path=/', 'Max-Age=86400', 'HttpOnly', 'SameSite=Strict']);
    expect(res.body.data).toMatchObject({ auth_required: true, caller: 'token', scopes: ['admin'] });

    const tokens = (await server.api.get('/api/tokens', { headers: internal })).body.data.tokens as Array<{ id: string; name: string; expires_at: string }>;
    const minted = tokens.find((token) => token.id === res.body.data.token_id)!;
    expect(minted.name).toBe('console session');
    expect(Date.parse(minted.expires_at) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
  });

  it('accepts the cookie only on requests the browser says are same-origin', async () => {
    const { cookie } = await login(internal);
    const withCookie = (extra: Record<string, string>) => server.api.get('/api/agents', { headers: { cookie: cookie.pair, ...extra } });
    expect((await withCookie(sameOrigin)).status).toBe(200);
    // SameSite=Strict still sends it from another port of the same host: that page is same-site, not same-origin.
    expect((await withCookie({ 'sec-fetch-site': 'same-site' })).status).toBe(401);
    expect((await withCookie({ 'sec-fetch-site': 'cross-site' })).status).toBe(401);
    expect((await withCookie({})).status).toBe(401);
    expect((await server.api.get('/api/session', { headers: { cookie: cookie.pair, ...sameOrigin } })).body.data.caller).toBe('token');
  });

  it('opens event streams and tRPC subscriptions with the cookie', async () => {
    const { cookie } = await login(internal);
    const headers = { cookie: cookie.pair, ...sameOrigin };
    expect(await openStream(`${server.url}/v1/events/stream`, headers)).toMatchObject({ status: 200, type: expect.stringContaining('text/event-stream') });
    const input = encodeURIComponent(JSON.stringify(superjson.serialize({ agent_id: 'default' })));
    expect((await openStream(`${server.url}/trpc/events.subscribe?input=${input}`, headers)).status).toBe(200);
    expect((await openStream(`${server.url}/v1/events/stream`, { cookie: cookie.pair })).status).toBe(401);
  });

  it('logs out: clears the cookie and revokes the token minted at login', async () => {
    const { res, cookie } = await login(internal);
    const headers = { cookie: cookie.pair, ...sameOrigin };
    const out = await server.api.delete('/api/session', { headers });
    expect(out.status).toBe(200);
    expect(out.body.data).toMatchObject({ caller: 'anonymous', auth_required: true });
    expect(parseSetCookie(out.headers.get('set-cookie'))).toMatchObject({ pair: 'moxxy_session=', attributes: expect.arrayContaining(['Max-Age=0', 'HttpOnly']) });
    expect((await server.api.get('/api/agents', { headers })).status).toBe(401);
    const tokens = (await server.api.get('/api/tokens', { headers: internal })).body.data.tokens as Array<{ id: string; revoked_at: string | null }>;
    expect(tokens.find((token) => token.id === res.body.data.token_id)?.revoked_at).not.toBeNull();
  });

  it('logs in with an API token by keeping that token, with its scopes; logout only forgets it', async () => {
    const token = await mintToken(['agents:read']);
    const { res, cookie } = await login({ authorization: `Bearer ${token.token}` });
    expect(res.status).toBe(201);
    expect(cookie.pair).toBe(`moxxy_session=t.${token.token}`);
    expect(res.body.data).toMatchObject({ caller: 'token', scopes: ['agents:read'], token_id: token.id });
    const headers = { cookie: cookie.pair, ...sameOrigin };
    expect((await server.api.get('/api/agents', { headers })).status).toBe(200);
    expect((await server.api.get('/api/tokens', { headers })).status).toBe(403);
    await server.api.delete('/api/session', { headers });
    expect((await server.api.get('/api/agents', { headers: { authorization: `Bearer ${token.token}` } })).status).toBe(200);
  });

  it('refuses a login without credentials or with wrong ones (401), and one from another site (403)', async () => {
    const none = await login({});
    expect(none.res.status).toBe(401);
    expect(none.res.headers.get('set-cookie')).toBeNull();
    expect((await login({ 'x-moxxy-internal-token': 'wrong' })).res.body.error.code).toBe('UNAUTHORIZED');
    expect((await login({ authorization: 'Bearer mox_unknown' })).res.status).toBe(401);
    const crossSite = await login({ ...internal, origin: 'https://evil.example' });
    expect(crossSite.res.status).toBe(403);
    expect(crossSite.res.body.error.code).toBe('CROSS_SITE_REQUEST');
  });

  it('counts wrong logins towards the failed-credential throttle', async () => {
    const throttled = await startTestServer({ auth: { internalToken: INTERNAL_TOKEN }, rateLimits: { enabled: true }, http: { authFailureLimit: 2 } });
    try {
      const attempt = () => throttled.api.post('/api/session', undefined, { headers: { 'x-moxxy-internal-token': 'guess' } });
      expect((await attempt()).status).toBe(401);
      expect((await attempt()).status).toBe(401);
      const third = await attempt();
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).not.toBeNull();
    } finally {
      await throttled.close();
    }
  });
});

describe('?access_token= on event streams (browser EventSource clients)', () => {
  it('opens the event stream, a run stream and a tRPC subscription with an API token in the query', async () => {
    const token = await mintToken(['events:read']);
    expect(await openStream(`${server.url}/v1/events/stream?access_token=${token.token}`)).toMatchObject({ status: 200, type: expect.stringContaining('text/event-stream') });
    const input = encodeURIComponent(JSON.stringify(superjson.serialize({ agent_id: 'default' })));
    expect((await openStream(`${server.url}/trpc/events.subscribe?input=${input}&access_token=${token.token}`)).status).toBe(200);
    const run = await server.api.post('/api/agents/default/chat', { message: 'hi' }, { headers: internal });
    expect((await openStream(`${server.url}/api/runs/${run.body.data.run_id}/events?access_token=${token.token}`)).status).toBe(200);
  });

  it('still checks the scope, and refuses revoked tokens and the internal token', async () => {
    const chatOnly = await mintToken(['chat']);
    expect((await openStream(`${server.url}/v1/events/stream?access_token=${chatOnly.token}`)).status).toBe(403);
    expect((await openStream(`${server.url}/v1/events/stream?access_token=${INTERNAL_TOKEN}`)).status).toBe(401);
    const revoked = await mintToken(['events:read']);
    await server.api.delete(`/api/tokens/${revoked.id}`, { headers: internal });
    const refused = await openStream(`${server.url}/v1/events/stream?access_token=${revoked.token}`);
    expect(refused.status).toBe(401);
    expect(refused.body?.error.code).toBe('UNAUTHORIZED');
  });

  it('is ignored on routes that are not event streams', async () => {
    const token = await mintToken(['*']);
    expect((await server.api.get(`/api/agents?access_token=${token.token}`)).status).toBe(401);
  });

  it('never reaches the log: request lines are logged without their query, error lines with the token replaced', async () => {
    const lines: string[] = [];
    const log = new PassThrough();
    log.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const logged = await startTestServer({ auth: { internalToken: INTERNAL_TOKEN }, logLevel: 'debug' }, {}, { logStream: log });
    try {
      // A refused stream is logged like any answer (an open one is not: its reply is taken over).
      const token = (await logged.api.post('/api/tokens', { name: 'log', scopes: ['chat'] }, { headers: internal })).body.data.token as string;
      expect((await openStream(`${logged.url}/v1/events/stream?agent_id=default&access_token=${token}`)).status).toBe(403);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await logged.close();
    }
    expect(lines.join('')).toContain('"path":"/v1/events/stream","status":403');
    expect(lines.join('')).not.toContain('access_token');
    expect(loggableUrl('/v1/events/stream?agent_id=a&access_token=mox_secret&run_id=b')).toBe('/v1/events/stream?agent_id=a&access_token=[REDACTED]&run_id=b');
  });
});
