/**
 * The TypeScript client package (clients/typescript) against a live server: the REST client (every JSON response
 * it receives is also checked against openapi.json through its `fetch` option), its SSE streams, auth, and the
 * tRPC client factory.
 */
import { createServer, type AddressInfo } from 'node:net';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createMoxxyClient, isMoxxyApiError, MoxxyApiError, type MoxxyClientOptions, type Schema } from '../clients/typescript/src/index.ts';
import { createMoxxyTrpcClient } from '../clients/typescript/src/trpc.ts';
import { assertMatchesOpenApi } from './helpers/openapi.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/** A fetch that holds every JSON answer to openapi.json, as server.api does. */
const checkedFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const response = await fetch(request);
  const contentType = response.headers.get('content-type');
  if (contentType?.includes('json')) {
    const text = await response.clone().text();
    assertMatchesOpenApi(request.method, request.url, response.status, contentType, text ? JSON.parse(text) : text);
  }
  return response;
};

/** What the client answers or throws, as a value to assert on. */
async function outcome<T>(promise: Promise<T>): Promise<{ ok: T } | { code: string; status: number; details: unknown }> {
  try {
    return { ok: await promise };
  } catch (error) {
    if (!(error instanceof MoxxyApiError)) throw error;
    return { code: error.code, status: error.status, details: error.details };
  }
}

async function collect<T>(iterable: AsyncIterable<T>, until: (item: T) => boolean = () => false): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) {
    items.push(item);
    if (until(item)) break;
  }
  return items;
}

