/**
 * Pending and decided tool approvals in the database, with the checkpoint a paused run is resumed from. Every
 * change of state is one conditional statement (or one batch), so two processes deciding, expiring or resuming the
 * same call cannot both succeed.
 */
import { and, desc, eq, inArray, isNotNull, isNull, lt, ne, sql } from 'drizzle-orm';
import { denialOutput, type Approval, type ApprovalStatus } from '../../domain/approvals.ts';
import type { Run } from '../../domain/chat.ts';
import type { Db } from '../../db/client.ts';
import { approvals, runs, sessions } from '../../db/schema.ts';
import type { ToolCall } from '../providers/types.ts';
import type { ApprovalOutcome, RunCheckpoint } from '../runtime/runtime.ts';
import { toRun } from '../runtime/store.ts';
import type { RotationParticipant, SealedValue } from '../vault/service.ts';

type ApprovalRow = typeof approvals.$inferSelect;

/** Seals what a checkpoint holds (messages the model was told) with the vault key. */
export interface CheckpointSealer {
  seal(address: { agent: string; key: string }, value: string): SealedValue;
  unseal(address: { agent: string; key: string }, sealed: SealedValue): string;
}

/** What a process needs to take a decided run up again. */
export interface Resumption {
  run: Run;
  checkpoint: RunCheckpoint;
  outcome: ApprovalOutcome;
}

export interface PauseInput {
  call: ToolCall;
  checkpoint: RunCheckpoint;
  createdAt: Date;
  expiresAt: Date;
  /** The process that paused the run (it resumes it while alive). */
  waiter: string;
}

export function toApproval(row: ApprovalRow): Approval {
  return {
    run_id: row.runId,
    call_id: row.callId,
    tool: row.tool,
    arguments: row.arguments ?? null,
    status: row.status,
    reason: row.reason,
    for_session: row.forSession,
    decided_by: row.decidedBy,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    decided_at: row.decidedAt,
  };
}

/** Never an agent's name (a slug has no colon), so a checkpoint's sealing address is never a secret's. */
const checkpointAddress = (runId: string, callId: string) => ({ agent: 'approval:checkpoint', key: `${runId}/${callId}` });

export class ApprovalStore {
  constructor(
    private readonly db: Db,
    private readonly sealer: CheckpointSealer,
  ) {}

  /** Records the run as awaiting approval (its steps and usage so far) and its pending call with the checkpoint, in one batch. */
  async pause(run: Run, input: PauseInput): Promise<Approval> {
    const row: ApprovalRow = {
      runId: run.id,
      callId: input.call.id,
      agent: run.agent_id,
      sessionId: run.session_id,
      tool: input.call.name,
      arguments: input.call.arguments ?? null,
      status: 'pending',
      reason: null,
      forSession: false,
      decidedBy: null,
      checkpoint: JSON.stringify(this.sealer.seal(checkpointAddress(run.id, input.call.id), JSON.stringify(input.checkpoint))),
      waiter: input.waiter,
      resumedAt: null,
      createdAt: input.createdAt,
      expiresAt: input.expiresAt,
      decidedAt: null,
    };
    await this.db.batch([
      this.db.update(runs).set({ status: 'awaiting_approval', steps: run.steps, usage: run.usage, output: run.output }).where(eq(runs.id, run.id)),
      this.db.insert(approvals).values(row).onConflictDoUpdate({ target: [approvals.runId, approvals.callId], set: { ...row } }),
    ]);
    return toApproval(row);
  }

  async get(runId: string, callId: string): Promise<Approval | undefined> {
    const [row] = await this.db.select().from(approvals).where(and(eq(approvals.runId, runId), eq(approvals.callId, callId))).limit(1);
    return row ? toApproval(row) : undefined;
  }

  async pending(runId: string): Promise<Approval | undefined> {
    const [row] = await this.db.select().from(approvals).where(and(eq(approvals.runId, runId), eq(approvals.status, 'pending'))).limit(1);
    return row ? toApproval(row) : undefined;
  }

  /** The pending call of each of these runs that has one, by run id. */
  async pendingOf(runIds: string[]): Promise<Map<string, Approval>> {
    if (runIds.length === 0) return new Map();
    const rows = await this.db.select().from(approvals).where(and(inArray(approvals.runId, runIds), eq(approvals.status, 'pending')));
    return new Map(rows.map((row) => [row.runId, toApproval(row)]));
  }

  /** Decides a pending call; undefined when it was not pending any more (decided or expired meanwhile). */
  async decide(runId: string, callId: string, decision: { status: Exclude<ApprovalStatus, 'pending'>; reason: string | null; forSession: boolean; decidedBy: string }): Promise<(Approval & { waiter: string | null }) | undefined> {
    const [row] = await this.db
      .update(approvals)
      .set({ status: decision.status, reason: decision.reason, forSession: decision.forSession, decidedBy: decision.decidedBy, decidedAt: new Date() })
      .where(and(eq(approvals.runId, runId), eq(approvals.callId, callId), eq(approvals.status, 'pending')))
      .returning();
    return row ? { ...toApproval(row), waiter: row.waiter } : undefined;
  }

  /** The latest "for the rest of this session" decision on a tool in the session. */
  async sessionDecision(sessionId: string, tool: string): Promise<Approval | undefined> {
    const [row] = await this.db
      .select()
      .from(approvals)
      .where(and(eq(approvals.sessionId, sessionId), eq(approvals.tool, tool), eq(approvals.forSession, true), ne(approvals.status, 'pending')))
      .orderBy(desc(approvals.decidedAt))
      .limit(1);
    return row ? toApproval(row) : undefined;
  }

