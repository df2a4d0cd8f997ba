/**
 * A consumer's view of the TypeScript client: its code tested against msw handlers built from openapi.json
 * (`@moxxy/client/testing`), with no server. Also the SSE parser on awkward streams, and the drift check of
 * the generated files.
 */
import { readFileSync } from 'node:fs';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMoxxyClient, createSseParser, MoxxyApiError, operations, type Schema } from '../clients/typescript/src/index.ts';
import { createMoxxyHandlers, mockError, sseDone, sseFrame } from '../clients/typescript/src/testing.ts';
import { OPENAPI_PATH, staleGeneratedFiles } from '../scripts/gen-ts-client.ts';

const BASE = 'http://moxxy.test';
const msw = setupServer();
const client = createMoxxyClient({ baseUrl: BASE, retry: 0 });

beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));
afterEach(() => msw.resetHandlers());
afterAll(() => msw.close());

const agent = (name: string): Schema<'Agent'> => ({
  name,
  display_name: null,
  description: 'A fixture',
  model: { provider: 'echo', name: 'echo' },
  system_prompt: '',
  allowed_tools: [],
  subagents: [],
  tool_policy: {},
  max_steps: 8,
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
});

const event = (sequence: number, event_type: string): Schema<'Event'> => ({
  event_id: `evt_${sequence}`,
  timestamp: '2025-01-01T00:00:00.000Z',
  agent_id: 'default',
  run_id: 'run_1',
  sequence,
  event_type,
  payload: {},
});