describe('REST client against a live open server', () => {
  let server: TestServer;
  let client: ReturnType<typeof createMoxxyClient>;
  beforeAll(async () => {
    server = await startTestServer();
    client = createMoxxyClient({ baseUrl: server.url, fetch: checkedFetch, retry: 0 });
  });
  afterAll(() => server.close());

  it('creates, reads, lists, updates and deletes an agent, with the envelope unwrapped', async () => {
    const created = await client.agents.create({ name: 'ts-client', description: 'From the TS client', system_prompt: 'Be brief.' });
    expectTypeOf(created).toEqualTypeOf<Schema<'Agent'>>();
    expect(created).toMatchObject({ name: 'ts-client', description: 'From the TS client', system_prompt: 'Be brief.', model: { provider: 'echo' } });
    expect(created.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);

    expect(await client.agents.get({ name: 'ts-client' })).toEqual(created);

    const page = await client.agents.list({ limit: 1, offset: 0 });
    expect(page.agents).toHaveLength(1);
    expect(page.pagination).toMatchObject({ limit: 1, offset: 0, total: 2, next_offset: 1 });

    const updated = await client.agents.update({ name: 'ts-client', description: 'Changed', model: { provider: 'echo', name: 'echo', parameters: { temperature: 0.2 } } });
    expect(updated).toMatchObject({ name: 'ts-client', description: 'Changed', system_prompt: 'Be brief.' });
    expect(updated.model.parameters?.temperature).toBe(0.2);

    expect(await client.agents.delete({ name: 'ts-client' })).toEqual({ name: 'ts-client', status: 'deleted' });
    expect(await outcome(client.agents.get({ name: 'ts-client' }))).toEqual({ code: 'AGENT_NOT_FOUND', status: 404, details: { name: 'ts-client' } });
  });

  it('throws MoxxyApiError with the code, status, message and details of the error envelope', async () => {
    const error = await client.agents.get({ name: 'nobody' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MoxxyApiError);
    expect(isMoxxyApiError(error, 'AGENT_NOT_FOUND')).toBe(true);
    expect(error).toMatchObject({ name: 'MoxxyApiError', code: 'AGENT_NOT_FOUND', status: 404, message: "Agent 'nobody' not found", operationId: 'agents.get' });

    const exists = await outcome(client.agents.create({ name: 'default' }));
    expect(exists).toMatchObject({ code: 'AGENT_EXISTS', status: 409 });

    const invalid = await outcome(client.agents.create({ name: 'Not A Slug' }));
    expect(invalid).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
    expect((invalid as { details: { issues: Array<{ path: string }> } }).details.issues.map((issue) => issue.path)).toContain('name');

    const badQuery = await outcome(client.agents.list({ limit: 1000 }));
    expect(badQuery).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
  });

  it('encodes path parameters and sends query arrays comma-separated', async () => {
    await client.vault.set({ name: 'default', key: 'api.key-1', value: 'v1' });
    expect(await client.vault.get({ name: 'default', key: 'api.key-1' })).toMatchObject({ key: 'api.key-1', value: 'v1' });
    // Encoded, the slash stays part of the name instead of walking to another path.
    const missing = await outcome(client.agents.get({ name: 'a/../default' }));
    expect(missing).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
  });

  it('runs a chat turn and reads the run and the history', async () => {
    const reply = await client.chat.send({ name: 'default', message: 'Hello from TypeScript', session_id: 'ts-session', user_id: 'ts-user' });
    expect(reply).toMatchObject({ content: 'Hello from TypeScript', session_id: 'ts-session', agent_id: 'default' });
    expect(reply.run_id).toMatch(/^run_/);

    const run = await client.runs.get({ id: reply.run_id });
    expect(run).toMatchObject({ id: reply.run_id, status: 'completed', agent_id: 'default' });

    const history = await client.chat.history({ name: 'default', session_id: 'ts-session' });
    expect(history.messages.map((message) => [message.role, message.content])).toEqual([
      ['user', 'Hello from TypeScript'],
      ['assistant', 'Hello from TypeScript'],
    ]);
  });

  it('streams a chat turn as parsed chunks, over POST (chat.stream) and GET', async () => {
    const chunks = await collect(client.chat.stream({ name: 'default', message: 'Streaming through the client' }));
    const done = chunks.at(-1);
    expect(done).toMatchObject({ done: true, status: 'completed', content: 'Streaming through the client' });
    const text = chunks.slice(0, -1).map((chunk) => ('content' in chunk ? chunk.content : '')).join('');
    expect(text).toBe('Streaming through the client');
    expect(chunks.length).toBeGreaterThan(2);

    const viaGet = await collect(client.chat.streamGet({ name: 'default', message: 'via get' }));
    expect(viaGet.at(-1)).toMatchObject({ done: true, content: 'via get' });
  });

  it('throws the error envelope of a stream refused before it starts', async () => {
    const stream = client.chat.stream({ name: 'nobody', message: 'hi' });
    const error = await collect(stream).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AGENT_NOT_FOUND', status: 404, operationId: 'chat.streamPost' });
  });

  it('follows the event stream live, and resumes it from lastEventId', async () => {
    await client.agents.create({ name: 'ts-events' });
    const filter = { agent_id: 'ts-events', event_type: ['run.started', 'message.user', 'run.completed'] };
    const live = client.events.stream(filter);
    const iterator = live[Symbol.asyncIterator]();
    const subscribers = server.services.events.subscriberCount;
    const first = iterator.next(); // opens the connection
    while (server.services.events.subscriberCount === subscribers) await new Promise((resolve) => setTimeout(resolve, 10));
    const turn = client.chat.send({ name: 'ts-events', message: 'watched' });

    const events = [(await first).value];
    while (events.at(-1)?.event_type !== 'run.completed') events.push((await iterator.next()).value);
    await iterator.return?.();
    const reply = await turn;
    expect(events.map((event) => event.event_type)).toEqual(['run.started', 'message.user', 'run.completed']);
    expect(events.every((event) => event.run_id === reply.run_id && event.agent_id === 'ts-events')).toBe(true);
    expect(live.lastEventId).toBe(events[2].event_id);

    const resumed = await collect(client.events.stream(filter, { lastEventId: events[0].event_id }), (event) => event.event_type === 'run.completed');
    expect(resumed.map((event) => event.event_id)).toEqual([events[1].event_id, events[2].event_id]);
  });

  it('ends an event stream quietly when its AbortSignal aborts', async () => {
    const controller = new AbortController();
    const stream = client.events.stream({ agent_id: 'nobody-at-all' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    expect(await collect(stream)).toEqual([]);
  });

  it('reads a run\'s event stream to its end', async () => {
    const reply = await client.chat.send({ name: 'default', message: 'a run to replay' });
    const events = await collect(client.runs.eventStream({ id: reply.run_id }));
    expect(events[0]?.event_type).toBe('run.started');
    expect(events.at(-1)?.event_type).toBe('run.completed');
    expect(new Set(events.map((event) => event.run_id))).toEqual(new Set([reply.run_id]));
  });
});

describe('a server that cannot be reached', () => {
  /** A loopback address nothing listens on. */
  async function closedUrl(): Promise<string> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    return `http://127.0.0.1:${port}`;
  }

  it('is a MoxxyApiError CONNECTION_ERROR with status 0 and the cause, for calls and for streams alike', async () => {
    const url = await closedUrl();
    const offline = createMoxxyClient({ baseUrl: url, retry: 0 });
    const error = await offline.agents.get({ name: 'default' }).catch((e: unknown) => e);
    expect(isMoxxyApiError(error, 'CONNECTION_ERROR')).toBe(true);
    expect(error).toMatchObject({ code: 'CONNECTION_ERROR', status: 0, operationId: 'agents.get', message: `agents.get: cannot reach ${url}/api/agents/default: connect ECONNREFUSED ${url.slice(7)}` });

    const stream = offline.events.stream({ agent_id: 'default' }, { reconnect: { attempts: 1, delayMs: 10 } });
    expect(await collect(stream).catch((e: unknown) => e)).toMatchObject({ code: 'CONNECTION_ERROR', status: 0, operationId: 'events.stream' });
  });

  it('is a MoxxyApiError TIMEOUT when the server does not answer in time', async () => {
    const silent = createServer();
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const slow = createMoxxyClient({ baseUrl: `http://127.0.0.1:${port}`, retry: 0, timeout: 200 });
      expect(await outcome(slow.system.health())).toEqual({ code: 'TIMEOUT', status: 0, details: undefined });
    } finally {
      silent.close();
    }
  });
});

describe('REST and tRPC clients against a server with auth', () => {
  const INTERNAL = 'internal-token-for-the-ts-client';
  let server: TestServer;
  let readToken: string;
  const restClient = (auth: Partial<MoxxyClientOptions>) => createMoxxyClient({ baseUrl: server.url, fetch: checkedFetch, retry: 0, ...auth });
  beforeAll(async () => {
    server = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL });
    const created = await restClient({ internalToken: INTERNAL }).tokens.create({ name: 'ts-reader', scopes: ['agents:read', 'events:read', 'chat'] });
    expect(created.token).toMatch(/^mox_/);
    readToken = created.token;
  });
  afterAll(() => server.close());

  it('sends the internal token or a bearer token, and reports 401 and 403 as MoxxyApiError', async () => {
    expect(await outcome(restClient({}).agents.list())).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(await outcome(restClient({ token: 'mox_wrong' }).agents.list())).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect((await restClient({ internalToken: INTERNAL }).agents.list()).agents.map((agent) => agent.name)).toEqual(['default']);

    const reader = restClient({ token: readToken });
    expect((await reader.agents.get({ name: 'default' })).name).toBe('default');
    expect(await outcome(reader.agents.create({ name: 'forbidden' }))).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(await outcome(restClient({}).system.health())).toMatchObject({ ok: { status: 'ok' } });
  });

  it('authenticates streams with the same token', async () => {
    const refused = await collect(restClient({}).events.stream({ agent_id: 'default' })).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    const chunks = await collect(restClient({ token: readToken }).chat.stream({ name: 'default', message: 'authorised' }));
    expect(chunks.at(-1)).toMatchObject({ done: true, content: 'authorised' });
  });

  it('calls queries and mutations over tRPC with superjson Dates and the API error codes', async () => {
    const trpc = createMoxxyTrpcClient({ url: server.url, internalToken: INTERNAL });
    const agent = await trpc.agents.get.query({ name: 'default' });
    expect(agent.name).toBe('default');
    expect(agent.created_at).toBeInstanceOf(Date);

    const reply = await trpc.chat.send.mutate({ name: 'default', message: 'over tRPC' });
    expect(reply.content).toBe('over tRPC');

    const missing = await trpc.agents.get.query({ name: 'nobody' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TRPCClientError);
    expect((missing as TRPCClientError<never>).data).toMatchObject({ code: 'AGENT_NOT_FOUND', httpStatus: 404 });

    const anonymous = await createMoxxyTrpcClient({ url: `${server.url}/trpc` }).agents.list.query({}).catch((e: unknown) => e);
    expect((anonymous as TRPCClientError<never>).data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
  });

  it('streams tRPC subscriptions over SSE with the bearer token', async () => {
    const trpc = createMoxxyTrpcClient({ url: server.url, token: readToken });
    const chunks: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = trpc.chat.stream.subscribe(
        { name: 'default', message: 'subscribed turn' },
        {
          onData: (chunk) => {
            chunks.push(chunk);
            if ('done' in chunk) {
              subscription.unsubscribe();
              resolve();
            }
          },
          onError: reject,
        },
      );
    });
    expect(chunks.at(-1)).toMatchObject({ done: true, status: 'completed', content: 'subscribed turn' });

    const events: Array<{ event_type: string; timestamp: Date }> = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = trpc.events.subscribe.subscribe(
        { agent_id: 'default', event_type: ['run.completed'], lastEventId: null },
        {
          onStarted: () => void restClient({ internalToken: INTERNAL }).chat.send({ name: 'default', message: 'observed over tRPC' }),
          onData: ({ data }) => {
            events.push(data);
            subscription.unsubscribe();
            resolve();
          },
          onError: reject,
        },
      );
    });
    expect(events[0]?.event_type).toBe('run.completed');
    expect(events[0]?.timestamp).toBeInstanceOf(Date);
  });

  it('fails a tRPC subscription the token may not open with the API code', async () => {
    const trpc = createMoxxyTrpcClient({ url: server.url, token: 'mox_wrong' });
    const error = await new Promise<unknown>((resolve) => {
      trpc.events.subscribe.subscribe({ agent_id: 'default' }, { onData: () => resolve('unexpected data'), onError: resolve });
    });
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
  });
});
