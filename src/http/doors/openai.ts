/**
 * The OpenAI-compatible door: GET /v1/models lists the agents as models and POST /v1/chat/completions runs a turn of
 * one, so whatever speaks OpenAI's API reaches an agent with a base URL and a token. A codec over the runtime, behind
 * the pipeline's auth and rate limits like every route; only the shapes are OpenAI's, failures included.
 */
import type { Agent } from '../../domain/agents.ts';
import type { Run } from '../../domain/chat.ts';
import { ERROR_STATUS, type ErrorCode } from '../../domain/errors.ts';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionHeaders,
  ChatCompletionRequest,
  OpenAiError,
  OpenAiModel,
  OpenAiModelList,
  OpenAiModelRef,
  openAiError,
  toOpenAiUsage,
  turnOf,
  type FinishReason,
  type ToolActivity,
} from '../../domain/openai.ts';
import type { Services } from '../../services/container.ts';
import type { RunHandle, StartRunInput } from '../../services/runtime/runtime.ts';
import { HEADER_COMPONENTS, operationErrorCodes } from '../openapi.ts';
import { defineRawRoute, type RawResponseSpec, type RawRouteSpec } from '../raw-routes.ts';
import { openSse } from '../sse.ts';
import { headersOf } from './headers.ts';
import { JSON_CONTENT_TYPE } from '../content-type.ts';

const TAG = 'openai';
const SOURCE = 'openai';

/** Failures answered on the socket before there is a request to route (src/http/errors.ts): the envelope, on any path. */
const BEFORE_ROUTING: readonly ErrorCode[] = ['REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE'];

/** What a 401 and a 429 carry besides their body (src/http/auth.ts, src/http/rate-limit.ts), documented as for the envelope. */
const ERROR_HEADERS: Partial<Record<number, RawResponseSpec['headers']>> = {
  401: { 'WWW-Authenticate': HEADER_COMPONENTS['WWW-Authenticate'] },
  429: { 'Retry-After': HEADER_COMPONENTS['Retry-After'] },
};

/** The route with every failure (auth, rate limits, body limits, the handler's) answered as OpenAI does, and so documented. */
function openAiRoute<P, Q, B>(spec: RawRouteSpec<P, Q, B>): RawRouteSpec<P, Q, B> {
  const codes = operationErrorCodes({
    errors: spec.errors,
    hasInput: Boolean(spec.request?.params ?? spec.request?.query ?? spec.request?.body),
    hasBody: spec.request?.body !== undefined,
    scope: spec.scope,
    rateLimit: spec.rateLimit,
    changesState: spec.method !== 'GET',
  }).filter((code) => !BEFORE_ROUTING.includes(code));
  const rawErrors: Record<number, RawResponseSpec> = {};
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    const description = rawErrors[status] ? `${rawErrors[status].description}, ${code}` : code;
    rawErrors[status] = { description, contentType: 'application/json', schema: OpenAiError, ...(ERROR_HEADERS[status] ? { headers: ERROR_HEADERS[status] } : {}) };
  }
  return { ...spec, rawErrors, errorResponse: (error) => ({ status: error.status, body: openAiError(error.code, error.message, error.details) }) };
}

const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

const modelOf = (agent: Agent): OpenAiModel => ({ id: agent.name, object: 'model', created: unixSeconds(agent.created_at), owned_by: 'moxxy' });

async function allAgents(services: Services): Promise<Agent[]> {
  const agents: Agent[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await services.agents.list({ limit: 100, offset });
    agents.push(...page.agents);
    if (page.pagination.next_offset === null) return agents;
  }
}

/**
 * The run a request asks for. Without a session the conversation is the request's own: everything before the last
 * user message is the run's history, in a new session. With one, the session holds the history.
 */
function runInputOf(body: ChatCompletionRequest, session: string | undefined): StartRunInput {
  const turn = turnOf(body.messages);
  return {
    agent: body.model,
    source: SOURCE,
    message: turn.message,
    ...(body.user ? { user_id: body.user } : {}),
    ...(session ? { session_id: session } : { history: turn.history }),
    ...(turn.instructions ? { context: { instructions: turn.instructions } } : {}),
    // OpenAI's shapes have no place for a call waiting for a person: a tool policy's `ask` means deny here.
    noApprover: true,
  };
}

/** `length` when the agent ran out of steps: its last step was a tool call rather than an answer. */
const finishReasonOf = (run: Run): FinishReason => (run.status === 'completed' && run.steps.at(-1)?.type === 'tool' ? 'length' : 'stop');

function toolActivityOf(run: Run): ToolActivity[] {
  return run.steps.flatMap((step) =>
    step.type === 'tool' ? [{ id: step.tool_call_id, name: step.name, arguments: step.arguments, output: step.output, is_error: step.is_error }] : [],
  );
}

function completionOf(run: Run, model: string): ChatCompletion {
  return {
    id: run.id,
    object: 'chat.completion',
    created: unixSeconds(run.created_at),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: run.output ?? '', refusal: null }, finish_reason: finishReasonOf(run), logprobs: null }],
    usage: toOpenAiUsage(run.usage),
    moxxy: { session_id: run.session_id, tools: toolActivityOf(run) },
  };
}

const asErrorCode = (code: string | undefined): ErrorCode => (code !== undefined && code in ERROR_STATUS ? (code as ErrorCode) : 'INTERNAL_ERROR');

/**
 * A run's live updates as OpenAI's stream: the role (with the session), content deltas, tool activity, the finish
 * reason, usage when asked for, then `[DONE]`. A run that fails ends with OpenAI's error object instead.
 */
