/**
 * The A2A door's second codec: Agent2Agent protocol 0.3 over JSON-RPC (`message/send`, `message/stream`, `tasks/get`,
 * `tasks/cancel`), which @a2a-js/sdk 0.3.x, Mastra and LangGraph clients speak. Only the shapes differ from 1.0 (kinds
 * on parts, messages, tasks and stream events; lower-case roles and states): a 0.3 request is read as its 1.0 request,
 * and the 1.0 answer written out in 0.3's shapes, so a task is a run here exactly as it is there.
 */
import { z } from 'zod';
import { SessionId } from './chat.ts';
import type { A2aPart, Artifact, OutMessage, SendMessageParams, StreamResponse, Task, TaskState, TaskStatus } from './a2a.ts';

export const A2A_V03_PROTOCOL_VERSION = '0.3.0';

const Metadata = z.record(z.string(), z.unknown());
const JsonRpcId = z.union([z.string().max(200), z.number().int()]);

const V03TextPart = z
  .object({ kind: z.literal('text'), text: z.string().max(32_000), metadata: Metadata.optional() })
  .meta({ id: 'A2aV03TextPart' });
const V03DataPart = z
  .object({ kind: z.literal('data'), data: Metadata, metadata: Metadata.optional() })
  .meta({ id: 'A2aV03DataPart' });
const V03Part = z
  .discriminatedUnion('kind', [V03TextPart, V03DataPart], { error: 'part kind must be text or data: files are not accepted' })
  .describe('Text, or structured data (sent to the agent as JSON); files are not accepted.')
  .meta({ id: 'A2aV03Part' });
type V03Part = z.infer<typeof V03Part>;

const V03Message = z
  .object({
    kind: z.literal('message'),
    messageId: z.string().min(1).max(200),
    contextId: SessionId.optional().describe('The conversation: the session the run takes place in (a new one when absent).'),
    taskId: z.string().max(200).optional().describe('Not accepted on a message sent here: a task ends with its turn.'),
    role: z.enum(['user', 'agent']),
    parts: z.array(V03Part).min(1).max(100),
    referenceTaskIds: z.array(z.string().max(200)).max(100).optional(),
    extensions: z.array(z.string().max(500)).max(20).optional(),
    metadata: Metadata.optional(),
  })
  .meta({ id: 'A2aV03Message' });

const V03MessageSendParams = z.object({
  message: V03Message.extend({ role: z.literal('user') }),
  configuration: z
    .object({
      blocking: z.boolean().optional().describe('false: answer with the task as soon as it starts, instead of when it ends.'),
      historyLength: z.number().int().min(0).optional(),
      acceptedOutputModes: z.array(z.string().max(200)).max(50).optional(),
    })
    .optional(),
  metadata: Metadata.optional(),
});
type V03MessageSendParams = z.infer<typeof V03MessageSendParams>;

const V03TaskQueryParams = z.object({
  id: z.string().min(1).max(100).describe('The task: a run id.'),
  historyLength: z.number().int().min(0).optional(),
  metadata: Metadata.optional(),
});
const V03TaskIdParams = z.object({ id: z.string().min(1).max(100).describe('The task: a run id.'), metadata: Metadata.optional() });

const rpc = <M extends string, P extends z.ZodType>(method: M, id: string, params: P) =>
  z.object({ jsonrpc: z.literal('2.0'), id: JsonRpcId, method: z.literal(method), params }).meta({ id });

export const A2aV03SendRequest = rpc('message/send', 'A2aV03MessageSendRequest', V03MessageSendParams);
export const A2aV03StreamRequest = rpc('message/stream', 'A2aV03MessageStreamRequest', V03MessageSendParams);
export const A2aV03GetTaskRequest = rpc('tasks/get', 'A2aV03TasksGetRequest', V03TaskQueryParams);
export const A2aV03CancelTaskRequest = rpc('tasks/cancel', 'A2aV03TasksCancelRequest', V03TaskIdParams);
export type A2aV03Request =
  | z.infer<typeof A2aV03SendRequest>
  | z.infer<typeof A2aV03StreamRequest>
  | z.infer<typeof A2aV03GetTaskRequest>
  | z.infer<typeof A2aV03CancelTaskRequest>;

export const A2A_V03_METHODS = ['message/send', 'message/stream', 'tasks/get', 'tasks/cancel'] as const;

const V03TaskState = z.enum(['submitted', 'working', 'input-required', 'completed', 'failed', 'canceled']);
type V03TaskState = z.infer<typeof V03TaskState>;

const STATE: Record<TaskState, V03TaskState> = {
  TASK_STATE_SUBMITTED: 'submitted',
  TASK_STATE_WORKING: 'working',
  TASK_STATE_INPUT_REQUIRED: 'input-required',
  TASK_STATE_COMPLETED: 'completed',
  TASK_STATE_FAILED: 'failed',
  TASK_STATE_CANCELED: 'canceled',
};

const V03OutMessage = V03Message.extend({ role: z.enum(['user', 'agent']), taskId: z.string(), contextId: z.string() });
const V03TaskStatus = z
  .object({ state: V03TaskState, message: V03OutMessage.optional().describe('Why the task failed, or what it is doing.'), timestamp: z.string() })
  .meta({ id: 'A2aV03TaskStatus' });
type V03TaskStatus = z.infer<typeof V03TaskStatus>;

