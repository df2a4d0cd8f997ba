/**
 * The A2A door in protocol 0.3 (`message/send`, `message/stream`, `tasks/get`, `tasks/cancel`), driven with the official
 * 0.3 client (@a2a-js/sdk 0.3.14, installed as a2a-sdk-v03) from an agent's card URL. Every answer the client gets is
 * checked against openapi.json: JSON bodies as the REST client checks them, each Server-Sent Event against the stream's
 * event schema.
 */
import {
  A2AClient,
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  createAuthenticatingFetchWithRetry,
} from 'a2a-sdk-v03/client';
import type { Message, MessageSendParams, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent } from 'a2a-sdk-v03';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesOpenApi, findOperation, openApiDocument } from './helpers/openapi.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { parseSse } from './helpers/sse.ts';

const PROVIDER = 'https://api.openai.test/v1';
const INTERNAL_TOKEN = 'internal-token-for-the-a2a-door-0123456789abc';
const internal = { 'x-moxxy-internal-token': INTERNAL_TOKEN };

const msw = setupServer();
let server: TestServer;
const tokens: Record<string, string> = {};

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema(openApiDocument as object, 'openapi.json');
const pointer = (...segments: string[]) => segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** What the responses the client got broke of openapi.json (checked as they arrive, asserted after each test). */
let violations: string[] = [];
let pending: Promise<void>[] = [];

/** Each Server-Sent Event of a response against the event schema its operation declares. */
async function checkEvents(method: string, url: string, status: number, body: ReadableStream<Uint8Array>): Promise<void> {
  const text = await new Response(body).text();
  const operation = findOperation(method, url);
  if (!operation) return void violations.push(`${method} ${url}: no such operation`);
  const validate = ajv.compile({
    $ref: `openapi.json#/${pointer('paths', operation.path, operation.method, 'responses', String(status), 'content', 'text/event-stream', 'schema')}`,
  });
  for (const event of parseSse(text).events) {
    if (!validate(JSON.parse(event.data))) violations.push(`${url} event ${event.data.slice(0, 500)}: ${ajv.errorsText(validate.errors)}`);
  }
}

/** fetch, with every answer checked against openapi.json. */
const checkedFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const response = await fetch(request);
  const contentType = response.headers.get('content-type');
  if (contentType?.startsWith('text/event-stream') && response.body) {
    const [mine, theirs] = response.body.tee();
    pending.push(checkEvents(request.method, request.url, response.status, mine));
    return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
  }
  const text = await response.clone().text();
  try {
    assertMatchesOpenApi(request.method, request.url, response.status, contentType, contentType?.includes('json') && text ? JSON.parse(text) : text);
  } catch (error) {
    violations.push((error as Error).message);
  }
  return response;
};

/** The 0.3 SDK's client for an agent, made from its card URL, sending `token` as its bearer token. */
function clientFor(agent: string, token: string): Promise<A2AClient> {
  const fetchImpl = createAuthenticatingFetchWithRetry(checkedFetch, {
    headers: async () => ({ Authorization: `Bearer ${token}` }),
    shouldRetryWithHeaders: async () => undefined,
  });
  return A2AClient.fromCardUrl(`${server.url}/a2a/${agent}/.well-known/agent-card.json`, { fetchImpl });
}

const send = (text: string, extra: Partial<MessageSendParams> = {}, message: Partial<Message> = {}): MessageSendParams => ({
  message: { kind: 'message', messageId: `m-${Math.random()}`, role: 'user', parts: [{ kind: 'text', text }], ...message },
  ...extra,
});

/** The result of a JSON-RPC answer the 0.3 client returns (it returns errors rather than throwing them). */
function resultOf<T>(response: { result?: unknown; error?: unknown }): T {
  expect(response.error).toBeUndefined();
  return response.result as T;
}

const textOf = (task: Task) => (task.artifacts ?? []).flatMap((artifact) => artifact.parts.map((part) => (part.kind === 'text' ? part.text : ''))).join('');