async function* completionChunks(handle: RunHandle, model: string, includeUsage: boolean): AsyncGenerator<ChatCompletionChunk | OpenAiError | '[DONE]'> {
  const { run } = handle;
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finish_reason: FinishReason | null, moxxy?: ChatCompletionChunk['moxxy']): ChatCompletionChunk => ({
    id: run.id,
    object: 'chat.completion.chunk',
    created: unixSeconds(run.created_at),
    model,
    choices: [{ index: 0, delta, finish_reason, logprobs: null }],
    ...(moxxy ? { moxxy } : {}),
  });
  yield chunk({ role: 'assistant', content: '' }, null, { session_id: run.session_id });
  for await (const update of handle.updates) {
    if (update.type === 'text') {
      yield chunk({ content: update.delta }, null);
    } else if (update.type === 'tool_call') {
      yield chunk({}, null, { tool_call: { id: update.call.id, name: update.call.name, arguments: update.call.arguments } });
    } else if (update.type === 'tool_result') {
      yield chunk({}, null, { tool_result: { id: update.id, name: update.name, output: update.output, is_error: update.is_error } });
    } else if (update.type === 'done') {
      const ended = update.run;
      if (ended.status === 'failed') {
        yield openAiError(asErrorCode(ended.error?.code), ended.error?.message ?? 'The run failed');
        return;
      }
      yield chunk({}, finishReasonOf(ended));
      if (includeUsage) yield { ...chunk({}, null), choices: [], usage: toOpenAiUsage(ended.usage) };
      yield '[DONE]';
      return;
    }
  }
}

export const listModelsRoute = openAiRoute(
  defineRawRoute({
    id: 'openai.listModels',
    method: 'GET',
    path: '/v1/models',
    tags: [TAG],
    summary: 'List the agents as OpenAI models',
    description: 'OpenAI\'s `GET /v1/models`: every agent is a model, its name the id. Failures answer OpenAI\'s `{"error": {...}}`.',
    scope: 'agents:read',
    rateLimit: 'read',
    responses: { 200: { description: 'The agents', contentType: 'application/json', schema: OpenAiModelList } },
    handler: async (_input, _request, reply, services) =>
      reply.type(JSON_CONTENT_TYPE).send({ object: 'list', data: (await allAgents(services)).map(modelOf) }),
  }),
);

export const getModelRoute = openAiRoute(
  defineRawRoute({
    id: 'openai.getModel',
    method: 'GET',
    path: '/v1/models/{model}',
    tags: [TAG],
    summary: 'Get an agent as an OpenAI model',
    description: '404 with code `model_not_found` for an unknown agent.',
    scope: 'agents:read',
    rateLimit: 'read',
    request: { params: OpenAiModelRef },
    responses: { 200: { description: 'The agent', contentType: 'application/json', schema: OpenAiModel } },
    errors: ['AGENT_NOT_FOUND'],
    handler: async ({ params }, _request, reply, services) => reply.type(JSON_CONTENT_TYPE).send(modelOf(await services.agents.get(params.model))),
  }),
);

export const chatCompletionsRoute = openAiRoute(
  defineRawRoute({
    id: 'openai.chatCompletions',
    method: 'POST',
    path: '/v1/chat/completions',
    tags: [TAG],
    summary: 'Run a turn of an agent, as OpenAI Chat Completions',
    description:
      "OpenAI's `POST /v1/chat/completions` with `model` naming the agent. The agent's system prompt, memory recall and tools run " +
      'on the server; tool activity is reported in `moxxy` and is never `tool_calls` for the client to run. `"stream": true` ' +
      'answers `chat.completion.chunk` events ending with `data: [DONE]`; a run failing midway ends the stream with ' +
      '`data: {"error": {...}}` instead. Failures answer OpenAI\'s `{"error": {"message", "type", "param", "code"}}` with its ' +
      'statuses: 401 invalid_api_key, 404 model_not_found, 429 rate_limit_exceeded, 400 for invalid input.',
    scope: 'chat',
    rateLimit: 'chat',
    request: { headers: ChatCompletionHeaders, body: { contentType: 'application/json', schema: ChatCompletionRequest } },
    responses: {
      200: {
        description: 'The answer, or with `"stream": true` the answer as it is produced',
        contentType: 'application/json',
        schema: ChatCompletion,
        alternatives: [{ contentType: 'text/event-stream', schema: ChatCompletionChunk }],
        headers: { 'X-Session-Id': { description: 'The session the turn ran in: send it back to continue there.', schema: { type: 'string' } } },
      },
    },
    errors: ['AGENT_NOT_FOUND', 'SESSION_BUSY', 'PROVIDER_ERROR', 'PROVIDER_NOT_CONFIGURED'],
    async handler({ body }, request, reply, services) {
      const input = runInputOf(body, headersOf(ChatCompletionHeaders, request)['x-session-id']);
      if (!body.stream) {
        const answer = await services.runtime.chat(input);
        return reply.header('x-session-id', answer.session_id).type(JSON_CONTENT_TYPE).send(completionOf(await services.runtime.get(answer.run_id), body.model));
      }
      const handle = await services.runtime.start(input);
      reply.header('x-session-id', handle.run.session_id);
      const stream = openSse(request, reply, { keepAliveMs: services.events.options.keepAliveMs });
      try {
        for await (const data of completionChunks(handle, body.model, body.stream_options?.include_usage === true)) {
          if (!(await stream.send({ data }))) return;
        }
      } finally {
        stream.close();
      }
    },
  }),
);

export const openAiRoutes: RawRouteSpec[] = [listModelsRoute, getModelRoute, chatCompletionsRoute];