const V03Artifact = z
  .object({ artifactId: z.string(), name: z.string(), parts: z.array(V03Part) })
  .describe("The agent's answer: the text of the run's last step.")
  .meta({ id: 'A2aV03Artifact' });

export const A2aV03Task = z
  .object({
    kind: z.literal('task'),
    id: z.string().describe('The run id: GET /api/runs/{id} has its steps.'),
    contextId: z.string().describe('The session id.'),
    status: V03TaskStatus,
    artifacts: z.array(V03Artifact).optional(),
    history: z.array(V03OutMessage).optional().describe('The message the task answers.'),
    metadata: z.object({ agent: z.string(), usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }) }),
  })
  .meta({ id: 'A2aV03Task' });
type A2aV03Task = z.infer<typeof A2aV03Task>;

const V03TaskEvent = z.object({ taskId: z.string(), contextId: z.string() });
const V03StreamResponse = z
  .union([
    A2aV03Task,
    V03TaskEvent.extend({ kind: z.literal('status-update'), status: V03TaskStatus, final: z.boolean().describe('The last event of the stream.') }).meta({
      id: 'A2aV03TaskStatusUpdateEvent',
    }),
    V03TaskEvent.extend({ kind: z.literal('artifact-update'), artifact: V03Artifact, append: z.boolean(), lastChunk: z.boolean() }).meta({
      id: 'A2aV03TaskArtifactUpdateEvent',
    }),
  ])
  .meta({ id: 'A2aV03StreamResponse' });
type V03StreamResponse = z.infer<typeof V03StreamResponse>;

export const A2aV03SuccessResponse = z
  .object({ jsonrpc: z.literal('2.0'), id: JsonRpcId, result: A2aV03Task.describe('message/send, tasks/get and tasks/cancel: the task.') })
  .meta({ id: 'A2aV03SuccessResponse' });
export const A2aV03StreamResult = z.object({ jsonrpc: z.literal('2.0'), id: JsonRpcId, result: V03StreamResponse }).meta({ id: 'A2aV03StreamResult' });

export const isV03Request = (request: { method: string }): request is A2aV03Request => (A2A_V03_METHODS as readonly string[]).includes(request.method);

/** A 0.3 `message/send` or `message/stream` as the 1.0 request it is: parts without kinds, blocking unless told not to. */
export function sendParamsOfV03({ message, configuration, metadata }: V03MessageSendParams): SendMessageParams {
  const { kind: _kind, role: _role, parts, referenceTaskIds: _references, extensions: _extensions, ...rest } = message;
  return {
    message: { ...rest, role: 'ROLE_USER', parts: parts.map((part): A2aPart => (part.kind === 'text' ? { text: part.text, ...(part.metadata ? { metadata: part.metadata } : {}) } : { data: part.data, ...(part.metadata ? { metadata: part.metadata } : {}) })) },
    ...(configuration ? { configuration: { returnImmediately: configuration.blocking === false, ...(configuration.historyLength === undefined ? {} : { historyLength: configuration.historyLength }) } } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const partOf = (part: A2aPart): V03Part =>
  'text' in part
    ? { kind: 'text', text: part.text, ...(part.metadata ? { metadata: part.metadata } : {}) }
    : { kind: 'data', data: isRecord(part.data) ? part.data : { value: part.data }, ...(part.metadata ? { metadata: part.metadata } : {}) };

const messageOf = ({ role, parts, ...message }: OutMessage): z.infer<typeof V03OutMessage> => ({
  kind: 'message',
  ...message,
  contextId: message.contextId ?? '',
  role: role === 'ROLE_USER' ? 'user' : 'agent',
  parts: parts.map(partOf),
});

const statusOf = ({ state, message, timestamp }: TaskStatus): V03TaskStatus => ({ state: STATE[state], ...(message ? { message: messageOf(message) } : {}), timestamp });

const artifactOf = ({ artifactId, name, parts }: Artifact) => ({ artifactId, name, parts: parts.map(partOf) });

/** A 1.0 task in 0.3's shape. */
export function v03TaskOf(task: Task): A2aV03Task {
  return {
    kind: 'task',
    id: task.id,
    contextId: task.contextId,
    status: statusOf(task.status),
    ...(task.artifacts ? { artifacts: task.artifacts.map(artifactOf) } : {}),
    ...(task.history ? { history: task.history.map(messageOf) } : {}),
    metadata: task.metadata,
  };
}

/** A 1.0 stream event in 0.3's shape; a status that is not submitted, working or input-required is the stream's last (`final`). */
export function v03EventOf(event: StreamResponse): V03StreamResponse {
  if ('task' in event) return v03TaskOf(event.task);
  if ('statusUpdate' in event) {
    const { taskId, contextId, status } = event.statusUpdate;
    // A task waiting for an approval goes on once it is decided (not through A2A): its stream does too.
    const final = status.state !== 'TASK_STATE_SUBMITTED' && status.state !== 'TASK_STATE_WORKING' && status.state !== 'TASK_STATE_INPUT_REQUIRED';
    return { kind: 'status-update', taskId, contextId, status: statusOf(status), final };
  }
  const { taskId, contextId, artifact, append, lastChunk } = event.artifactUpdate;
  return { kind: 'artifact-update', taskId, contextId, artifact: artifactOf(artifact), append, lastChunk };
}
