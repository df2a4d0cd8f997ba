/**
 * The agent runtime. A run is a resource of its own, independent of the connection that started it:
 * messages -> model -> tool calls -> results -> model ... until a final answer, the agent's step limit,
 * cancellation or an error. Every step is an event on the bus (stored, then streamed). A tool call that a tool
 * policy says to `ask` about pauses the run (awaiting_approval) with a stored checkpoint; once decided, any process
 * resumes it from there (src/services/approvals/).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InStatement } from '@libsql/client';
import type { Agent } from '../../domain/agents.ts';
import { denialOutput, effectiveMode, type Approval, type PolicyList } from '../../domain/approvals.ts';
import type { ChatInput, ChatReply, Message, Run, RunStatus, RunStep, Usage } from '../../domain/chat.ts';
import type { PaginationInput } from '../../domain/common.ts';
import { AppError } from '../../domain/errors.ts';
import { toolCalledPayload, toolEventTypes, toolFailureOutput, toolResultPayload, type EventType, type ToolCallRecord } from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import { refusingList, type AllowList } from '../../domain/tool-access.ts';
import type { AgentService } from '../agents.ts';
import type { EventBus } from '../events/bus.ts';
import { withinRun } from '../events/run-scope.ts';
import type { ChatMessage, ProviderClient, ProviderName, ToolCall } from '../providers/types.ts';
import type { Redactor } from '../redaction.ts';
import type { ToolDefinition, ToolKind } from '../tools/types.ts';
import { UpdateChannel } from './channel.ts';
import type { ConversationStore, RunStart } from './store.ts';
import type { ChangeFeed } from '../changes/feed.ts';
import type { Instances } from '../instances.ts';
import type { ToolRegistry } from './tool-registry.ts';
import type { ApprovalStore, Resumption } from '../approvals/store.ts';

/**
 * Whether the run lets a tool call go ahead: its allow-lists and tool policies decide before the tool runs
 * (`policy`), or a person did when the policy said `ask` (`user`).
 */
export type ToolDecision =
  | { allowed: true; decidedBy?: 'policy' | 'user'; forSession?: boolean }
  | { allowed: false; reason: string; decidedBy?: 'policy' | 'user' };

/** What a caller streaming a run sees, in order. */
export type RunUpdate =
  | { type: 'model_request'; step: number; provider: ProviderName; model: string }
  | { type: 'text'; delta: string }
  | {
      type: 'model_response';
      step: number;
      provider: ProviderName;
      model: string;
      /** The text of this step (the final answer when it called no tool). */
      content: string;
      tool_calls: number;
      finish_reason: string;
      usage: Usage;
    }
  | { type: 'tool_call'; call: ToolCall; decision: ToolDecision }
  | { type: 'tool_result'; id: string; name: string; output: string; is_error: boolean }
  /** The run paused on a call a person must decide; the updates go on once it is decided. */
  | { type: 'approval_requested'; approval: Approval }
  | { type: 'done'; run: Run; messageId: string | null };

/** The updates that mark each model call, for callers that show steps (seed 001's channel); a chat stream shows text. */
export type ModelStepUpdate = Extract<RunUpdate, { type: 'model_request' | 'model_response' }>;

export function isModelStep(update: RunUpdate): update is ModelStepUpdate {
  return update.type === 'model_request' || update.type === 'model_response';
}

export interface RunHandle {
  run: Run;
  updates: AsyncIterable<RunUpdate>;
  /** Resolves when the run ends, whatever the outcome, or pauses awaiting approval (status `awaiting_approval`). */
  done: Promise<{ run: Run; messageId: string | null }>;
}

export interface StartRunInput extends ChatInput {
  agent: string;
  source: string;
  /**
   * Allow-lists besides the agent's own that this run must obey (a channel's allowedTools, a parent run's
   * lists): they can narrow what the agent allows, never widen it.
   */
  restrictions?: AllowList[];
  /** Set for a sub-agent's run: the run that spawned it, and its depth below the top-level run. */
  parentRunId?: string;
  depth?: number;
  /** For a sub-agent's run: how many sub-agent runs may be alive at once, across every process. */
  subagentLimit?: number;
  /**
   * The model of this run instead of the agent's: a model name at `provider`, the agent's own provider when that is
   * not given. The agent's parameters (temperature, max_tokens) still apply. A name the provider does not know (it
   * answers the run's first model request with 404), or a provider of the server's without its settings, fails the
   * run with VALIDATION_ERROR.
   */
  model?: { provider?: ProviderName; name: string };
  /**
   * Earlier turns the caller keeps itself (the OpenAI door's `messages`), used instead of the session's stored
   * history: such a caller sends the whole conversation with every turn.
   */
  history?: ChatMessage[];
  /** Tool policies besides the agent's (a channel's): they can only make a tool stricter (allow < ask < deny). */
  policies?: PolicyList[];
  /** Nobody can answer an approval request in this run (seed 001's HTTP channel, a sub-agent): `ask` means deny. */
  noApprover?: boolean;
}

