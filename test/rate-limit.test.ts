import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FixedWindowLimiter } from '../src/http/rate-limit.ts';
import { startTestServer, type ApiResponse, type TestServer } from './helpers/server.ts';

/** The limiter reads this clock, so each test starts a fresh window and nothing depends on real timing. */
let clock = 1_700_000_000_000;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ rateLimits: { enabled: true } }, {}, { now: () => clock });
});
afterAll(() => server.close());
beforeEach(() => {
  clock += 1000;
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function times(n: number, send: () => Promise<ApiResponse>): Promise<ApiResponse[]> {
  const responses: ApiResponse[] = [];
  for (let i = 0; i < n; i++) responses.push(await send());
  return responses;
}

function expectLimited(res: ApiResponse, limit: number) {
  expect(res.status).toBe(429);
  expect(res.body.error.code).toBe('RATE_LIMITED');
  expect(res.headers.get('retry-after')).toBe('1');
  expect(res.headers.get('x-ratelimit-limit')).toBe(String(limit));
  expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
}

describe('rate limits (seed 000: chat 10/s, read 100/s, write 50/s per caller)', () => {
  it('lets exactly 100 reads through in a window, counting down, then answers 429 with Retry-After', async () => {
    const passed = await times(100, () => server.api.get('/api/agents'));
    expect(passed.map((res) => res.status)).toEqual(Array(100).fill(200));
    expect(passed.map((res) => Number(res.headers.get('x-ratelimit-remaining')))).toEqual([...Array(100).keys()].reverse());
    expect(passed[0]!.headers.get('x-ratelimit-limit')).toBe('100');
    // The UTC epoch second the window ends at: the clock's next whole second.
    expect(passed[0]!.headers.get('x-ratelimit-reset')).toBe(String(Math.floor(clock / 1000) + 1));
    expectLimited(await server.api.get('/api/agents'), 100);
  });

  it('limits chat to 10 and writes to 50 a second, each class on its own budget', async () => {
    const chat = () => server.api.get('/api/agents/nobody/chat/stream?message=hi');
    expect((await times(10, chat)).map((res) => res.status)).toEqual(Array(10).fill(404));
    expectLimited(await chat(), 10);
    const write = () => server.api.delete('/api/agents/nobody');
    expect((await times(50, write)).map((res) => res.status)).toEqual(Array(50).fill(404));
    expectLimited(await write(), 50);
    expect((await server.api.get('/api/agents')).status).toBe(200);
  });

  it('gives each caller its own bucket: API token, else client IP', async () => {
    const a = (await server.api.post('/api/tokens', { name: 'a', scopes: ['chat'] })).body.data.token;
    const b = (await server.api.post('/api/tokens', { name: 'b', scopes: ['chat'] })).body.data.token;
    clock += 1000;
    const chat = (options = {}) => server.api.get('/api/agents/nobody/chat/stream?message=hi', options);
    await times(10, () => chat(bearer(a)));
    expectLimited(await chat(bearer(a)), 10);
    expect((await chat(bearer(b))).status).toBe(404);
    expect((await chat()).status).toBe(404);
  });

  it('starts afresh in the next window', async () => {
    const write = () => server.api.delete('/api/agents/nobody');
    await times(50, write);
    expectLimited(await write(), 50);
    clock += 999;
    expectLimited(await write(), 50);
    clock += 1;
    const res = await write();
    expect(res.status).toBe(404);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('49');
  });

  it('exempts health and openapi.json', async () => {
    for (const res of await times(120, () => server.api.get('/api/health'))) {
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
    expect((await server.api.get('/api/openapi.json')).headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('limits /trpc the same way, each call of a batch counting once, on the budget REST uses too', async () => {
    // 60 REST reads, then 40 tRPC reads (20 batches of two) use up the caller's 100.
    await times(60, () => server.api.get('/api/agents'));
    const batches = await Promise.all(
      Array.from({ length: 20 }, () => Promise.all([server.trpc.agents.get.query({ name: 'default' }), server.trpc.agents.list.query({})])),
    );
    expect(batches.flat().filter((result) => 'name' in result || 'agents' in result)).toHaveLength(40);
    const refused = await server.trpc.agents.get.query({ name: 'default' }).catch((error: any) => error);
    expect(refused.data).toMatchObject({ code: 'RATE_LIMITED', httpStatus: 429 });
    // A raw tRPC request gets 429 and Retry-After, like REST.
    const raw = await fetch(`${server.url}/trpc/agents.get?input=${encodeURIComponent(JSON.stringify({ json: { name: 'default' } }))}`);
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect(raw.headers.get('x-ratelimit-remaining')).toBe('0');
    expectLimited(await server.api.get('/api/agents'), 100);
    // Writes have their own budget.
    clock += 1000;
    const writes = await Promise.all(Array.from({ length: 51 }, () => server.trpc.agents.delete.mutate({ name: 'nobody' }).catch((error: any) => error.data.code)));
    expect(writes.filter((code) => code === 'AGENT_NOT_FOUND')).toHaveLength(50);
    expect(writes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(1);
  });

  it('sends the headers on an SSE stream before it opens', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/events/stream`, { signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-limit')).toBe('100');
    expect(response.headers.get('x-ratelimit-remaining')).toBe('99');
    controller.abort();
  });
});

describe('rate limit configuration', () => {
  it('takes per-class limits from rateLimits, and sends no headers when disabled', async () => {
    const custom = await startTestServer({ rateLimits: { read: 3 } }, {}, { now: () => clock });
    const disabled = await startTestServer();
    try {
      expect((await times(3, () => custom.api.get('/api/agents'))).map((res) => res.status)).toEqual([200, 200, 200]);
      expectLimited(await custom.api.get('/api/agents'), 3);
      const open = await times(120, () => disabled.api.get('/api/agents'));
      expect(open.every((res) => res.status === 200 && res.headers.get('x-ratelimit-limit') === null)).toBe(true);
    } finally {
      await custom.close();
      await disabled.close();
    }
  });

  it('aligns windows to the clock and reports the time left and the time of the reset', () => {
    let now = 10_250;
    const limiter = new FixedWindowLimiter(() => now);
    expect(limiter.take('k', 1)).toEqual({ allowed: true, limit: 1, remaining: 0, resetMs: 750, resetAt: 11_000 });
    expect(limiter.take('k', 1)).toMatchObject({ allowed: false, resetMs: 750 });
    now = 11_000;
    expect(limiter.take('k', 1)).toMatchObject({ allowed: true, resetMs: 1000 });
  });
});
