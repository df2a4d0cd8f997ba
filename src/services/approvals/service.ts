/**
 * Deciding tool calls that wait for a person, and getting their runs going again. A decision is recorded in the
 * database first; the run is then resumed by the process that paused it while that one is alive (told through the
 * change feed: it may hold a stream reading the run), otherwise by the process that took the decision. A sweep on
 * every serving process denies expired calls and resumes decided runs whose process went away.
 */
import { AppError } from '../../domain/errors.ts';
import type { Approval, ApprovalDecisionInput } from '../../domain/approvals.ts';
import type { ChangeFeed } from '../changes/feed.ts';
import type { EventBus } from '../events/bus.ts';
import type { Instances } from '../instances.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { ApprovalStore } from './store.ts';

export interface ApprovalServiceDeps {
  store: ApprovalStore;
  runtime: Runtime;
  events: EventBus;
  changes: ChangeFeed;
  instances: Instances;
}

/** How often a serving process looks for expired calls and decided runs nobody resumed. */
const SWEEP_MS = 1_000;

export class ApprovalService {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly deps: ApprovalServiceDeps) {
    // A handler of the feed must not wait for the run it starts (its events wait for the feed).
    deps.changes.on('approval', (runId) => void deps.runtime.resume(runId).catch(() => undefined));
  }

  /** Approves or denies a pending call; `decidedBy` names the person's credentials (a token id, `telegram:<user>` ...). */
  async decide(runId: string, callId: string, input: ApprovalDecisionInput, decidedBy: string): Promise<Approval> {
    await this.deps.runtime.get(runId);
    const current = await this.deps.store.get(runId, callId);
    if (!current) throw new AppError('APPROVAL_NOT_FOUND', `Run '${runId}' has no tool call '${callId}' waiting for approval`, { id: runId, call_id: callId });
    const decided = await this.deps.store.decide(runId, callId, {
      status: input.decision === 'approve' ? 'approved' : 'denied',
      reason: input.reason ?? null,
      forSession: input.for_session,
      decidedBy,
    });
    if (!decided) {
      const now = await this.deps.store.get(runId, callId);
      throw new AppError('APPROVAL_DECIDED', `Tool call '${callId}' of run '${runId}' was already decided (${now?.status ?? current.status})`, {
        id: runId, call_id: callId, status: now?.status ?? current.status,
      });
    }
    const { waiter, ...approval } = decided;
    await this.recordDecision(approval);
    await this.handOver(runId, waiter);
    return approval;
  }

  /** The calls waiting in an agent's sessions whose id starts with `sessionPrefix` (a Telegram channel's chats). */
  pendingIn(agent: string, sessionPrefix: string): Promise<Approval[]> {
    return this.deps.store.pendingIn(agent, sessionPrefix);
  }

  /** Starts the sweep (serving processes). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep().catch(() => undefined), SWEEP_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping?.catch(() => undefined);
  }

  /** Denies expired calls (audited as approval.decided with status expired) and resumes decided runs left behind. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepNow().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepNow(): Promise<void> {
    const { store, instances } = this.deps;
    for (const expired of await store.expiredBefore(new Date())) {
      const decided = await store.decide(expired.run_id, expired.call_id, { status: 'expired', reason: 'expired', forSession: false, decidedBy: 'expiry' });
      if (!decided) continue;
      const { waiter, ...approval } = decided;
      await this.recordDecision(approval);
      await this.handOver(approval.run_id, waiter);
    }
    for (const { runId, waiter } of await store.unresumed()) {
      if (waiter === instances.id || !(await instances.alive(waiter))) await this.deps.runtime.resume(runId);
    }
  }

  private async recordDecision(approval: Approval): Promise<void> {
    const run = await this.deps.runtime.get(approval.run_id);
    await this.deps.events.emit({
      agent_id: run.agent_id,
      run_id: run.id,
      event_type: 'approval.decided',
      payload: {
        tool_call_id: approval.call_id,
        tool: approval.tool,
        decision: approval.status,
        reason: approval.reason,
        for_session: approval.for_session,
        decided_by: approval.decided_by,
      },
    });
    // The run may go on in another process, which numbers its next events after this one.
    this.deps.events.forgetRun(run.id);
  }

  /** The process that paused the run resumes it while it is alive; otherwise this one does. */
  private async handOver(runId: string, waiter: string | null): Promise<void> {
    const { instances, changes, runtime } = this.deps;
    if (waiter !== null && waiter !== instances.id && (await instances.alive(waiter))) return changes.publish('approval', runId);
    await runtime.resume(runId);
  }
}