/**
 * What a paused run needs to go on, stored with its pending approval so that any process can resume it: the model's
 * messages so far, the step whose tool calls were being run and those calls not run yet (the first is the one
 * waiting), and the lists that judge its tool calls.
 */
export interface RunCheckpoint {
  messages: ChatMessage[];
  step: number;
  calls: ToolCall[];
  text: string;
  model: { provider: ProviderName; name: string };
  allowLists: AllowList[];
  policies: PolicyList[];
}

/** How a decided approval is applied to the call that waited for it. */
export interface ApprovalOutcome {
  callId: string;
  approved: boolean;
  output: string;
  forSession: boolean;
}

/** One part of a run's system message, with where it comes from (recorded as message.system). */
export interface SystemPart {
  source: 'agent' | 'memory' | 'context';
  content: string;
}

/** Extra system-prompt text for a run, e.g. recalled memories. */
export type ContextProvider = (
  agent: Agent,
  input: StartRunInput,
  run: Run,
  /** Takes a write (an event) the turn must wait for before it answers, instead of the provider waiting for it. */
  whenStored: (stored: Promise<unknown>) => void,
) => Promise<SystemPart | undefined>;

export interface RuntimeDeps {
  agents: AgentService;
  store: ConversationStore;
  events: EventBus;
  tools: ToolRegistry;
  /** The agent's name, for what the provider logs about its failed requests. */
  provider(name: ProviderName, agent: string): ProviderClient;
  contextProviders?: ContextProvider[];
  /** This process's instance id, registering it first if it has not yet (a command running its first turn). */
  instance(): Promise<string>;
  instances: Instances;
  /** Cancel requests for runs of this process arrive here from the others. */
  changes: ChangeFeed;
  /**
   * Secrets leave a run only as [REDACTED]: model text is redacted as it streams (so every reader of the run's
   * updates, events and records gets safe text), tool calls and outputs and errors before they are recorded.
   */
  redactor: Redactor;
  approvals: ApprovalStore;
  /** How long a pending approval waits before it is denied. */
  approvalExpiryMs: number;
}

/** How long a cancel waits for another process to stop the run, and how often it looks. */
const REMOTE_CANCEL_WAIT_MS = 10_000;
const REMOTE_CANCEL_POLL_MS = 50;

/** Why a run could not start, as the error its caller answers with. */
function startRefusal(run: Run, refused: Exclude<RunStart, { started: true }>): AppError {
  switch (refused.reason) {
    case 'busy':
      return new AppError('SESSION_BUSY', `Session '${run.session_id}' is busy with run ${refused.runId}; wait for it or cancel it`, {
        session_id: run.session_id,
        run_id: refused.runId,
      });
    case 'other_agent':
      return new AppError('VALIDATION_ERROR', `Session '${run.session_id}' belongs to agent '${refused.agent}'`, {
        issues: [{ path: 'session_id', message: `belongs to agent '${refused.agent}'`, code: 'invalid_value' }],
      });
    case 'subagent_limit':
      return new AppError('RATE_LIMITED', 'Too many sub-agents are running', { reason: 'subagent_limit' });
  }
}

/** `redactedBefore`: secrets already replaced in the payload (see EventBus.emit). */
type Recorder = (type: EventType, payload: Record<string, unknown>, redactedBefore?: number) => void;

/** Where the loop is: a checkpoint, and whether a person can answer an approval request. */
interface LoopState extends RunCheckpoint {
  noApprover: boolean;
}

/** What the loop works with besides its state. */
interface LoopContext {
  /** A new run's input (a resumed run has none). */
  input?: StartRunInput;
  signal: AbortSignal;
  channel: UpdateChannel<RunUpdate>;
  record: Recorder;
  pending: Promise<unknown>[];
  /** The decision on the call the run paused on, when it resumes. */
  decided?: ApprovalOutcome | undefined;
}

