/** The A2A door, driven with the official A2A SDK's client (@a2a-js/sdk, protocol 1.0, JSON-RPC) from an agent's card URL. */
import { CancelTaskRequest, GetTaskRequest, SendMessageRequest, TaskState, type StreamResponse, type Task } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  createAuthenticatingFetchWithRetry,
  type Client,
} from '@a2a-js/sdk/client';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

const PROVIDER = 'https://api.openai.test/v1';
const INTERNAL_TOKEN = 'internal-token-for-the-a2a-door-0123456789abc';
const internal = { 'x-moxxy-internal-token': INTERNAL_TOKEN };
const STORE_TAG = '<invoke name="memory.store">{"content":"x"}</invoke>';

const msw = setupServer();
let server: TestServer;
const tokens: Record<string, string> = {};

const cardUrl = (agent: string) => `${server.url}/a2a/${agent}/.well-known/agent-card.json`;

/** The SDK's client for an agent, made from its card URL, sending `token` as its bearer token. */
async function clientFor(agent: string, token: string): Promise<Client> {
  const fetchImpl = createAuthenticatingFetchWithRetry(fetch, {
    headers: async () => ({ Authorization: `Bearer ${token}` }),
    shouldRetryWithHeaders: async () => undefined,
  });
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  );
  return factory.createFromUrl(cardUrl(agent), '');
}

const send = (text: string, extra: Record<string, unknown> = {}, message: Record<string, unknown> = {}) =>
  SendMessageRequest.fromJSON({ message: { messageId: `m-${Math.random()}`, role: 'ROLE_USER', parts: [{ text }], ...message }, ...extra });

const textOf = (task: Task) => task.artifacts.flatMap((artifact) => artifact.parts.map((part) => (part.content?.$case === 'text' ? part.content.value : ''))).join('');

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
    { name: 'toolbox', description: 'Remembers things', allowed_tools: ['memory.*'] },
    { name: 'slow', model: { provider: 'openai', name: 'gpt-test' } },
    { name: 'asker', allowed_tools: ['memory.*'], tool_policy: { 'memory.store': 'ask' } },
  ];
  for (const agent of agents) expect((await server.api.post('/api/agents', agent, { headers: internal })).status).toBe(201);
  for (const [name, scopes] of Object.entries({ a2a: ['agents:read', 'chat'], chat: ['chat'] })) {
    tokens[name] = (await server.api.post('/api/tokens', { name, scopes }, { headers: internal })).body.data.token;
  }
});
afterEach(() => msw.resetHandlers());
afterAll(async () => {
  msw.close();
  await server.close();
});

