/**
 * The A2A door's shapes (Agent2Agent protocol 1.0, JSON-RPC binding, in its JSON field names): agent cards, messages
 * and tasks. A task is a run: its id is the run's, its contextId the run's session, its state the run's status.
 */
import { z } from 'zod';
import type { Agent } from './agents.ts';
import type { Approval } from './approvals.ts';
import { SessionId, type Run, type RunStatus } from './chat.ts';
import {
  A2A_V03_PROTOCOL_VERSION,
  A2aV03CancelTaskRequest,
  A2aV03GetTaskRequest,
  A2aV03SendRequest,
  A2aV03StreamRequest,
  A2aV03StreamResult,
  A2aV03SuccessResponse,
} from './a2a-v03.ts';

export const A2A_PROTOCOL_VERSION = '1.0';

const Metadata = z.record(z.string(), z.unknown());
const JsonRpcId = z.union([z.string().max(200), z.number().int()]);

const TextPart = z.object({ text: z.string().max(32_000), mediaType: z.string().max(200).optional(), metadata: Metadata.optional() }).meta({ id: 'A2aTextPart' });
const JsonValue = z.union([Metadata, z.array(z.unknown()), z.string(), z.number(), z.boolean()]);
const DataPart = z.object({ data: JsonValue, mediaType: z.string().max(200).optional(), metadata: Metadata.optional() }).meta({ id: 'A2aDataPart' });
const A2aPart = z.union([TextPart, DataPart]).describe('Text, or structured data (sent to the agent as JSON); files are not accepted.').meta({ id: 'A2aPart' });
export type A2aPart = z.infer<typeof A2aPart>;

const A2aRole = z.enum(['ROLE_USER', 'ROLE_AGENT']);

const A2aMessage = z
  .object({
    messageId: z.string().min(1).max(200),
    contextId: SessionId.optional().describe('The conversation: the session the run takes place in (a new one when absent).'),
    taskId: z.string().max(200).optional().describe('Not accepted on a message sent here: a task ends with its turn.'),
    role: A2aRole,
    parts: z.array(A2aPart).min(1).max(100),
    metadata: Metadata.optional(),
  })
  .meta({ id: 'A2aMessage' });

export const SendMessageParams = z.object({
  message: A2aMessage.extend({ role: z.literal('ROLE_USER') }),
  configuration: z
    .object({
      returnImmediately: z.boolean().optional().describe('Answer with the task as soon as it starts, instead of when it ends.'),
      historyLength: z.number().int().min(0).optional(),
    })
    .optional(),
  metadata: Metadata.optional(),
});
export type SendMessageParams = z.infer<typeof SendMessageParams>;

const TaskRef = z.object({ id: z.string().min(1).max(100).describe('The task: a run id.') });
const GetTaskParams = TaskRef.extend({ historyLength: z.number().int().min(0).optional() });
const CancelTaskParams = TaskRef.extend({ metadata: Metadata.optional() });

const rpc = <M extends string, P extends z.ZodType>(method: M, params: P) =>
  z.object({ jsonrpc: z.literal('2.0'), id: JsonRpcId, method: z.literal(method), params }).meta({ id: `A2a${method}Request` });

export const A2aRequest = z
  .discriminatedUnion(
    'method',
    [
      rpc('SendMessage', SendMessageParams),
      rpc('SendStreamingMessage', SendMessageParams),
      rpc('GetTask', GetTaskParams),
      rpc('CancelTask', CancelTaskParams),
      A2aV03SendRequest,
      A2aV03StreamRequest,
      A2aV03GetTaskRequest,
      A2aV03CancelTaskRequest,
    ],
    { error: 'method must be SendMessage, SendStreamingMessage, GetTask or CancelTask (A2A 1.0), or message/send, message/stream, tasks/get or tasks/cancel (A2A 0.3)' },
  )
  .meta({ id: 'A2aRequest' });
export type A2aRequest = z.infer<typeof A2aRequest>;
/** The requests of A2A 1.0, which a 0.3 request is read as. */
export type A2aV1Request = Extract<A2aRequest, { method: 'SendMessage' | 'SendStreamingMessage' | 'GetTask' | 'CancelTask' }>;

export const A2aRequestHeaders = z.object({
  'a2a-version': z
    .string()
    .max(20)
    .optional()
    .describe(`The protocol version a 1.0 client speaks; ${A2A_PROTOCOL_VERSION} here (JSON-RPC error -32009 otherwise). Not read for 0.3's methods.`),
});