/** The tools a run may call, and the lists that decided it. */
interface RunTools {
  tools: ToolDefinition[];
  allowLists: AllowList[];
}

/** A tool call the run's lists let through (with the tool), or refused (with what the model is told, and why). */
type ToolAccess =
  | { tool: ToolDefinition; kind: ToolKind }
  | { tool: undefined; kind: ToolKind; refusal: string; violation: Record<string, unknown> };

/**
 * A failure of the run's first model request that means the model chosen for it is not there: the provider does
 * not know the name (404), or the chosen provider has no settings on this server. The caller's mistake, so a 400.
 */
function unknownModel(error: unknown, input: StartRunInput, agent: Agent): AppError | undefined {
  const chosen = input.model;
  if (!chosen || !(error instanceof AppError)) return undefined;
  const rejected = error.code === 'PROVIDER_ERROR' && error.details?.status === 404;
  const unconfigured = error.code === 'PROVIDER_NOT_CONFIGURED' && chosen.provider !== undefined && chosen.provider !== agent.model.provider;
  if (!rejected && !unconfigured) return undefined;
  const provider = chosen.provider ?? agent.model.provider;
  const why = rejected ? `${provider} does not know the model '${chosen.name}'` : `this server has no settings for ${provider}`;
  return new AppError('VALIDATION_ERROR', `Unknown model: ${why} (${error.message})`, {
    issues: [{ path: 'model', message: why, code: 'invalid_value' }],
  });
}

const addUsage = (a: Usage, b: Usage): Usage => ({ input_tokens: a.input_tokens + b.input_tokens, output_tokens: a.output_tokens + b.output_tokens });

export class Runtime {
  private readonly active = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  /** The updates of runs of this process paused awaiting approval, kept for a stream that still reads them. */
  private readonly paused = new Map<string, UpdateChannel<RunUpdate>>();

  constructor(private readonly deps: RuntimeDeps) {
    deps.changes.on('run.cancel', (runId) => this.cancelRequested(runId));
  }

  /** Starts a run and returns at once; the run goes on even if nobody reads its updates. */
  async start(input: StartRunInput): Promise<RunHandle> {
    const agent = await this.deps.agents.get(input.agent);
    const instanceId = await this.deps.instance();
    const run: Run = {
      id: newId('run'),
      agent_id: agent.name,
      session_id: input.session_id ?? newId('ses'),
      user_id: input.user_id ?? null,
      status: 'running',
      input: input.message,
      output: null,
      error: null,
      steps: [],
      usage: { input_tokens: 0, output_tokens: 0 },
      source: input.source,
      parent_run_id: input.parentRunId ?? null,
      depth: input.depth ?? 0,
      created_at: new Date(),
      started_at: new Date(),
      completed_at: null,
    };
    // The run's start, the turn's context (unless the caller brings the history) and its user message: one transaction.
    const userRow = { sessionId: run.session_id, agent: agent.name, runId: run.id, userId: run.user_id, role: 'user' as const, content: input.message };
    const started = await this.deps.store.startRun(run, instanceId, {
      ...(input.subagentLimit === undefined ? {} : { subagentLimit: input.subagentLimit }),
      first: { message: userRow, context: !input.history },
    });
    if (!started.started) throw startRefusal(run, started);
    const opening = { message: started.message!, history: input.history ?? started.history! };

    this.deps.events.startRun(run.id);
    const channel = new UpdateChannel<RunUpdate>();
    const done = this.track(run.id, channel, (signal) => this.execute(agent, run, input, opening, signal, channel));
    return { run: { ...run }, updates: channel, done };
  }

  /**
   * Runs `work` as the run's active work in this process. Its updates end with it, unless it paused awaiting
   * approval: then the channel is kept (a stream still reads it) for the resumption to go on with.
   */
  private track(runId: string, channel: UpdateChannel<RunUpdate>, work: (signal: AbortSignal) => Promise<{ run: Run; messageId: string | null }>) {
    const controller = new AbortController();
    // Everything the run does, however deep (a secret resolved for its provider), knows the run it is part of.
    const done = withinRun(runId, () => work(controller.signal)).then(
      (ended) => {
        if (ended.run.status === 'awaiting_approval') this.paused.set(runId, channel);
        else channel.end();
        return ended;
      },
      (error: unknown) => {
        channel.end();
        throw error;
      },
    );
    const settled = done.finally(() => this.active.delete(runId));
    this.active.set(runId, { controller, done: settled.catch(() => undefined) });
    return settled;
  }

