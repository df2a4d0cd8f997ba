import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQueryCoercer } from '../src/http/query-coercion.ts';
import { z } from 'zod';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('query parameters', () => {
  it('reads an empty list as OpenAPI writes one (`?event_type=`), and refuses an empty cursor as the document says', async () => {
    expect((await server.api.post('/api/agents/default/chat', { message: 'something to audit' })).status).toBe(200);
    const all = await server.api.get('/api/audit?event_type=&limit=5');
    expect(all.status).toBe(200);
    expect(all.body.data.events.length).toBeGreaterThan(0);
    const stream = await fetch(`${server.url}/v1/events/stream?event_type=`, { signal: AbortSignal.timeout(2000) });
    expect(stream.status).toBe(200);
    await stream.body?.cancel();
    const emptyCursor = await server.api.get('/api/audit?cursor=');
    expect(emptyCursor.status).toBe(400);
    expect(emptyCursor.body.error.details.issues[0].path).toBe('cursor');
  });
});

describe('the error envelope', () => {
  it('answers an unknown route with 404 ROUTE_NOT_FOUND', async () => {
    const res = await server.api.get('/api/nothing-here?x=1');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      success: false,
      error: { code: 'ROUTE_NOT_FOUND', message: 'Route GET /api/nothing-here not found', details: { method: 'GET', path: '/api/nothing-here' } },
    });
  });

  it('answers an over-long path segment and a malformed URL with the envelope, not the router\'s own shape', async () => {
    const long = await server.api.get(`/api/agents/${'a'.repeat(5000)}`);
    expect(long.status).toBe(400);
    expect(long.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: 'A path segment is longer than 4096 characters' });
    const malformed = await server.api.get('/api/agents/%E0%A4%A');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_ERROR');
    // A long name within the limit reaches the schema, which says what is wrong with it.
    const tooLongName = await server.api.get(`/api/agents/${'a'.repeat(300)}`);
    expect(tooLongName.status).toBe(400);
    expect(tooLongName.body.error.details.issues[0].path).toBe('name');
  });

  it('answers a wrong method on a known path with 405 METHOD_NOT_ALLOWED and the methods it has in Allow', async () => {
    const res = await server.api.request('PUT', '/api/agents/default', { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
    expect(res.body.error).toMatchObject({ code: 'METHOD_NOT_ALLOWED', details: { method: 'PUT', path: '/api/agents/default', allowed: ['DELETE', 'GET', 'HEAD', 'PATCH'] } });
  });

  it('answers malformed JSON with 400 INVALID_JSON and creates nothing', async () => {
    const res = await server.api.request('POST', '/api/agents', {
      rawBody: '{"name": "half',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_JSON');
    expect(res.body.error.message).toMatch(/^Request body is not valid JSON/);
    expect((await server.api.get('/api/agents/half')).status).toBe(404);
  });

  it('answers a non-JSON content type with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await server.api.request('POST', '/api/agents', { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const plain = await server.api.request('POST', '/api/agents', { rawBody: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(plain.status).toBe(415);
  });

  it('answers a body over 64 KB with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await server.api.post('/api/agents', { name: 'big', description: 'x'.repeat(70 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limit: 65536 } });
    expect((await server.api.get('/api/agents/big')).status).toBe(404);
  });

  it('answers a JSON body that is not an object with VALIDATION_ERROR', async () => {
    const res = await server.api.post('/api/agents', ['not', 'an', 'object']);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('lists every validation issue with its path', async () => {
    const res = await server.api.post('/api/agents', { name: 'ok-name', max_steps: 0, model: { provider: 'nope', name: '' } });
    expect(res.status).toBe(400);
    const paths = res.body.error.details.issues.map((issue: { path: string }) => issue.path).sort();
    expect(paths).toEqual(['max_steps', 'model.name', 'model.provider']);
  });

  it('hides internals in a 500 INTERNAL_ERROR, and logs the failure with its request id', async () => {
    const log = captureLog();
    const broken = await startTestServer({ logLevel: 'info' }, {}, { logStream: log.stream });
    try {
      broken.services.database.client.close();
      const res = await broken.api.get('/api/agents');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ success: false, error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } });
      const health = await broken.api.get('/api/health');
      expect(health.body.data).toMatchObject({ status: 'degraded', database: { status: 'error', latency_ms: null } });
      const failure = log.entries().find((entry) => entry.msg === 'request failed');
      expect(failure).toMatchObject({ level: 50, url: '/api/agents', reqId: expect.any(String), err: { message: expect.any(String) } });
      // At the default level (info) requests themselves are not logged.
      expect(log.entries().filter((entry) => entry.msg === 'request completed')).toEqual([]);
    } finally {
      await broken.app.close();
    }
  });

  it('logs every request when it completes at debug level, without its query string', async () => {
    const log = captureLog();
    const verbose = await startTestServer({ logLevel: 'debug' }, {}, { logStream: log.stream });
    try {
      await verbose.api.get('/api/agents?limit=1');
      await verbose.api.get('/api/agents/nobody');
      const completed = log.entries().filter((entry) => entry.msg === 'request completed');
      expect(completed.map(({ method, path, status }) => ({ method, path, status }))).toEqual([
        { method: 'GET', path: '/api/agents', status: 200 },
        { method: 'GET', path: '/api/agents/nobody', status: 404 },
      ]);
      expect(completed.every((entry) => typeof entry.ms === 'number' && typeof entry.reqId === 'string')).toBe(true);
    } finally {
      await verbose.close();
    }
  });
});

/** A log stream to hand the server, read back as pino's JSON lines. */
function captureLog() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return {
    stream,
    entries: (): Array<Record<string, any>> =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
  };
}

describe('query strings', () => {
  const schema = z.object({
    flag: z.boolean().optional(),
    count: z.number().int().default(5),
    ids: z.array(z.string()).optional(),
    since: z.date().optional(),
    name: z.string().optional(),
  });
  const coerce = buildQueryCoercer(schema);

  it('reads ?flag=false as false and numbers as numbers without changing the schema', () => {
    expect(schema.parse(coerce({ flag: 'false', count: '12', name: '007' }))).toEqual({ flag: false, count: 12, name: '007' });
    expect(schema.parse(coerce({ flag: 'true' })).flag).toBe(true);
    expect(schema.safeParse({ flag: 'false' }).success).toBe(false);
    expect(schema.safeParse({ count: '12' }).success).toBe(false);
  });

  it('reads comma lists and repeated keys as arrays, and ISO strings as dates', () => {
    expect(coerce({ ids: 'a,b' }).ids).toEqual(['a', 'b']);
    expect(coerce({ ids: ['a', 'b', 'c'] }).ids).toEqual(['a', 'b', 'c']);
    expect(coerce({ since: '2025-01-15T10:00:00.000Z' }).since).toEqual(new Date('2025-01-15T10:00:00.000Z'));
  });

  it('leaves values it cannot read for the schema to reject', () => {
    expect(coerce({ count: '12abc', flag: 'maybe', since: 'yesterday' })).toEqual({ count: '12abc', flag: 'maybe', since: 'yesterday' });
  });
});
