/**
 * The A2A door (Agent2Agent 1.0, JSON-RPC binding): each agent has a card at /a2a/{agent}/.well-known/agent-card.json
 * naming its endpoint, POST /a2a/{agent}. A task is a run: SendMessage starts one (and waits for it unless told not
 * to), SendStreamingMessage streams it, GetTask reads it, CancelTask cancels it. HTTP failures (auth, rate limits,
 * invalid requests) are the server's envelope; what A2A defines (no such task, not cancelable) are JSON-RPC errors.
 * The same endpoint speaks A2A 0.3 (`message/send`, `message/stream`, `tasks/get`, `tasks/cancel`, src/domain/a2a-v03.ts):
 * a 0.3 request is read as its 1.0 request and answered in 0.3's shapes, over the same run mapping.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  A2A_ERRORS,
  A2A_PROTOCOL_VERSION,
  A2aRequest,
  A2aRequestHeaders,
  A2aResponse,
  A2aStreamEvent,
  AgentCard,
  agentCardOf,
  agentMessage,
  answerArtifact,
  inputRequired,
  taskOf,
  taskStatusOf,
  textOfParts,
  type A2aV1Request,
  type SendMessageParams,
  type StreamResponse,
  type Task,
} from '../../domain/a2a.ts';
import { isV03Request, sendParamsOfV03, v03EventOf, v03TaskOf, type A2aV03Request } from '../../domain/a2a-v03.ts';
import { AgentRef } from '../../domain/agents.ts';
import type { Run } from '../../domain/chat.ts';
import { isAppError, type AppError, type ValidationIssue } from '../../domain/errors.ts';
import type { Services } from '../../services/container.ts';
import type { RunHandle } from '../../services/runtime/runtime.ts';
import { VERSION } from '../../services/system.ts';
import { defineRawRoute, type RawRouteSpec } from '../raw-routes.ts';
import { openSse } from '../sse.ts';
import { headersOf } from './headers.ts';
import { JSON_CONTENT_TYPE } from '../content-type.ts';

const TAG = 'a2a';
const SOURCE = 'a2a';

type RpcId = A2aRequest['id'];

/** An A2A failure: answered as a JSON-RPC error with status 200, as the protocol's SDKs do. */
class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const sendRpc = (reply: FastifyReply, answer: A2aResponse) => reply.type(JSON_CONTENT_TYPE).send(answer);

/** The id of a JSON-RPC request, when it has a usable one; JSON-RPC answers null otherwise (a parse error included). */
function requestIdOf(body: unknown): string | number | null {
  const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
  return (typeof id === 'string' && id.length <= 200) || Number.isInteger(id) ? (id as string | number) : null;
}

/**
 * A request the route cannot take, answered as JSON-RPC does (status 200, as A2A's own errors): -32700 for a body that
 * is not JSON, -32601 for an unknown method, -32600 for what is not a JSON-RPC request, -32602 for the rest (the
 * method's params, the agent's name, the headers).
 */
function rpcRequestFailure(error: AppError, _thrown: unknown, request: FastifyRequest) {
  const paths = ((error.details as { issues?: ValidationIssue[] } | undefined)?.issues ?? []).map((issue) => issue.path);
  const at = (field: string) => paths.some((path) => path === field || path.startsWith(`${field}.`));
  const code =
    error.code === 'INVALID_JSON'
      ? A2A_ERRORS.PARSE_ERROR
      : at('method')
        ? A2A_ERRORS.METHOD_NOT_FOUND
        : at('jsonrpc') || at('id') || paths.includes('')
          ? A2A_ERRORS.INVALID_REQUEST
          : A2A_ERRORS.INVALID_PARAMS;
  return { status: 200, body: { jsonrpc: '2.0', id: requestIdOf(request.body), error: { code, message: error.message } } };
}

const originOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

/** The agent's task: a run of this agent, else no such task (a run id of another agent names nothing here). */
async function taskRun(services: Services, agent: string, id: string): Promise<Run> {
  const run = await services.runtime.get(id).catch((error: unknown) => {
    if (isAppError(error) && error.code === 'RUN_NOT_FOUND') return undefined;
    throw error;
  });
  if (!run || run.agent_id !== agent) throw new RpcFailure(A2A_ERRORS.TASK_NOT_FOUND, `Task '${id}' not found`);
  return run;
}

function startTask(services: Services, agent: string, { message }: SendMessageParams): Promise<RunHandle> {
  if (message.taskId) {
    throw new RpcFailure(A2A_ERRORS.UNSUPPORTED_OPERATION, 'A task here ends with its turn: send the next message with the same contextId, without taskId');
  }
  return services.runtime.start({
    agent,
    source: SOURCE,
    message: textOfParts(message.parts),
    ...(message.contextId ? { session_id: message.contextId } : {}),
  });
}