  /** One turn, answered when it ends or pauses awaiting approval (status and the pending call in the reply). */
  async chat(input: StartRunInput): Promise<ChatReply> {
    const handle = await this.start(input);
    const { run, messageId } = await handle.done;
    if (run.status === 'failed') {
      const code = (run.error?.code ?? 'INTERNAL_ERROR') as ConstructorParameters<typeof AppError>[0];
      throw new AppError(code, run.error?.message ?? 'The run failed', { ...run.error?.details, run_id: run.id });
    }
    return {
      id: messageId ?? run.id,
      run_id: run.id,
      content: run.output ?? '',
      session_id: run.session_id,
      agent_id: run.agent_id,
      timestamp: run.completed_at ?? new Date(),
      usage: run.usage,
      status: run.status,
      ...(run.pending_approval ? { pending_approval: run.pending_approval } : {}),
    };
  }

  async get(runId: string): Promise<Run> {
    const run = await this.deps.store.getRun(runId);
    if (!run) throw new AppError('RUN_NOT_FOUND', `Run '${runId}' not found`, { id: runId });
    if (run.status !== 'awaiting_approval') return run;
    const pending = await this.deps.approvals.pending(runId);
    return pending ? { ...run, pending_approval: pending } : run;
  }

  /** An agent's runs, newest first, those awaiting approval with their pending call (as `get` gives it). */
  async list(agent: string, filter: { session_id?: string | undefined; status?: RunStatus | undefined }, page: PaginationInput) {
    const listed = await this.deps.store.runs(agent, filter, page);
    const paused = listed.runs.filter((run) => run.status === 'awaiting_approval').map((run) => run.id);
    if (paused.length === 0) return listed;
    const pending = await this.deps.approvals.pendingOf(paused);
    return { ...listed, runs: listed.runs.map((run) => (pending.has(run.id) ? { ...run, pending_approval: pending.get(run.id)! } : run)) };
  }

  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  /**
   * Stops a run at its next step (aborting the model stream now) and answers with the ended run. A run going on in
   * another process is asked to stop through the change feed, and awaited; one whose process is gone is marked
   * cancelled here, and so is one waiting for approval.
   */
  async cancel(runId: string): Promise<Run> {
    const entry = this.active.get(runId);
    if (entry) {
      entry.controller.abort();
      await entry.done;
      const after = await this.get(runId);
      if (after.status !== 'awaiting_approval') return after;
    }
    const run = await this.get(runId);
    if (run.status === 'awaiting_approval') {
      if (await this.deps.approvals.cancelPaused(run)) {
        this.paused.get(runId)?.push({ type: 'done', run: { ...(await this.get(runId)) }, messageId: null });
        this.paused.get(runId)?.end();
        this.paused.delete(runId);
        await this.emit(run, 'run.cancelled', { steps: run.steps.length, usage: run.usage });
      }
      return this.get(runId);
    }
    if (run.status !== 'running' && run.status !== 'queued') {
      throw new AppError('RUN_NOT_ACTIVE', `Run '${runId}' is already ${run.status}`, { id: runId, status: run.status });
    }
    const owner = await this.deps.store.runInstance(runId);
    if (!(await this.deps.instances.alive(owner))) {
      if (await this.deps.store.cancelOrphan(runId)) await this.emit(run, 'run.cancelled', { steps: run.steps.length, usage: run.usage });
      return this.get(runId);
    }
    await this.deps.changes.publish('run.cancel', runId);
    for (const deadline = Date.now() + REMOTE_CANCEL_WAIT_MS; Date.now() < deadline; ) {
      await sleep(REMOTE_CANCEL_POLL_MS);
      const now = await this.get(runId);
      if (now.status !== 'running' && now.status !== 'queued') return now;
    }
    return this.get(runId);
  }

