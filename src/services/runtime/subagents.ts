/**
 * Sub-agents: the `subagent.spawn` tool hands a task to a child run (of the same agent or another one), waits
 * for its answer and gives it back to the model. An agent may spawn itself, and other agents only when it names
 * them in `subagents`; the child's run obeys its own agent's allow-list and every list of its parent's run, so a
 * sub-agent never holds a tool its parent could not call. Children are bounded in depth below the top-level run
 * and in number alive at once; past either limit the tool answers with an error the model can read, and the
 * parent run goes on. Cancelling the parent cancels its children.
 */
import { z } from 'zod';
import { Slug } from '../../domain/common.ts';
import { isAppError } from '../../domain/errors.ts';
import { inheritedLists } from '../../domain/tool-access.ts';
import type { EventBus } from '../events/bus.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { ToolContext, ToolDefinition, ToolResult } from '../tools/types.ts';
import type { RunHandle, Runtime } from './runtime.ts';

export const SubagentSpawnArgs = z.strictObject({
  agent: Slug.optional().describe('The agent to hand the task to; the calling agent when omitted.'),
  prompt: z.string().min(1).max(32_000).describe('The task, as the first message of the sub-agent\'s run.'),
});
type SubagentSpawnArgs = z.infer<typeof SubagentSpawnArgs>;

export interface SubagentLimits {
  /** How many levels below a top-level run (depth 0) a sub-agent may be. */
  maxDepth: number;
  /** Sub-agent runs alive at once, across every agent. */
  maxTotal: number;
}

export interface SubagentDeps {
  runtime: Runtime;
  events: EventBus;
  limits: SubagentLimits;
}

const refuse = (output: string): ToolResult => ({ output: `Error: ${output}`, isError: true });

export class Subagents {
  constructor(private readonly deps: SubagentDeps) {}

  tools(): ToolDefinition[] {
    return [
      defineTool({
        name: 'subagent.spawn',
        description:
          'Hand a self-contained task to a sub-agent (yourself by default, or another agent by name) and get its final answer back. ' +
          'The sub-agent starts with a fresh conversation: put everything it needs in the prompt.',
        args: SubagentSpawnArgs,
        execute: (args, context) => this.spawn(args, context),
      }),
    ];
  }

  private async spawn(args: SubagentSpawnArgs, context: ToolContext): Promise<ToolResult> {
    if (!context.runId) return refuse('subagent.spawn can only be called from a run');
    const { maxDepth, maxTotal } = this.deps.limits;
    const parent = await this.deps.runtime.get(context.runId);
    const depth = parent.depth + 1;
    if (depth > maxDepth) {
      return refuse(`sub-agent depth limit reached: this run is already ${parent.depth} level(s) deep and sub-agents may go ${maxDepth} deep; do the task yourself`);
    }
    if (context.signal.aborted) return refuse('the run was cancelled');

    const agent = args.agent ?? context.agent.name;
    if (agent !== context.agent.name && !context.agent.subagents.includes(agent)) {
      await this.emit(context, 'security.violation', { reason: 'subagent_not_allowed', agent, tool: 'subagent.spawn' });
      return refuse(`agent '${context.agent.name}' may not hand tasks to '${agent}': only to itself and the agents in its subagents list (${context.agent.subagents.join(', ') || 'none'})`);
    }
    let handle: RunHandle;
    try {
      // The limit on sub-agents alive at once is checked where the run is inserted, across every process.
      handle = await this.deps.runtime.start({
        agent,
        message: args.prompt,
        source: 'subagent',
        parentRunId: parent.id,
        depth,
        user_id: context.userId ?? undefined,
        restrictions: inheritedLists(context.allowLists),
        subagentLimit: maxTotal,
        // The parent waits inside a tool call: nobody is there to approve the child's calls.
        noApprover: true,
      });
    } catch (error) {
      if (isAppError(error) && error.details?.reason === 'subagent_limit') {
        return refuse(`too many sub-agents running (limit ${maxTotal}); try again later or do the task yourself`);
      }
      return refuse(isAppError(error) ? error.message : 'the sub-agent could not be started');
    }
    const child = handle.run;
    const lineage = { parent_run_id: parent.id, child_run_id: child.id, agent, depth };
    await this.emit(context, 'subagent.spawned', { ...lineage, prompt: args.prompt });

    const cancelChild = () => void this.deps.runtime.cancel(child.id).catch(() => undefined);
    context.signal.addEventListener('abort', cancelChild, { once: true });
    if (context.signal.aborted) cancelChild();
    const { run } = await handle.done.finally(() => context.signal.removeEventListener('abort', cancelChild));

    await this.emit(context, 'subagent.completed', { ...lineage, status: run.status, output: run.output, error: run.error, usage: run.usage });
    const data = { run_id: run.id, agent, status: run.status };
    if (run.status === 'completed') return { output: run.output ?? '', data };
    const reason = run.status === 'cancelled' ? 'was cancelled' : `failed: ${run.error?.message ?? 'unknown error'}`;
    return { ...refuse(`the sub-agent's run ${run.id} ${reason}`), data };
  }

  private emit(context: ToolContext, type: 'subagent.spawned' | 'subagent.completed' | 'security.violation', payload: Record<string, unknown>) {
    return this.deps.events.emit({ agent_id: context.agent.name, run_id: context.runId, event_type: type, payload });
  }
}