async function failure(promise: Promise<unknown>): Promise<MoxxyApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof MoxxyApiError)) throw new Error(`expected a MoxxyApiError, got ${String(error)}`);
  return error;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('msw handlers from openapi.json', () => {
  it('answers with the resolver\'s data in the envelope, and gives the resolver typed input', async () => {
    const seen: unknown[] = [];
    msw.use(
      ...createMoxxyHandlers({
        baseUrl: BASE,
        resolvers: {
          'agents.get': ({ input }) => agent(input.name),
          'agents.list': ({ input }) => {
            seen.push(input);
            return { agents: [agent('a')], pagination: { total: 3, limit: input.limit ?? 50, offset: input.offset ?? 0, next_offset: 1 } };
          },
          'chat.send': ({ input }) => ({
            id: 'msg_1', run_id: 'run_1', content: input.message, session_id: input.session_id ?? 'ses_1', agent_id: input.name, timestamp: '2025-01-01T00:00:00.000Z', usage: { input_tokens: 1, output_tokens: 1 }, status: 'completed',
          }),
        },
      }),
    );
    expect(await client.agents.get({ name: 'helper' })).toEqual(agent('helper'));
    expect((await client.agents.list({ limit: 1, offset: 0 })).pagination).toEqual({ total: 3, limit: 1, offset: 0, next_offset: 1 });
    expect(seen).toEqual([{ limit: 1, offset: 0 }]);
    expect(await client.chat.send({ name: 'default', message: 'hi', session_id: 's' })).toMatchObject({ content: 'hi', session_id: 's', agent_id: 'default' });
  });

  it('refuses what the schemas refuse: a bad body or parameter is a 400 VALIDATION_ERROR', async () => {
    msw.use(...createMoxxyHandlers({ baseUrl: BASE, resolvers: { 'agents.create': ({ input }) => agent(input.name), 'agents.list': () => ({ agents: [], pagination: { total: 0, limit: 50, offset: 0, next_offset: null } }) } }));
    const badName = await failure(client.agents.create({ name: 'Not A Slug' }));
    expect(badName).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
    expect((badName.details?.issues as Array<{ path: string }>).map((issue) => issue.path)).toEqual(['name']);
    expect(await failure(client.agents.list({ limit: 500 }))).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
    expect((await client.agents.create({ name: 'fine' })).name).toBe('fine');
  });

  it('turns mockError into the documented status, and refuses codes the operation does not document', async () => {
    msw.use(
      ...createMoxxyHandlers({
        baseUrl: BASE,
        resolvers: {
          'agents.get': ({ input }) => {
            if (input.name === 'odd') throw mockError('SKILL_FAILED', 'not an agents.get error');
            throw mockError<'agents.get'>('AGENT_NOT_FOUND', `Agent '${input.name}' not found`, { name: input.name });
          },
        },
      }),
    );
    const notFound = await failure(client.agents.get({ name: 'ghost' }));
    expect(notFound).toMatchObject({ code: 'AGENT_NOT_FOUND', status: 404, message: "Agent 'ghost' not found", details: { name: 'ghost' } });
    const undocumented = await failure(client.agents.get({ name: 'odd' }));
    expect(undocumented).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
    expect(undocumented.message).toContain('SKILL_FAILED, which openapi.json does not document');
  });

  it('refuses a fixture that does not match the response schema, naming the field', async () => {
    const { max_steps: _dropped, ...incomplete } = agent('broken');
    msw.use(...createMoxxyHandlers({ baseUrl: BASE, resolvers: { 'agents.get': () => incomplete as Schema<'Agent'> } }));
    const error = await failure(client.agents.get({ name: 'broken' }));
    expect(error).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
    expect(error.message).toContain('does not match openapi.json');
    expect(error.message).toContain("must have required property 'max_steps'");
  });

  it('streams events with ids from event_id, and hands the resolver Last-Event-ID on resume', async () => {
    const resumedFrom: Array<string | undefined> = [];
    const all = [event(1, 'run.started'), event(2, 'message.user'), event(3, 'run.completed')];
    msw.use(
      ...createMoxxyHandlers({
        baseUrl: BASE,
        resolvers: {
          'events.stream': ({ lastEventId, input }) => {
            resumedFrom.push(lastEventId);
            expect(input.event_type).toEqual(['run.started', 'message.user', 'run.completed']);
            return all.slice(lastEventId ? all.findIndex((e) => e.event_id === lastEventId) + 1 : 0);
          },
        },
      }),
    );
    const filter = { event_type: ['run.started', 'message.user', 'run.completed'] };
    const stream = client.events.stream(filter);
    expect((await collect(stream)).map((e) => e.event_type)).toEqual(['run.started', 'message.user', 'run.completed']);
    expect(stream.lastEventId).toBe('evt_3');
    expect((await collect(client.events.stream(filter, { lastEventId: 'evt_1' }))).map((e) => e.sequence)).toEqual([2, 3]);
    expect(resumedFrom).toEqual([undefined, 'evt_1']);
  });

  it('ends a stream at data: [DONE]', async () => {
    const chunk = (seq: number, delta: string): Schema<'MoxxyAssistantChunk'> => ({
      id: `evt_${seq}`, seq, ts: 1_700_000_000_000 + seq, sessionId: 'ses_1', turnId: 'run_1', source: 'model', type: 'assistant_chunk', delta,
    });
    msw.use(
      ...createMoxxyHandlers({
        baseUrl: BASE,
        resolvers: {
          'channelHttp.turnStream': ({ input }) => [chunk(0, input.prompt), sseFrame({ event: 'chunk', data: chunk(1, '!') }), sseDone, chunk(2, 'after the end')],
        },
      }),
    );
    expect(await collect(client.channelHttp.turnStream({ prompt: 'once' }))).toEqual([chunk(0, 'once'), chunk(1, '!')]);
  });

  it('refuses stream events that do not match the event schema', async () => {
    msw.use(...createMoxxyHandlers({ baseUrl: BASE, resolvers: { 'events.stream': () => [{ ...event(1, 'run.started'), sequence: 0 }] } }));
    const error = await failure(collect(client.events.stream()));
    expect(error).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
    expect(error.message).toContain('event 0.sequence must be >= 1');
  });

  it('reconnects a dropped resumable stream with Last-Event-ID, honouring retry:', async () => {
    const requests: Array<string | null> = [];
    let received!: () => void;
    const firstReceived = new Promise<void>((resolve) => (received = resolve));
    msw.use(
      http.get(`${BASE}/v1/events/stream`, ({ request }) => {
        requests.push(request.headers.get('last-event-id'));
        const first = requests.length === 1;
        const encoder = new TextEncoder();
        let pulls = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            pulls++;
            if (!first) {
              controller.enqueue(encoder.encode(`id: evt_2\ndata: ${JSON.stringify(event(2, 'run.completed'))}\n\n`));
              controller.close();
            } else if (pulls === 1) {
              controller.enqueue(encoder.encode(`retry: 5\nid: evt_1\ndata: ${JSON.stringify(event(1, 'run.started'))}\n\n`));
            } else {
              // Dropped only once the client has the first event: an errored stream discards what is still queued.
              return firstReceived.then(() => controller.error(new Error('connection reset')));
            }
          },
        });
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const iterator = client.events.stream({}, { reconnect: { attempts: 1, delayMs: 10_000 } })[Symbol.asyncIterator]();
    const events = [(await iterator.next()).value];
    received();
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) events.push(next.value);
    expect(events.map((e) => e.event_id)).toEqual(['evt_1', 'evt_2']);
    expect(requests).toEqual([null, 'evt_1']);
  });
});