  /**
   * Takes a run whose pending approval was decided up again in this process, from its stored checkpoint: the
   * decided call first (run, or answered with the denial), then the loop as before. False when the run is not
   * waiting or another process took it first. A stream of this process still reading the run gets the updates.
   */
  async resume(runId: string): Promise<boolean> {
    // A decision quicker than the pause's last steps here waits for them: the stream's channel is parked by then.
    await this.active.get(runId)?.done;
    const instanceId = await this.deps.instance();
    const resumption = await this.deps.approvals.claim(runId, instanceId);
    if (!resumption) return false;
    const { run } = resumption;
    this.deps.events.forgetRun(runId);
    const channel = this.paused.get(runId) ?? new UpdateChannel<RunUpdate>();
    this.paused.delete(runId);
    const work = async (signal: AbortSignal) => {
      const agent = await this.deps.agents.get(run.agent_id).catch(() => undefined);
      if (!agent) return this.fail(run, new AppError('AGENT_NOT_FOUND', `Agent '${run.agent_id}' no longer exists`), channel);
      return this.continueRun(agent, run, resumption, signal, channel);
    };
    void this.track(runId, channel, work).catch(() => undefined);
    return true;
  }

  /** A cancel asked for by another process, for a run of this one. */
  private cancelRequested(runId: string): void {
    this.active.get(runId)?.controller.abort();
  }

  /** Waits for every active run (used at shutdown after cancelling them). */
  async stopAll(): Promise<void> {
    for (const entry of this.active.values()) entry.controller.abort();
    await Promise.allSettled([...this.active.values()].map((entry) => entry.done));
    // Paused runs stay paused in the database; whoever decides them resumes them.
    for (const channel of this.paused.values()) channel.end();
    this.paused.clear();
  }

  private emit(run: Run, event_type: EventType, payload: Record<string, unknown>, redactedBefore?: number, alongside?: InStatement[]) {
    return this.deps.events.emit({ agent_id: run.agent_id, run_id: run.id, event_type, payload }, redactedBefore, alongside);
  }

  /** What may be recorded or shown of a value: registered secrets replaced. */
  private safe<T>(value: T): T {
    return this.deps.redactor.redact(value).value;
  }

  /** What the run's system message is made of, in order: the agent's prompt, what context providers add (memories), the turn's context. */
  private async systemParts(agent: Agent, input: StartRunInput, run: Run, pending: Promise<unknown>[]): Promise<SystemPart[]> {
    const parts: SystemPart[] = [{ source: 'agent', content: agent.system_prompt }];
    const whenStored = (stored: Promise<unknown>) => void pending.push(stored);
    for (const provider of this.deps.contextProviders ?? []) {
      const extra = await provider(agent, input, run, whenStored);
      if (extra) parts.push(extra);
    }
    if (input.context && Object.keys(input.context).length) parts.push({ source: 'context', content: `Context for this turn: ${JSON.stringify(input.context)}` });
    return parts.filter((part) => part.content);
  }

  /** The tools a run may call under its lists. */
  private runTools(agent: Agent, allowLists: AllowList[]): Promise<ToolDefinition[]> {
    return this.deps.tools.allowedFor(agent, allowLists);
  }

  /** A started run, from its stored user message and the context read before it (see start). */
  private async execute(
    agent: Agent,
    run: Run,
    input: StartRunInput,
    opening: { message: Message; history: ChatMessage[] },
    signal: AbortSignal,
    channel: UpdateChannel<RunUpdate>,
  ) {
    const pending: Promise<unknown>[] = [];
    const record: Recorder = (type, payload, redactedBefore) => void pending.push(this.emit(run, type, payload, redactedBefore));
    try {
      record('run.started', { session_id: run.session_id, user_id: run.user_id, source: run.source, input: run.input });
      const { history, message: userMessage } = opening;
      record('message.user', { message_id: userMessage.id, content: input.message });

      // The parts travel as one system message (providers take one), each recorded as the message.system it is.
      const systemParts = await this.systemParts(agent, input, run, pending);
      for (const part of systemParts) record('message.system', { source: part.source, content: part.content });
      const system = systemParts.map((part) => part.content).join('\n\n');
      const state: LoopState = {
        messages: [...(system ? [{ role: 'system' as const, content: system }] : []), ...history, { role: 'user', content: input.message }],
        step: 0,
        calls: [],
        text: '',
        model: { provider: input.model?.provider ?? agent.model.provider, name: input.model?.name ?? agent.model.name },
        allowLists: [{ source: 'agent', name: agent.name, patterns: agent.allowed_tools }, ...(input.restrictions ?? [])],
        policies: [{ source: 'agent', name: agent.name, policy: agent.tool_policy }, ...(input.policies ?? [])],
        noApprover: input.noApprover ?? false,
      };
      return await this.loop(agent, run, state, { input, signal, channel, record, pending });
    } catch (error) {
      return this.fail(run, error, channel, pending);
    }
  }