const TaskState = z.enum(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED']);
export type TaskState = z.infer<typeof TaskState>;

const TASK_STATE: Record<RunStatus, TaskState> = {
  queued: 'TASK_STATE_SUBMITTED',
  running: 'TASK_STATE_WORKING',
  awaiting_approval: 'TASK_STATE_INPUT_REQUIRED',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  cancelled: 'TASK_STATE_CANCELED',
};

const OutMessage = A2aMessage.extend({ taskId: z.string() });
export type OutMessage = z.infer<typeof OutMessage>;
const TaskStatus = z.object({ state: TaskState, message: OutMessage.optional().describe('Why the task failed, or what it is doing.'), timestamp: z.string() });
export type TaskStatus = z.infer<typeof TaskStatus>;

const Artifact = z
  .object({ artifactId: z.string(), name: z.string(), parts: z.array(A2aPart) })
  .describe("The agent's answer: the text of the run's last step.")
  .meta({ id: 'A2aArtifact' });
export type Artifact = z.infer<typeof Artifact>;

const Task = z
  .object({
    id: z.string().describe('The run id: GET /api/runs/{id} has its steps.'),
    contextId: z.string().describe('The session id.'),
    status: TaskStatus,
    artifacts: z.array(Artifact).optional(),
    history: z.array(OutMessage).optional().describe("The message the task answers."),
    metadata: z.object({ agent: z.string(), usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }) }),
  })
  .meta({ id: 'A2aTask' });
export type Task = z.infer<typeof Task>;

const TaskEvent = z.object({ taskId: z.string(), contextId: z.string() });
const TaskResult = z.object({ task: Task }).meta({ id: 'A2aTaskResult' });
export const StreamResponse = z
  .union([
    TaskResult,
    z.object({ statusUpdate: TaskEvent.extend({ status: TaskStatus }) }).meta({ id: 'A2aTaskStatusUpdate' }),
    z.object({ artifactUpdate: TaskEvent.extend({ artifact: Artifact, append: z.boolean(), lastChunk: z.boolean() }) }).meta({ id: 'A2aTaskArtifactUpdate' }),
  ])
  .meta({ id: 'A2aStreamResponse' });
export type StreamResponse = z.infer<typeof StreamResponse>;

/** JSON-RPC errors A2A defines, and the JSON-RPC ones it uses. */
export const A2A_ERRORS = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  TASK_NOT_FOUND: -32001,
  TASK_NOT_CANCELABLE: -32002,
  UNSUPPORTED_OPERATION: -32004,
  VERSION_NOT_SUPPORTED: -32009,
} as const;

const JsonRpcError = z.object({ code: z.number().int(), message: z.string() });
const A2aErrorResponse = z.object({ jsonrpc: z.literal('2.0'), id: JsonRpcId.nullable(), error: JsonRpcError }).meta({ id: 'A2aErrorResponse' });

export const A2aResponse = z
  .union([
    z
      .object({ jsonrpc: z.literal('2.0'), id: JsonRpcId, result: z.union([TaskResult, Task]).describe('SendMessage: {task}; GetTask and CancelTask: the task.') })
      .meta({ id: 'A2aSuccessResponse' }),
    A2aV03SuccessResponse,
    A2aErrorResponse,
  ])
  .meta({ id: 'A2aResponse' });
export type A2aResponse = z.infer<typeof A2aResponse>;

export const A2aStreamEvent = z
  .union([
    z.object({ jsonrpc: z.literal('2.0'), id: JsonRpcId, result: StreamResponse }).meta({ id: 'A2aStreamResult' }),
    A2aV03StreamResult,
    A2aErrorResponse,
  ])
  .meta({ id: 'A2aStreamEvent' });
export type A2aStreamEvent = z.infer<typeof A2aStreamEvent>;

const SecurityRequirement = z.object({ schemes: z.record(z.string(), z.object({ list: z.array(z.string()) })) });

export const AgentCard = z
  .object({
    name: z.string(),
    description: z.string(),
    supportedInterfaces: z.array(z.object({ url: z.string(), protocolBinding: z.literal('JSONRPC'), protocolVersion: z.literal(A2A_PROTOCOL_VERSION) })),
    url: z.string().describe('A2A 0.3: the JSON-RPC endpoint (the same one), for clients that read 0.3 cards.'),
    preferredTransport: z.literal('JSONRPC').describe('A2A 0.3: the transport at `url`.'),
    protocolVersion: z.literal(A2A_V03_PROTOCOL_VERSION).describe('A2A 0.3: the version of the 0.3 fields (`url`, `preferredTransport`); 1.0 clients read `supportedInterfaces`.'),
    provider: z.object({ organization: z.string(), url: z.string() }),
    version: z.string(),
    capabilities: z.object({ streaming: z.literal(true), pushNotifications: z.literal(false) }),
    securitySchemes: z.record(z.string(), z.object({ httpAuthSecurityScheme: z.object({ scheme: z.literal('Bearer'), description: z.string() }) })),
    securityRequirements: z.array(SecurityRequirement).describe('Empty when the server takes requests without credentials (open on loopback).'),
    defaultInputModes: z.array(z.string()),
    defaultOutputModes: z.array(z.string()),
    skills: z.array(z.object({ id: z.string(), name: z.string(), description: z.string(), tags: z.array(z.string()) })),
  })
  .meta({ id: 'A2aAgentCard' });