/** A model that starts answering and then takes its time, until the run is cancelled. */
function slowUpstream() {
  msw.use(
    http.post(`${PROVIDER}/chat/completions`, () => {
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'thinking' } }] })}\n\n`));
        },
      });
      return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
    }),
  );
}

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  server = await startTestServer({ providers: { openai: { baseUrl: PROVIDER, apiKey: 'sk-upstream' }, maxRetries: 0 } }, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
  const agents = [
    { name: 'other' },
    { name: 'slow', model: { provider: 'openai', name: 'gpt-test' } },
    { name: 'asker', allowed_tools: ['memory.*'], tool_policy: { 'memory.store': 'ask' } },
  ];
  for (const agent of agents) expect((await server.api.post('/api/agents', agent, { headers: internal })).status).toBe(201);
  for (const [name, scopes] of Object.entries({ a2a: ['agents:read', 'chat'] })) {
    tokens[name] = (await server.api.post('/api/tokens', { name, scopes }, { headers: internal })).body.data.token;
  }
});
afterEach(async () => {
  msw.resetHandlers();
  await Promise.all(pending);
  const found = violations;
  pending = [];
  violations = [];
  expect(found).toEqual([]);
});
afterAll(async () => {
  msw.close();
  await server.close();
});

describe('A2A 0.3 on the same endpoint', () => {
  it("reads the agent's card as a 0.3 card: the same JSON-RPC endpoint as its url", async () => {
    const client = await clientFor('default', tokens.a2a!);
    const card = await client.getAgentCard();
    expect(card).toMatchObject({ name: 'default', url: `${server.url}/a2a/default`, preferredTransport: 'JSONRPC', protocolVersion: '0.3.0' });
    expect(card.capabilities.streaming).toBe(true);
  });

  it("works with 0.3.x's ClientFactory too, which reads the card's 1.0-style security schemes as 0.3's protobuf JSON", async () => {
    const fetchImpl = createAuthenticatingFetchWithRetry(checkedFetch, {
      headers: async () => ({ Authorization: `Bearer ${tokens.a2a}` }),
      shouldRetryWithHeaders: async () => undefined,
    });
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      }),
    );
    const client = await factory.createFromUrl(`${server.url}/a2a/default/.well-known/agent-card.json`, '');
    const task = (await client.sendMessage(send('Through the factory'))) as Task;
    expect(task).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    expect(textOf(task)).toBe('Through the factory');
    expect(await client.getTask({ id: task.id })).toMatchObject({ kind: 'task', id: task.id, status: { state: 'completed' } });
    const kinds: string[] = [];
    for await (const event of client.sendMessageStream(send('Streamed through the factory'))) kinds.push(event.kind);
    expect(kinds[0]).toBe('task');
    expect(kinds.at(-1)).toBe('status-update');
  });

  it('message/send runs the agent and answers the completed task, the answer as a text artifact', async () => {
    const client = await clientFor('default', tokens.a2a!);
    const task = resultOf<Task>(await client.sendMessage(send('Hello over A2A 0.3')));
    expect(task).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    expect(task.id).toMatch(/^run_/);
    expect(task.contextId).toMatch(/^ses_/);
    expect(task.artifacts![0]!.parts).toEqual([{ kind: 'text', text: 'Hello over A2A 0.3' }]);
    expect(task.history).toEqual([{ kind: 'message', messageId: `${task.id}.input`, contextId: task.contextId, taskId: task.id, role: 'user', parts: [{ kind: 'text', text: 'Hello over A2A 0.3' }] }]);
    const run = (await server.api.get(`/api/runs/${task.id}`, { headers: internal })).body.data;
    expect(run).toMatchObject({ agent_id: 'default', source: 'a2a', status: 'completed', session_id: task.contextId, output: 'Hello over A2A 0.3' });

    const followUp = resultOf<Task>(await client.sendMessage(send('And again', {}, { contextId: task.contextId })));
    expect(followUp.contextId).toBe(task.contextId);
    const history = (await server.api.get(`/api/agents/default/chat/history?session_id=${task.contextId}`, { headers: internal })).body.data;
    expect(history.messages.map((m: any) => m.content)).toEqual(['Hello over A2A 0.3', 'Hello over A2A 0.3', 'And again', 'And again']);
  });

  it('message/stream streams the task, the answer in artifact updates and status updates, the last one final', async () => {
    const client = await clientFor('default', tokens.a2a!);
    const events: Array<Task | Message | TaskStatusUpdateEvent | TaskArtifactUpdateEvent> = [];
    for await (const event of client.sendMessageStream(send('Stream this over A2A 0.3'))) events.push(event);
    expect(events[0]).toMatchObject({ kind: 'task', status: { state: 'working' } });
    const chunks = events.filter((event): event is TaskArtifactUpdateEvent => event.kind === 'artifact-update');
    expect(chunks.map((chunk) => chunk.artifact.parts.map((part) => (part.kind === 'text' ? part.text : '')).join('')).join('')).toBe('Stream this over A2A 0.3');
    expect(chunks.at(-1)).toMatchObject({ lastChunk: true, append: true });
    const statuses = events.filter((event): event is TaskStatusUpdateEvent => event.kind === 'status-update');
    expect(statuses.map((status) => [status.status.state, status.final])).toEqual([['completed', true]]);
    expect(events.at(-1)).toBe(statuses.at(-1));
    expect(statuses[0]).toMatchObject({ taskId: (events[0] as Task).id, contextId: (events[0] as Task).contextId });
  });

  it('message/stream sends input-required (not final) while a tool call waits for approval, then the rest', async () => {
    const client = await clientFor('asker', tokens.a2a!);
    const events: Array<Task | Message | TaskStatusUpdateEvent | TaskArtifactUpdateEvent> = [];
    for await (const event of client.sendMessageStream(send('Remember <invoke name="memory.store">{"content":"y"}</invoke>'))) {
      events.push(event);
      if (event.kind !== 'status-update' || event.status.state !== 'input-required') continue;
      const data = event.status.message?.parts.find((part) => part.kind === 'data');
      const call = (data?.kind === 'data' ? data.data : {}) as { pending_approval?: { call_id: string; tool: string } };
      expect(call.pending_approval?.tool).toBe('memory.store');
      const waiting = resultOf<Task>(await client.getTask({ id: event.taskId }));
      expect(waiting.status.state).toBe('input-required');
      const decided = await server.api.post(`/api/runs/${event.taskId}/approvals/${call.pending_approval!.call_id}`, { decision: 'approve' }, { headers: internal });
      expect(decided.status).toBe(200);
    }
    const statuses = events.filter((event): event is TaskStatusUpdateEvent => event.kind === 'status-update');
    expect(statuses.map((status) => [status.status.state, status.final])).toEqual([
      ['input-required', false], // the call, waiting
      ['working', false], // the call, approved
      ['working', false], // its result
      ['completed', true],
    ]);
  });

  it("tasks/get reads a task as its run is, and answers another agent's task as not found (-32001)", async () => {
    const client = await clientFor('default', tokens.a2a!);
    const sent = resultOf<Task>(await client.sendMessage(send('Keep this')));
    const task = resultOf<Task>(await client.getTask({ id: sent.id, historyLength: 0 }));
    expect({ kind: task.kind, id: task.id, state: task.status.state, text: textOf(task), history: task.history }).toEqual({
      kind: 'task',
      id: sent.id,
      state: 'completed',
      text: 'Keep this',
      history: undefined,
    });
    const elsewhere = await (await clientFor('other', tokens.a2a!)).getTask({ id: sent.id });
    expect(elsewhere).toMatchObject({ jsonrpc: '2.0', error: { code: -32001, message: `Task '${sent.id}' not found` } });
  });

  it('tasks/cancel cancels the run of a task still working (message/send with blocking false), and refuses it once ended (-32002)', async () => {
    slowUpstream();
    const client = await clientFor('slow', tokens.a2a!);
    const started = resultOf<Task>(await client.sendMessage(send('Take your time', { configuration: { blocking: false } })));
    expect(started.status.state).toBe('working');
    const cancelled = resultOf<Task>(await client.cancelTask({ id: started.id }));
    expect(cancelled).toMatchObject({ kind: 'task', id: started.id, status: { state: 'canceled' } });
    expect((await server.api.get(`/api/runs/${started.id}`, { headers: internal })).body.data.status).toBe('cancelled');
    const again = await client.cancelTask({ id: started.id });
    expect(again).toMatchObject({ error: { code: -32002, message: `Task '${started.id}' is already cancelled` } });
  });

  it('answers raw 0.3 JSON-RPC as documented: unknown tasks, no A2A-Version check, files refused, a bad token refused', async () => {
    const headers = { authorization: `Bearer ${tokens.a2a}` };
    const unknownTask = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 'x1', method: 'tasks/get', params: { id: 'run_missing' } }, { headers });
    expect(unknownTask.body).toEqual({ jsonrpc: '2.0', id: 'x1', error: { code: -32001, message: "Task 'run_missing' not found" } });
    const cancelUnknown = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 2, method: 'tasks/cancel', params: { id: 'run_missing' } }, { headers });
    expect(cancelUnknown.body.error.code).toBe(-32001);

    const message = { kind: 'message', messageId: 'm1', role: 'user', parts: [{ kind: 'text', text: 'Plain JSON-RPC' }] };
    const sent = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 3, method: 'message/send', params: { message } }, { headers: { ...headers, 'a2a-version': '0.3' } });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ jsonrpc: '2.0', id: 3, result: { kind: 'task', status: { state: 'completed' }, artifacts: [{ parts: [{ kind: 'text', text: 'Plain JSON-RPC' }] }] } });

    const data = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 4, method: 'message/send', params: { message: { ...message, parts: [{ kind: 'data', data: { a: 1 } }] } } }, { headers });
    expect(data.body.result.artifacts[0].parts).toEqual([{ kind: 'text', text: '{"a":1}' }]);

    const file = { kind: 'file', file: { uri: 'https://example.test/a.txt' } };
    const refused = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 5, method: 'message/send', params: { message: { ...message, parts: [file] } } }, { headers });
    // Refused as JSON-RPC invalid params, answering the request's id.
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ jsonrpc: '2.0', id: 5, error: { code: -32602, message: expect.stringContaining('files are not accepted') } });

    const badToken = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 6, method: 'message/send', params: { message } }, { headers: { authorization: `Bearer ${tokens.a2a}x` } });
    expect(badToken.status).toBe(401);
    await expect(clientFor('default', 'mox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(/401/);
  });
});