  /** The run after a decision, from its checkpoint. */
  private async continueRun(agent: Agent, run: Run, resumption: Resumption, signal: AbortSignal, channel: UpdateChannel<RunUpdate>) {
    const pending: Promise<unknown>[] = [];
    const record: Recorder = (type, payload, redactedBefore) => void pending.push(this.emit(run, type, payload, redactedBefore));
    try {
      const state: LoopState = { ...resumption.checkpoint, noApprover: false };
      return await this.loop(agent, run, state, { signal, channel, record, pending, decided: resumption.outcome });
    } catch (error) {
      return this.fail(run, error, channel, pending);
    }
  }

  /** Records a failed run: its error (redacted), its end and its session free. */
  private async fail(run: Run, error: unknown, channel: UpdateChannel<RunUpdate>, pending: Promise<unknown>[] = []) {
    await Promise.allSettled(pending);
    const app = error instanceof AppError ? error : new AppError('INTERNAL_ERROR', 'The run failed unexpectedly');
    run.status = 'failed';
    // A provider may echo what it was sent (its API key) in its error, and the error is shown to the caller.
    run.error = { code: app.code, message: this.safe(app.message), ...(app.details ? { details: this.safe(app.details) } : {}) };
    run.completed_at = new Date();
    await this.deps.store.endRun(run).catch(() => undefined);
    await this.emit(run, 'run.failed', { error: run.error }).catch(() => undefined);
    const ended = { ...run, steps: [...run.steps] };
    channel.push({ type: 'done', run: ended, messageId: null });
    return { run: ended, messageId: null };
  }

  /**
   * The loop: model -> tool calls -> model ... from `state` (a new run's first step, or a resumed run's pending
   * calls), until a final answer, the step limit, cancellation, or a call that waits for a person (the run pauses).
   */
  private async loop(agent: Agent, run: Run, state: LoopState, context: LoopContext) {
    const { signal, channel, record, pending } = context;
    let messageId: string | null = null;
    const tools = await this.runTools(agent, state.allowLists);
    const provider = this.deps.provider(state.model.provider, agent.name);
    let decided = context.decided;

    let finalText = state.text;
    let finished = false;
    while (!signal.aborted) {
      if (state.calls.length === 0) {
        if (state.step >= agent.max_steps) break;
        const step = state.step;
        const started = performance.now();
        record('model.request', {
          step, provider: provider.name, model: state.model.name, messages: state.messages.length, tools: tools.map((t) => t.name),
        });
        channel.push({ type: 'model_request', step, provider: provider.name, model: state.model.name });
        let text = '';
        const calls: ToolCall[] = [];
        let usage: Usage = { input_tokens: 0, output_tokens: 0 };
        let finishReason = 'stop';
        const redacting = this.deps.redactor.stream();
        const streamText = (release: () => string) => {
          const before = redacting.count;
          const delta = release();
          if (!delta) return;
          text += delta;
          channel.push({ type: 'text', delta });
          record('model.stream', { step, delta }, redacting.count - before);
        };
        try {
          for await (const event of provider.stream({
            model: state.model.name,
            messages: state.messages,
            tools: tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema })),
            parameters: agent.model.parameters,
            signal,
          })) {
            if (event.type === 'text') {
              streamText(() => redacting.push(event.delta));
            } else if (event.type === 'tool_call') {
              calls.push(event.call);
            } else if (event.type === 'usage') {
              usage = addUsage(usage, event.usage);
            } else {
              finishReason = event.finish_reason;
            }
          }
        } catch (error) {
          // Only the first request can tell a model that is not there from a provider that failed along the way.
          throw (step === 0 && context.input ? unknownModel(error, context.input, agent) : undefined) ?? error;
        } finally {
          // What was held back waiting for the next chunk is released, even when the stream broke off.
          streamText(() => redacting.flush());
        }
        run.usage = addUsage(run.usage, usage);
        const modelStep: RunStep = {
          type: 'model', index: run.steps.length, content: text, tool_calls: this.safe(calls), finish_reason: finishReason, usage,
          duration_ms: Math.round(performance.now() - started),
        };
        run.steps.push(modelStep);
        record('model.response', { step, content: text, tool_calls: calls, usage, finish_reason: finishReason }, redacting.count);
        if (signal.aborted) break;
        channel.push({
          type: 'model_response', step, provider: provider.name, model: state.model.name, content: text, tool_calls: calls.length, finish_reason: finishReason, usage,
        });