export type AgentCard = z.infer<typeof AgentCard>;

/** The card of an agent served at `url` (its JSON-RPC endpoint) by a server at `origin`. */
export function agentCardOf(agent: Agent, url: string, origin: string, version: string, open: boolean): AgentCard {
  return {
    name: agent.name,
    description: agent.description || `The ${agent.name} agent`,
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', protocolVersion: A2A_PROTOCOL_VERSION }],
    url,
    preferredTransport: 'JSONRPC',
    protocolVersion: A2A_V03_PROTOCOL_VERSION,
    provider: { organization: 'Moxxy', url: origin },
    version,
    capabilities: { streaming: true, pushNotifications: false },
    securitySchemes: { moxxyToken: { httpAuthSecurityScheme: { scheme: 'Bearer', description: 'A Moxxy API token with the chat scope.' } } },
    securityRequirements: open ? [] : [{ schemes: { moxxyToken: { list: ['chat'] } } }],
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: 'chat', name: agent.display_name ?? agent.name, description: agent.description || `Talk with ${agent.name}`, tags: ['chat'] }],
  };
}

/** What the agent is told: text parts as they are, data parts as JSON, one per line. */
export function textOfParts(parts: readonly A2aPart[]): string {
  return parts.map((part) => ('text' in part ? part.text : JSON.stringify(part.data))).join('\n');
}

export const answerArtifact = (run: Pick<Run, 'id'>, text: string): Artifact => ({ artifactId: `${run.id}.answer`, name: 'answer', parts: [{ text }] });

export function agentMessage(run: Pick<Run, 'id' | 'session_id'>, parts: A2aPart[], suffix: string): z.infer<typeof OutMessage> {
  return { messageId: `${run.id}.${suffix}`, contextId: run.session_id, taskId: run.id, role: 'ROLE_AGENT', parts };
}

export function taskStatusOf(run: Run): TaskStatus {
  const timestamp = (run.completed_at ?? run.started_at ?? run.created_at).toISOString();
  const state = TASK_STATE[run.status];
  if (run.status === 'awaiting_approval' && run.pending_approval) return inputRequired(run, run.pending_approval);
  return run.error ? { state, message: agentMessage(run, [{ text: run.error.message }], 'error'), timestamp } : { state, timestamp };
}

/**
 * A task paused on a tool call a person must approve (the agent's tool policy says `ask`): what waits, and where it
 * is decided. Whoever decides (the console, a channel, an operator with approvals:write), the task goes on as decided,
 * and a stream reading it goes on too.
 */
export function inputRequired(run: Pick<Run, 'id' | 'session_id'>, approval: Approval): TaskStatus {
  const text =
    `Waiting for a person to approve the call of ${approval.tool} (until ${approval.expires_at.toISOString()}, then denied): ` +
    `POST /api/runs/${run.id}/approvals/${approval.call_id} with {"decision": "approve"} or {"decision": "deny"}.`;
  const pending = {
    call_id: approval.call_id,
    tool: approval.tool,
    arguments: (approval.arguments ?? {}) as z.infer<typeof JsonValue>,
    created_at: approval.created_at.toISOString(),
    expires_at: approval.expires_at.toISOString(),
  };
  return {
    state: 'TASK_STATE_INPUT_REQUIRED',
    message: agentMessage(run, [{ text }, { data: { pending_approval: pending } }], `${approval.call_id}.approval`),
    timestamp: approval.created_at.toISOString(),
  };
}

/** A run as a task; `historyLength` 0 leaves the message it answers out. */
export function taskOf(run: Run, historyLength?: number): Task {
  const input: z.infer<typeof OutMessage> = { messageId: `${run.id}.input`, contextId: run.session_id, taskId: run.id, role: 'ROLE_USER', parts: [{ text: run.input }] };
  return {
    id: run.id,
    contextId: run.session_id,
    status: taskStatusOf(run),
    ...(run.output ? { artifacts: [answerArtifact(run, run.output)] } : {}),
    ...(historyLength === 0 ? {} : { history: [input] }),
    metadata: { agent: run.agent_id, usage: run.usage },
  };
}