async function cancelTask(services: Services, agent: string, id: string): Promise<Run> {
  const run = await taskRun(services, agent, id);
  const notCancelable = new RpcFailure(A2A_ERRORS.TASK_NOT_CANCELABLE, `Task '${id}' is already ${run.status}`);
  if (run.status !== 'running' && run.status !== 'queued') throw notCancelable;
  return services.runtime.cancel(id).catch((error: unknown) => {
    throw isAppError(error) && error.code === 'RUN_NOT_ACTIVE' ? notCancelable : error;
  });
}

/**
 * A run as A2A's stream: the task, then the answer as artifact chunks, tool activity as `working` status updates with
 * a data part, an `input-required` status while a tool call waits for a person's approval, and the final status. Text after tool calls starts the artifact afresh (append false), so what a client
 * assembles is the last step's text: the answer, as GetTask has it.
 */
async function* taskEvents(handle: RunHandle): AsyncGenerator<StreamResponse> {
  const { run } = handle;
  const ids = { taskId: run.id, contextId: run.session_id };
  const working = (data: Record<string, unknown>, suffix: string): StreamResponse => ({
    statusUpdate: { ...ids, status: { state: 'TASK_STATE_WORKING', message: agentMessage(run, [{ data }], suffix), timestamp: new Date().toISOString() } },
  });
  yield { task: taskOf(run) };
  let append = false;
  let answered = false;
  for await (const update of handle.updates) {
    if (update.type === 'text') {
      yield { artifactUpdate: { ...ids, artifact: answerArtifact(run, update.delta), append, lastChunk: false } };
      append = answered = true;
    } else if (update.type === 'tool_call') {
      yield working({ tool_call: { id: update.call.id, name: update.call.name, arguments: update.call.arguments } }, `${update.call.id}.call`);
      append = false;
    } else if (update.type === 'tool_result') {
      yield working({ tool_result: { id: update.id, name: update.name, output: update.output, is_error: update.is_error } }, `${update.id}.result`);
    } else if (update.type === 'approval_requested') {
      // The stream stays open: once the call is decided the task goes on, and so do its updates.
      yield { statusUpdate: { ...ids, status: inputRequired(run, update.approval) } };
      append = false;
    } else if (update.type === 'done') {
      if (answered) yield { artifactUpdate: { ...ids, artifact: answerArtifact(run, ''), append: true, lastChunk: true } };
      yield { statusUpdate: { ...ids, status: taskStatusOf(update.run) } };
      return;
    }
  }
}

/**
 * How a version's answers are written: 1.0 as the run mapping makes them, 0.3 in its own shapes (kinds, lower-case
 * roles and states, `final` on the last status). Requests, errors and the run mapping are the same for both.
 */
interface Codec {
  sent(id: RpcId, task: Task): A2aResponse;
  task(id: RpcId, task: Task): A2aResponse;
  event(id: RpcId, event: StreamResponse): A2aStreamEvent;
}
const V1: Codec = {
  sent: (id, task) => ({ jsonrpc: '2.0', id, result: { task } }),
  task: (id, task) => ({ jsonrpc: '2.0', id, result: task }),
  event: (id, event) => ({ jsonrpc: '2.0', id, result: event }),
};
const V03: Codec = {
  sent: (id, task) => ({ jsonrpc: '2.0', id, result: v03TaskOf(task) }),
  task: (id, task) => ({ jsonrpc: '2.0', id, result: v03TaskOf(task) }),
  event: (id, event) => ({ jsonrpc: '2.0', id, result: v03EventOf(event) }),
};

/** A 0.3 request as its 1.0 request. */
function v1RequestOf(request: A2aV03Request): A2aV1Request {
  const { jsonrpc, id } = request;
  switch (request.method) {
    case 'message/send':
      return { jsonrpc, id, method: 'SendMessage', params: sendParamsOfV03(request.params) };
    case 'message/stream':
      return { jsonrpc, id, method: 'SendStreamingMessage', params: sendParamsOfV03(request.params) };
    case 'tasks/get':
      return { jsonrpc, id, method: 'GetTask', params: request.params };
    case 'tasks/cancel':
      return { jsonrpc, id, method: 'CancelTask', params: request.params };
  }
}

async function streamTask(id: RpcId, handle: RunHandle, codec: Codec, request: FastifyRequest, reply: FastifyReply, services: Services): Promise<void> {
  const stream = openSse(request, reply, { keepAliveMs: services.events.options.keepAliveMs });
  try {
    for await (const event of taskEvents(handle)) {
      if (!(await stream.send({ data: codec.event(id, event) }))) return;
    }
  } finally {
    stream.close();
  }
}