        if (calls.length === 0) {
          finalText = text;
          finished = true;
          break;
        }
        state.messages.push({ role: 'assistant', content: text, tool_calls: calls });
        await this.deps.store.appendMessage({
          sessionId: run.session_id, agent: agent.name, runId: run.id, userId: run.user_id, role: 'assistant', content: text, toolCalls: modelStep.tool_calls,
        });
        state.calls = [...calls];
        state.text = text;
      }

      while (state.calls.length > 0 && !signal.aborted) {
        const call = state.calls[0]!;
        let access = await this.toolAccess(agent, { tools, allowLists: state.allowLists }, call);
        let decision: ToolDecision = access.tool ? { allowed: true } : { allowed: false, reason: access.refusal };
        if (access.tool) {
          const judged = await this.judge(run, state, call, decided);
          if (judged === 'pause') return this.pause(run, state, call, access.kind, context);
          decision = judged.decision;
          if (!decision.allowed) access = { tool: undefined, kind: access.kind, refusal: decision.reason, violation: judged.violation! };
        }
        decided = undefined;
        channel.push({ type: 'tool_call', call: this.safe(call), decision });
        const result = await this.callTool(run, agent, access, state.allowLists, call, signal, record);
        channel.push({ type: 'tool_result', id: call.id, name: call.name, output: result.output, is_error: result.is_error });
        state.messages.push({ role: 'tool', content: result.modelOutput, tool_call_id: call.id, name: call.name });
        await this.deps.store.appendMessage({
          sessionId: run.session_id, agent: agent.name, runId: run.id, userId: run.user_id, role: 'tool', content: result.output, toolCallId: call.id,
        });
        state.calls.shift();
      }
      if (signal.aborted) break;
      finalText = state.text;
      state.step += 1;
    }

    run.status = signal.aborted ? 'cancelled' : 'completed';
    run.output = signal.aborted ? finalText || null : finalText;
    run.completed_at = new Date();
    const finish = this.deps.store.finishStatements(
      run,
      signal.aborted ? undefined : { sessionId: run.session_id, agent: agent.name, runId: run.id, userId: run.user_id, role: 'assistant', content: finalText },
    );
    if (finish.message) {
      messageId = finish.message.id;
      record('message.assistant', { message_id: messageId, content: finalText });
    }
    // The run's end (its row, its session freed, its answer) is stored with its closing event, in one transaction,
    // and that event joins those still being written: one write for the turn's end. All of it is stored before the
    // turn is answered.
    const [type, payload] =
      run.status === 'cancelled'
        ? (['run.cancelled', { steps: run.steps.length, usage: run.usage }] as const)
        : (['run.completed', { output: run.output, usage: run.usage, steps: run.steps.length, reason: finished ? 'final_answer' : 'max_steps' }] as const);
    pending.push(this.emit(run, type, payload, undefined, finish.statements));
    await Promise.all(pending);
    const ended = { ...run, steps: [...run.steps] };
    channel.push({ type: 'done', run: ended, messageId });
    return { run: ended, messageId };
  }

  /**
   * What the tool policies say about a call the allow-lists let through: go ahead, refused (by a `deny`, or an `ask`
   * nobody can answer, or a person's decision), or pause for a person. A decision made "for the rest of the session"
   * answers later calls of the tool in the session.
   */
  private async judge(run: Run, state: LoopState, call: ToolCall, decided: ApprovalOutcome | undefined): Promise<'pause' | { decision: ToolDecision; violation?: Record<string, unknown> }> {
    const { mode, list } = effectiveMode(state.policies, call.name);
    if (mode === 'allow') return { decision: { allowed: true, decidedBy: 'policy' } };
    const refusal = (reason: string, decidedBy: 'policy' | 'user', why: string) => ({
      decision: { allowed: false as const, reason, decidedBy },
      violation: { reason: why, tool: call.name, tool_call_id: call.id, ...(list ? { refused_by: { policy: list.source, name: list.name } } : {}) },
    });
    if (mode === 'deny') return refusal(`Tool '${call.name}' is not allowed: the ${list!.source} '${list!.name}' tool policy denies it`, 'policy', 'tool_denied_by_policy');
    if (decided?.callId === call.id) {
      return decided.approved ? { decision: { allowed: true, decidedBy: 'user', forSession: decided.forSession } } : refusal(decided.output, 'user', 'tool_call_denied');
    }
    if (state.noApprover) {
      return refusal(`Tool '${call.name}' needs a person's approval, and nobody can give it here`, 'policy', 'approval_unavailable');
    }
    const remembered = await this.deps.approvals.sessionDecision(run.session_id, call.name);
    if (remembered?.status === 'approved') return { decision: { allowed: true, decidedBy: 'user', forSession: true } };
    if (remembered) return refusal(denialOutput(call.name, remembered.status, remembered.reason), 'user', 'tool_call_denied');
    return 'pause';
  }

  /** Stores the run's checkpoint with its pending approval and ends this part of the run: it waits for a person. */
  private async pause(run: Run, state: LoopState, call: ToolCall, kind: ToolKind, context: LoopContext) {
    await Promise.all(context.pending);
    const now = new Date();
    const { noApprover: _ignored, ...checkpoint } = state;
    run.status = 'awaiting_approval';
    const approval = await this.deps.approvals.pause(run, {
      call: this.safe(call),
      checkpoint,
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.deps.approvalExpiryMs),
      waiter: await this.deps.instance(),
    });
    await this.emit(run, 'approval.requested', {
      tool_call_id: call.id, tool: call.name, kind, arguments: this.safe(call.arguments), session_id: run.session_id, expires_at: approval.expires_at.toISOString(),
    });
    // Who writes the run's next events (the decision, the resumed run) may be another process.
    this.deps.events.forgetRun(run.id);
    context.channel.push({ type: 'approval_requested', approval });
    const paused = { ...run, steps: [...run.steps], pending_approval: approval };
    return { run: paused, messageId: null };
  }

  /** Whether the run's lists let the call through: the tool, or why not (told to the model, recorded as security.violation). */
  private async toolAccess(agent: Agent, access: RunTools, call: ToolCall): Promise<ToolAccess> {
    const tool = access.tools.find((t) => t.name === call.name);
    if (tool) return { tool, kind: tool.kind };
    const exists = (await this.deps.tools.all(agent)).find((t) => t.name === call.name);
    const refusedBy = exists ? refusingList(access.allowLists, call.name) : undefined;
    return {
      tool: undefined,
      kind: exists?.kind ?? 'primitive',
      refusal: refusedBy
        ? `Tool '${call.name}' is not allowed: the ${refusedBy.source} '${refusedBy.name}' allow-list does not include it`
        : `Tool '${call.name}' does not exist`,
      violation: {
        reason: exists ? 'tool_not_allowed' : 'unknown_tool',
        tool: call.name,
        tool_call_id: call.id,
        ...(refusedBy ? { refused_by: { list: refusedBy.source, name: refusedBy.name } } : {}),
      },
    };
  }

  private async callTool(run: Run, agent: Agent, access: ToolAccess, allowLists: AllowList[], call: ToolCall, signal: AbortSignal, record: Recorder) {
    const started = performance.now();
    const recorded: ToolCallRecord = { id: call.id, name: call.name, kind: access.kind, arguments: call.arguments };
    const events = toolEventTypes(access.kind);
    let output: string;
    let isError = false;
    let revealsSecret = false;
    if (!access.tool) {
      output = access.refusal;
      isError = true;
      record('security.violation', access.violation);
    } else {
      record(events.called, toolCalledPayload(recorded));
      try {
        const result = await access.tool.execute(call.arguments, {
          agent, runId: run.id, sessionId: run.session_id, userId: run.user_id, signal, allowLists,
        });
        output = result.output;
        isError = result.isError ?? false;
        revealsSecret = result.revealsSecret ?? false;
      } catch (error) {
        output = toolFailureOutput(error);
        isError = true;
      }
    }
    // A secret the model asked for (vault.get) reaches the model alone; everything else, and every record, is redacted:
    // an MCP server's output or a tool's error may hold a secret.
    const modelOutput = revealsSecret ? output : this.safe(output);
    output = this.safe(output);
    const durationMs = Math.round(performance.now() - started);
    run.steps.push({
      type: 'tool', index: run.steps.length, tool_call_id: call.id, name: call.name, arguments: this.safe(call.arguments), output, is_error: isError, duration_ms: durationMs,
    });
    if (access.tool) record(events.result, toolResultPayload(recorded, { output, is_error: isError, duration_ms: durationMs }));
    return { output, modelOutput, is_error: isError };
  }
}