describe('SSE parsing', () => {
  it('handles multi-line data, comments, CRLF, id and event lines, and messages split across chunks', async () => {
    const wire =
      '\uFEFF: a comment\r\n' +
      'retry: 2500\r\n' +
      'id:evt_a\r\n' +
      'event: run.started\r\n' +
      `data: ${JSON.stringify(event(1, 'run.started')).replace('"sequence"', '\ndata: "sequence"')}\r\n\r\n` +
      ': keep-alive\n\n' +
      `data:${JSON.stringify(event(2, 'message.user'))}\r\r` +
      'event: ignored-without-data\n\n' +
      `id: evt_c\ndata: ${JSON.stringify(event(3, 'run.completed'))}\n\n` +
      'data: {"cut": "off"';
    msw.use(
      http.get(`${BASE}/v1/events/stream`, () => {
        const bytes = new TextEncoder().encode(wire);
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            // One byte at a time: every boundary (inside CRLF, inside a UTF-8 BOM) is crossed.
            for (const byte of bytes) controller.enqueue(Uint8Array.of(byte));
            controller.close();
          },
        });
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    const stream = client.events.stream();
    const events = await collect(stream);
    expect(events).toEqual([event(1, 'run.started'), event(2, 'message.user'), event(3, 'run.completed')]);
    expect(stream.lastEventId).toBe('evt_c');
  });

  it('keeps the last id across messages and reports retry', () => {
    const parser = createSseParser();
    expect(parser.push('id: 1\ndata: a\n\ndata: b\ndata: c\n')).toEqual([{ id: '1', event: 'message', data: 'a' }]);
    expect(parser.push('\r')).toEqual([]);
    expect(parser.push('\nevent: x\ndata\nretry: 9\n\n')).toEqual([
      { id: '1', event: 'message', data: 'b\nc' },
      { id: '1', event: 'x', data: '' },
    ]);
    expect(parser.retry).toBe(9);
  });
});

describe('generated client files', () => {
  // The AppRouter type comes from the compiler's declarations of the whole server: a minute on a loaded machine.
  it('match what openapi/openapi.json and src/routers/app.ts give (run npm run gen:ts-client after changing routes)', async () => {
    expect(await staleGeneratedFiles()).toEqual([]);
  }, 180_000);

  it('cover every operation of openapi.json', () => {
    const document = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, { operationId?: string }>> };
    const ids = Object.values(document.paths).flatMap((item) => Object.values(item).flatMap((op) => (op?.operationId ? [op.operationId] : [])));
    expect(Object.keys(operations).sort()).toEqual(ids.sort());
    expect(operations['agents.get']).toMatchObject({ method: 'GET', path: '/api/agents/{name}', params: ['name'], status: 200, response: 'envelope' });
    expect(operations['events.stream']).toMatchObject({ response: 'sse', resumable: true, query: ['agent_id', 'run_id', 'event_type'] });
  });
});