export const agentCardRoute = defineRawRoute({
  id: 'agentToAgent.card',
  method: 'GET',
  path: '/a2a/{name}/.well-known/agent-card.json',
  tags: [TAG],
  summary: "An agent's A2A agent card",
  description:
    `The Agent2Agent ${A2A_PROTOCOL_VERSION} card of the agent: its JSON-RPC endpoint (POST /a2a/{name}), streaming, and the ` +
    'bearer token it takes; `url`, `preferredTransport` and `protocolVersion` name the same endpoint to A2A 0.3 clients. ' +
    'Point an A2A client at this URL.',
  scope: 'agents:read',
  rateLimit: 'read',
  request: { params: AgentRef },
  responses: { 200: { description: 'The card', contentType: 'application/json', schema: AgentCard } },
  errors: ['AGENT_NOT_FOUND'],
  async handler({ params }, request, reply, services) {
    const agent = await services.agents.get(params.name);
    const origin = originOf(request);
    return reply.type(JSON_CONTENT_TYPE).send(agentCardOf(agent, `${origin}/a2a/${agent.name}`, origin, VERSION, services.auth.open));
  },
});

export const agentRpcRoute = defineRawRoute({
  id: 'agentToAgent.rpc',
  method: 'POST',
  path: '/a2a/{name}',
  tags: [TAG],
  summary: 'Talk to an agent over A2A (JSON-RPC)',
  description:
    `Agent2Agent ${A2A_PROTOCOL_VERSION} over JSON-RPC; a task is a run (its id the run id, its contextId the session). ` +
    'SendMessage answers `{task}` when the run ends (at once with `configuration.returnImmediately`); SendStreamingMessage ' +
    'answers Server-Sent Events, each a JSON-RPC response carrying the task, artifact chunks of the answer, tool activity as ' +
    '`working` status updates and the final status; GetTask reads a task, CancelTask cancels it. A2A failures are JSON-RPC ' +
    'errors with status 200: -32001 task not found, -32002 not cancelable, -32004 unsupported, -32009 version not supported; ' +
    'so is a request it cannot take: -32700 a body that is not JSON, -32600 not a JSON-RPC request, -32601 an unknown method, ' +
    '-32602 invalid params. ' +
    'A2A 0.3 clients are answered on the same endpoint: `message/send` (the task; at once with `configuration.blocking: false`), ' +
    '`message/stream` (the task, `artifact-update`s and `status-update`s, the last one `final`), `tasks/get` and `tasks/cancel`, ' +
    'in 0.3 shapes (`kind` on parts, messages, tasks and events; roles `user`/`agent`; states such as `completed`) with the ' +
    'same error codes. Push notifications are not supported.',
  scope: 'chat',
  rateLimit: 'chat',
  request: { params: AgentRef, headers: A2aRequestHeaders, body: { contentType: 'application/json', schema: A2aRequest } },
  responses: {
    200: {
      description: 'The JSON-RPC answer, or for SendStreamingMessage the task as it goes',
      contentType: 'application/json',
      schema: A2aResponse,
      alternatives: [{ contentType: 'text/event-stream', schema: A2aStreamEvent }],
    },
  },
  errors: ['AGENT_NOT_FOUND', 'SESSION_BUSY'],
  ownErrorCodes: ['VALIDATION_ERROR', 'INVALID_JSON'],
  errorResponse: rpcRequestFailure,
  async handler({ params, body: sent }, request, reply, services) {
    const agent = (await services.agents.get(params.name)).name;
    const v03 = isV03Request(sent);
    const [body, codec] = v03 ? [v1RequestOf(sent), V03] : [sent, V1];
    const version = headersOf(A2aRequestHeaders, request)['a2a-version'];
    try {
      if (!v03 && version !== undefined && version.split('.')[0] !== A2A_PROTOCOL_VERSION.split('.')[0]) {
        throw new RpcFailure(A2A_ERRORS.VERSION_NOT_SUPPORTED, `A2A version ${version} is not supported: this server speaks ${A2A_PROTOCOL_VERSION}`);
      }
      switch (body.method) {
        case 'SendMessage': {
          const handle = await startTask(services, agent, body.params);
          const run = body.params.configuration?.returnImmediately ? handle.run : (await handle.done).run;
          return sendRpc(reply, codec.sent(body.id, taskOf(run, body.params.configuration?.historyLength)));
        }
        case 'SendStreamingMessage':
          return streamTask(body.id, await startTask(services, agent, body.params), codec, request, reply, services);
        case 'GetTask':
          return sendRpc(reply, codec.task(body.id, taskOf(await taskRun(services, agent, body.params.id), body.params.historyLength)));
        case 'CancelTask':
          return sendRpc(reply, codec.task(body.id, taskOf(await cancelTask(services, agent, body.params.id))));
      }
    } catch (error) {
      if (!(error instanceof RpcFailure)) throw error;
      return sendRpc(reply, { jsonrpc: '2.0', id: body.id, error: { code: error.code, message: error.message } });
    }
  },
});

export const a2aRoutes: RawRouteSpec[] = [agentCardRoute, agentRpcRoute];