describe('agent cards', () => {
  it('publishes each agent at /a2a/{agent}/.well-known/agent-card.json, naming its JSON-RPC endpoint', async () => {
    const res = await server.api.get('/a2a/toolbox/.well-known/agent-card.json', { headers: { authorization: `Bearer ${tokens.a2a}` } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'toolbox',
      description: 'Remembers things',
      supportedInterfaces: [{ url: `${server.url}/a2a/toolbox`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
      capabilities: { streaming: true, pushNotifications: false },
      securityRequirements: [{ schemes: { moxxyToken: { list: ['chat'] } } }],
    });
    const client = await clientFor('toolbox', tokens.a2a!);
    expect(client.protocolVersion).toBe('1.0');
  });

  it('answers an unknown agent with 404 and needs agents:read', async () => {
    expect((await server.api.get('/a2a/nobody/.well-known/agent-card.json', { headers: internal })).status).toBe(404);
    const denied = await server.api.get('/a2a/toolbox/.well-known/agent-card.json', { headers: { authorization: `Bearer ${tokens.chat}` } });
    expect(denied.status).toBe(403);
    await expect(clientFor('toolbox', 'mox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(/401/);
  });
});

describe('tasks over JSON-RPC', () => {
  it('SendMessage runs the agent and answers the completed task: the run, its session and the answer as an artifact', async () => {
    const client = await clientFor('default', tokens.a2a!);
    const task = (await client.sendMessage(send('Hello over A2A'))) as Task;
    expect(task.id).toMatch(/^run_/);
    expect(task.contextId).toMatch(/^ses_/);
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(task)).toBe('Hello over A2A');
    const run = (await server.api.get(`/api/runs/${task.id}`, { headers: internal })).body.data;
    expect(run).toMatchObject({ agent_id: 'default', source: 'a2a', status: 'completed', session_id: task.contextId, output: 'Hello over A2A' });

    const followUp = (await client.sendMessage(send('And again', {}, { contextId: task.contextId }))) as Task;
    expect(followUp.contextId).toBe(task.contextId);
    const history = (await server.api.get(`/api/agents/default/chat/history?session_id=${task.contextId}`, { headers: internal })).body.data;
    expect(history.messages.map((m: any) => m.content)).toEqual(['Hello over A2A', 'Hello over A2A', 'And again', 'And again']);
  });

  it('SendStreamingMessage streams the task, the answer in artifact chunks and the final status', async () => {
    const client = await clientFor('default', tokens.a2a!);
    const events: StreamResponse[] = [];
    for await (const event of client.sendMessageStream(send('Stream this over A2A'))) events.push(event);
    expect(events[0]!.payload?.$case).toBe('task');
    const chunks = events.flatMap((event) => (event.payload?.$case === 'artifactUpdate' ? [event.payload.value] : []));
    expect(chunks.map((chunk) => chunk.artifact!.parts.map((part) => (part.content?.$case === 'text' ? part.content.value : '')).join('')).join('')).toBe('Stream this over A2A');
    expect(chunks.at(-1)).toMatchObject({ lastChunk: true, append: true });
    const last = events.at(-1)!.payload;
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it('streams tool activity as working updates, and the answer the agent gave after its tools', async () => {
    const client = await clientFor('toolbox', tokens.a2a!);
    const events: StreamResponse[] = [];
    for await (const event of client.sendMessageStream(send(`Remember ${STORE_TAG}`))) events.push(event);
    const activity = events.flatMap((event) => {
      if (event.payload?.$case !== 'statusUpdate' || event.payload.value.status?.state !== TaskState.TASK_STATE_WORKING) return [];
      return event.payload.value.status.message!.parts.map((part) => (part.content?.$case === 'data' ? Object.keys(part.content.value) : []));
    });
    expect(activity).toEqual([['tool_call'], ['tool_result']]);
    const taskId = events[0]!.payload?.$case === 'task' ? events[0]!.payload.value.id : '';
    const task = await client.getTask(GetTaskRequest.fromJSON({ id: taskId }));
    expect(textOf(task)).toMatch(/^memory\.store: /);
    expect((await server.api.get('/api/agents/toolbox/memory', { headers: internal })).body.data.memories.map((m: any) => m.content)).toEqual(['x']);
  });

  it('streams input-required while a tool call waits for approval, and goes on as it is decided', async () => {
    const client = await clientFor('asker', tokens.a2a!);
    const events: StreamResponse[] = [];
    let waiting: { text: string; data: Record<string, any> } | undefined;
    let whileWaiting: Task | undefined;
    for await (const event of client.sendMessageStream(send(`Remember ${STORE_TAG}`))) {
      events.push(event);
      const status = event.payload?.$case === 'statusUpdate' ? event.payload.value.status : undefined;
      if (status?.state !== TaskState.TASK_STATE_INPUT_REQUIRED) continue;
      const parts = status.message!.parts.map((part) => part.content);
      waiting = {
        text: parts[0]?.$case === 'text' ? parts[0].value : '',
        data: parts[1]?.$case === 'data' ? (parts[1].value as Record<string, any>) : {},
      };
      const taskId = event.payload!.$case === 'statusUpdate' ? event.payload!.value.taskId : '';
      whileWaiting = await client.getTask(GetTaskRequest.fromJSON({ id: taskId }));
      const { call_id } = waiting.data.pending_approval;
      const decided = await server.api.post(`/api/runs/${taskId}/approvals/${call_id}`, { decision: 'approve' }, { headers: internal });
      expect(decided.status).toBe(200);
    }
    const taskId = events[0]!.payload?.$case === 'task' ? events[0]!.payload.value.id : '';
    expect(waiting?.data.pending_approval).toMatchObject({ tool: 'memory.store', arguments: { content: 'x' } });
    expect(waiting?.text).toContain(`POST /api/runs/${taskId}/approvals/${waiting?.data.pending_approval.call_id}`);
    expect(whileWaiting?.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(whileWaiting?.status?.message?.parts[1]?.content).toMatchObject({ $case: 'data', value: { pending_approval: { tool: 'memory.store' } } });
    // After the decision: the tool's result as a working update, then the answer and the completed status.
    const after = events.slice(events.findIndex((event) => event.payload?.$case === 'statusUpdate' && event.payload.value.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED) + 1);
    expect(after.some((event) => event.payload?.$case === 'statusUpdate' && event.payload.value.status?.state === TaskState.TASK_STATE_WORKING)).toBe(true);
    const last = events.at(-1)!.payload;
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect((await server.api.get('/api/agents/asker/memory', { headers: internal })).body.data.memories.map((m: any) => m.content)).toEqual(['x']);
  });

  it('GetTask reads a task as its run is, and refuses a task of another agent as not found', async () => {
    const client = await clientFor('default', tokens.a2a!);
    const sent = (await client.sendMessage(send('Keep this'))) as Task;
    const task = await client.getTask(GetTaskRequest.fromJSON({ id: sent.id }));
    expect({ id: task.id, state: task.status?.state, text: textOf(task) }).toEqual({ id: sent.id, state: TaskState.TASK_STATE_COMPLETED, text: 'Keep this' });
    const elsewhere = await (await clientFor('toolbox', tokens.a2a!)).getTask(GetTaskRequest.fromJSON({ id: sent.id })).catch((e: unknown) => e);
    expect(elsewhere).toMatchObject({ name: 'TaskNotFoundError', envelopeCode: -32001 });
  });

  it('CancelTask cancels the run of a task that is still working, and refuses one that has ended', async () => {
    slowUpstream();
    const client = await clientFor('slow', tokens.a2a!);
    const started = (await client.sendMessage(send('Take your time', { configuration: { returnImmediately: true } }))) as Task;
    expect(started.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const cancelled = await client.cancelTask(CancelTaskRequest.fromJSON({ id: started.id }));
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    expect((await server.api.get(`/api/runs/${started.id}`, { headers: internal })).body.data.status).toBe('cancelled');
    const again = await client.cancelTask(CancelTaskRequest.fromJSON({ id: started.id })).catch((e: unknown) => e);
    expect(again).toMatchObject({ name: 'TaskNotCancelableError', envelopeCode: -32002 });
  });

  it('answers JSON-RPC requests as documented, refusing other protocol versions, unknown methods and requests it cannot take', async () => {
    const headers = { authorization: `Bearer ${tokens.a2a}` };
    const unknownTask = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 7, method: 'GetTask', params: { id: 'run_missing' } }, { headers });
    expect(unknownTask.body).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32001, message: "Task 'run_missing' not found" } });
    const oldVersion = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 8, method: 'GetTask', params: { id: 'x' } }, { headers: { ...headers, 'a2a-version': '0.3' } });
    expect(oldVersion.body.error.code).toBe(-32009);
    // A request the door cannot take is a JSON-RPC error too, with the request's id where it has one.
    const unknownMethod = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 9, method: 'ListTasks', params: {} }, { headers });
    expect(unknownMethod.status).toBe(200);
    expect(unknownMethod.body).toMatchObject({ jsonrpc: '2.0', id: 9, error: { code: -32601, message: expect.stringContaining('SendMessage, SendStreamingMessage, GetTask or CancelTask') } });
    const badParams = await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 'q-1', method: 'GetTask', params: {} }, { headers });
    expect([badParams.status, badParams.body.id, badParams.body.error.code]).toEqual([200, 'q-1', -32602]);
    expect(badParams.body.error.message).toContain('params.id');
    const notRpc = await server.api.post('/a2a/default', { id: 11, method: 'GetTask', params: { id: 'x' } }, { headers });
    expect([notRpc.status, notRpc.body.id, notRpc.body.error.code]).toEqual([200, 11, -32600]);
    const notJson = await server.api.request('POST', '/a2a/default', { rawBody: '{"jsonrpc": "2.0", "id": 12,', headers: { ...headers, 'content-type': 'application/json' } });
    expect([notJson.status, notJson.body.id, notJson.body.error.code]).toEqual([200, null, -32700]);
    // The agent is read from the path, after the request: an unknown one stays the envelope's 404.
    const noAgent = await server.api.post('/a2a/nobody', { jsonrpc: '2.0', id: 13, method: 'GetTask', params: { id: 'x' } }, { headers });
    expect([noAgent.status, noAgent.body.error.code]).toEqual([404, 'AGENT_NOT_FOUND']);
    expect((await server.api.post('/a2a/default', { jsonrpc: '2.0', id: 10, method: 'GetTask', params: { id: 'x' } }, { headers: { authorization: `Bearer ${tokens.chat}x` } })).status).toBe(401);
  });
});