  /** The pending calls of an agent's sessions whose id starts with `sessionPrefix` (a channel's chats). */
  async pendingIn(agent: string, sessionPrefix: string): Promise<Approval[]> {
    const rows = await this.db
      .select()
      .from(approvals)
      .where(and(eq(approvals.agent, agent), eq(approvals.status, 'pending'), sql`substr(${approvals.sessionId}, 1, ${sessionPrefix.length}) = ${sessionPrefix}`));
    return rows.map(toApproval);
  }

  /** Pending calls whose time is up. */
  async expiredBefore(now: Date): Promise<Approval[]> {
    const rows = await this.db.select().from(approvals).where(and(eq(approvals.status, 'pending'), lt(approvals.expiresAt, now))).limit(100);
    return rows.map(toApproval);
  }

  /** Decided calls whose run nobody took up again yet, with the process that paused it. */
  async unresumed(): Promise<Array<{ runId: string; waiter: string | null }>> {
    return this.db
      .select({ runId: approvals.runId, waiter: approvals.waiter })
      .from(approvals)
      .innerJoin(runs, eq(runs.id, approvals.runId))
      .where(and(ne(approvals.status, 'pending'), isNull(approvals.resumedAt), isNotNull(approvals.checkpoint), eq(runs.status, 'awaiting_approval')))
      .limit(100);
  }

  /**
   * Takes a run whose pending call was decided: the run is `running` again on `instanceId`, and the decided call is
   * marked resumed, in one batch; undefined when the run is not waiting or its call is not decided yet.
   */
  async claim(runId: string, instanceId: string): Promise<Resumption | undefined> {
    const [row] = await this.db
      .select()
      .from(approvals)
      .where(and(eq(approvals.runId, runId), ne(approvals.status, 'pending'), isNull(approvals.resumedAt), isNotNull(approvals.checkpoint)))
      .limit(1);
    if (!row?.checkpoint) return undefined;
    // Opened before the run is taken: a checkpoint that cannot be read must not leave the run taken and stuck.
    const checkpoint = JSON.parse(this.sealer.unseal(checkpointAddress(runId, row.callId), JSON.parse(row.checkpoint) as SealedValue)) as RunCheckpoint;
    const [claimed, taken] = await this.db.batch([
      this.db.update(runs).set({ status: 'running', instanceId }).where(and(eq(runs.id, runId), eq(runs.status, 'awaiting_approval'))).returning(),
      this.db
        .update(approvals)
        .set({ resumedAt: new Date(), checkpoint: null })
        .where(
          and(
            eq(approvals.runId, runId),
            eq(approvals.callId, row.callId),
            isNull(approvals.resumedAt),
            sql`EXISTS (SELECT 1 FROM runs WHERE runs.id = ${runId} AND runs.status = 'running' AND runs.instance_id = ${instanceId})`,
          ),
        )
        .returning({ callId: approvals.callId }),
    ]);
    if (!claimed[0] || taken.length === 0) return undefined;
    return { run: toRun(claimed[0]), checkpoint, outcome: ApprovalStore.outcomeOf(toApproval(row)) };
  }

  /**
   * Marks a paused run cancelled, frees its session and closes its pending call (denied: the run was cancelled), in
   * one batch; false when it was not waiting any more.
   */
  async cancelPaused(run: Run): Promise<boolean> {
    const now = new Date();
    const [cancelled] = await this.db.batch([
      this.db.update(runs).set({ status: 'cancelled', completedAt: now }).where(and(eq(runs.id, run.id), eq(runs.status, 'awaiting_approval'))).returning({ id: runs.id }),
      this.db.update(sessions).set({ activeRunId: null }).where(and(eq(sessions.id, run.session_id), eq(sessions.activeRunId, run.id))),
      this.db
        .update(approvals)
        .set({ status: 'denied', reason: 'the run was cancelled', decidedBy: 'cancel', decidedAt: now, resumedAt: now, checkpoint: null })
        .where(and(eq(approvals.runId, run.id), isNull(approvals.resumedAt))),
    ]);
    return cancelled.length > 0;
  }

  /** Re-seals every stored checkpoint with a new master key, inside the vault's rotation (see VaultService.onRotate). */
  readonly rotation: RotationParticipant = async (tx, reseal) => {
    const rows = await tx
      .select({ runId: approvals.runId, callId: approvals.callId, checkpoint: approvals.checkpoint })
      .from(approvals)
      .where(isNotNull(approvals.checkpoint));
    for (const row of rows) {
      const sealed = JSON.parse(row.checkpoint!) as SealedValue;
      const resealed = reseal(checkpointAddress(row.runId, row.callId), sealed.ciphertext);
      await tx.update(approvals).set({ checkpoint: JSON.stringify(resealed) }).where(and(eq(approvals.runId, row.runId), eq(approvals.callId, row.callId)));
    }
    return rows.length;
  };

  /** The outcome the model gets for a decided call. */
  static outcomeOf(approval: Approval): ApprovalOutcome {
    const approved = approval.status === 'approved';
    return { callId: approval.call_id, approved, output: approved ? '' : denialOutput(approval.tool, approval.status, approval.reason), forSession: approval.for_session };
  }

}
