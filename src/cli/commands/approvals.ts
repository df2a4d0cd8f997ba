/**
 * `moxxy approvals`: the tool calls waiting for a person (an agent's tool policy says `ask`), listed and decided from
 * the command line, in-process on the database like the other one-off commands. A decision goes the way the API's
 * does (src/services/approvals/service.ts): the process that paused the run goes on with it while it is alive (a
 * server), otherwise this one does; either way the command follows the run to its end and prints the answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { ApprovalDecisionInput, type Approval } from '../../domain/approvals.ts';
import type { Run } from '../../domain/chat.ts';
import type { Services } from '../../services/container.ts';
import { failWithIssues } from '../fail.ts';
import { withServices } from '../services.ts';

const PAGE = { limit: 100, offset: 0 };
/** How often a run going on in a server is read while the command follows it. */
const FOLLOW_MS = 100;
/** How often it looks, as a serving process does, for a decided run nobody took up. */
const SWEEP_MS = 1_000;

/** How a paused call is told on the command line: what waits, and what decides it (these commands, or the API). */
export function approvalHint(approval: Pick<Approval, 'tool' | 'run_id' | 'call_id'>): string {
  const ref = `${approval.run_id} ${approval.call_id}`;
  return (
    `${approval.tool} waits for approval: moxxy approvals approve ${ref} (or deny ${ref} --reason "..."), ` +
    `or POST /api/runs/${approval.run_id}/approvals/${approval.call_id} on a server of this database`
  );
}

async function pendingApprovals(services: Services, agent: string | undefined): Promise<Approval[]> {
  const names = agent ? [agent] : await allAgents(services);
  const found: Approval[] = [];
  for (const name of names) {
    for (let offset = 0; ; offset += PAGE.limit) {
      const { runs, pagination } = await services.runtime.list(name, { status: 'awaiting_approval' }, { ...PAGE, offset });
      for (const run of runs) if (run.pending_approval) found.push(run.pending_approval);
      if (offset + PAGE.limit >= pagination.total) break;
    }
  }
  return found;
}

async function allAgents(services: Services): Promise<string[]> {
  const names: string[] = [];
  for (let offset = 0; ; offset += PAGE.limit) {
    const { agents, pagination } = await services.agents.list({ ...PAGE, offset });
    names.push(...agents.map((agent) => agent.name));
    if (offset + PAGE.limit >= pagination.total) return names;
  }
}

/**
 * The run once it has ended, or paused on another call. Ctrl-C cancels it when it goes on in this process, and only
 * stops following it when it goes on in a server.
 */
async function follow(services: Services, runId: string, callId: string): Promise<Run> {
  let interrupted = false;
  let nextSweep = 0;
  const interrupt = () => {
    interrupted = true;
    if (services.runtime.isActive(runId)) void services.runtime.cancel(runId).catch(() => undefined);
  };
  process.once('SIGINT', interrupt);
  try {
    for (;;) {
      const run = await services.runtime.get(runId);
      // Until the run is taken up again it still reads awaiting_approval, with this call decided (no longer pending).
      const resuming = run.status === 'awaiting_approval' && (run.pending_approval === undefined || run.pending_approval.call_id === callId);
      if (!resuming && run.status !== 'running' && run.status !== 'queued') return run;
      if (interrupted && !services.runtime.isActive(runId)) return run;
      // Handed to a server that then went away: the sweep every serving process runs (each second) takes it up here.
      if (resuming && !services.runtime.isActive(runId) && Date.now() >= nextSweep) {
        nextSweep = Date.now() + SWEEP_MS;
        await services.approvals.sweep();
      }
      await sleep(FOLLOW_MS);
    }
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/** The run's outcome on stdout and stderr, and the exit status `moxxy run` would give it. */
function report(run: Run): number {
  if (run.output) process.stdout.write(run.output.endsWith('\n') ? run.output : `${run.output}\n`);
  switch (run.status) {
    case 'completed':
      return 0;
    case 'failed':
      process.stderr.write(`moxxy: ${run.error?.message ?? 'the run failed'} (run ${run.id})\n`);
      return 1;
    case 'awaiting_approval':
      if (run.pending_approval) process.stderr.write(`.. ${approvalHint(run.pending_approval)}\n`);
      return 2;
    case 'cancelled':
      return 130;
    default:
      // Still going on in a server when Ctrl-C stopped the following.
      process.stderr.write(`moxxy: run ${run.id} goes on in the server (GET /api/runs/${run.id})\n`);
      return 0;
  }
}

export function registerApprovalsCommand(program: Command): void {
  const approvals = program
    .command('approvals')
    .description("List and decide tool calls waiting for a person's approval (an agent's tool policy says `ask`)");

  approvals
    .command('list')
    .description('The calls waiting for a decision: run, call, tool, arguments, and when it expires (then it is denied)')
    .option('--agent <name>', "only this agent's")
    .action(async (options: { agent?: string }) => {
      const pending = await withServices((services) => pendingApprovals(services, options.agent));
      for (const approval of pending) {
        process.stdout.write(
          `${approval.run_id}\t${approval.call_id}\t${approval.tool}\t${JSON.stringify(approval.arguments ?? null)}\texpires ${approval.expires_at.toISOString()}\n`,
        );
      }
      if (pending.length === 0) process.stderr.write('No tool call is waiting for approval.\n');
    });

  for (const decision of ['approve', 'deny'] as const) {
    approvals
      .command(decision)
      .description(
        decision === 'approve'
          ? 'Approve a waiting call: the tool runs and the run goes on; prints the answer when it ends'
          : 'Deny a waiting call: the model is told it was refused (with the reason) and the run goes on; prints the answer',
      )
      .argument('<run>', 'the run id (run_...)')
      .argument('<call>', 'the call id, as `moxxy approvals list` shows it')
      .option('--reason <text>', decision === 'deny' ? 'told to the model as the tool result' : 'recorded with the decision')
      .option('--for-session', 'decide every later call of this tool in the session the same way')
      .action(async (runId: string, callId: string, options: { reason?: string; forSession?: boolean }) => {
        const input = ApprovalDecisionInput.safeParse({ decision, reason: options.reason, for_session: options.forSession ?? false });
        if (!input.success) failWithIssues(input.error.issues);
        process.exitCode = await withServices(async (services) => {
          const decided = await services.approvals.decide(runId, callId, input.data, 'cli');
          const where = services.runtime.isActive(runId) ? 'in this process' : 'in a server of this database';
          process.stderr.write(`.. ${decided.status} ${decided.tool} (${callId}); the run goes on ${where}\n`);
          return report(await follow(services, runId, callId));
        });
      });
  }
}
