/** `moxxy run`: one turn in this process, no HTTP server. The answer streams to stdout, tool activity to stderr. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { ChatInput } from '../../domain/chat.ts';
import { createServices } from '../../services/container.ts';
import type { RunUpdate } from '../../services/runtime/runtime.ts';
import { failWithIssues } from '../fail.ts';
import { approvalHint } from './approvals.ts';

interface RunOptions {
  agent: string;
  prompt: string;
  session?: string;
  user?: string;
}

const TOOL_OUTPUT_CHARS = 200;

const oneLine = (text: string) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > TOOL_OUTPUT_CHARS ? `${flat.slice(0, TOOL_OUTPUT_CHARS)}...` : flat;
};

function printUpdate(update: RunUpdate): void {
  switch (update.type) {
    case 'text':
      process.stdout.write(update.delta);
      break;
    case 'tool_call':
      process.stderr.write(`-> ${update.call.name} ${oneLine(JSON.stringify(update.call.arguments ?? null))}\n`);
      break;
    case 'tool_result':
      process.stderr.write(`<- ${update.name}${update.is_error ? ' (error)' : ''}: ${oneLine(update.output)}\n`);
      break;
    case 'approval_requested':
      process.stderr.write(`.. ${approvalHint(update.approval)}\n`);
      break;
    case 'done':
      break;
  }
}

/**
 * Resolves with the exit status: 0 completed, 1 failed, 130 interrupted (Ctrl-C cancels the run), 2 waiting for
 * approval (the run stays paused in the database: `moxxy approvals`, or a server, goes on with it once decided).
 */
async function runOnce(options: RunOptions): Promise<number> {
  const input = ChatInput.safeParse({ message: options.prompt, session_id: options.session, user_id: options.user });
  if (!input.success) failWithIssues(input.error.issues);
  const services = await createServices(await loadConfig());
  try {
    const handle = await services.runtime.start({ ...input.data, agent: options.agent, source: 'cli' });
    const interrupt = () => void services.runtime.cancel(handle.run.id).catch(() => undefined);
    process.once('SIGINT', interrupt);
    let printed = '';
    for await (const update of handle.updates) {
      if (update.type === 'text') printed += update.delta;
      printUpdate(update);
      // The run's updates go on only once the call is decided, which this command does not wait for.
      if (update.type === 'approval_requested') break;
    }
    process.off('SIGINT', interrupt);
    const { run } = await handle.done;
    if (printed && !printed.endsWith('\n')) process.stdout.write('\n');
    if (run.status === 'failed') {
      process.stderr.write(`moxxy: ${run.error?.message ?? 'the run failed'} (run ${run.id})\n`);
      return 1;
    }
    if (run.status === 'awaiting_approval') return 2;
    return run.status === 'cancelled' ? 130 : 0;
  } finally {
    await services.close();
  }
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Run one turn of an agent in this process (no server) and stream the answer to stdout')
    .requiredOption('--prompt <text>', 'the user message')
    .option('--agent <name>', 'the agent to run', 'default')
    .option('--session <id>', 'continue this session (a new one is created otherwise)')
    .option('--user <id>', 'your end user, for history and memory')
    .action(async (options: RunOptions) => {
      process.exitCode = await runOnce(options);
    });
}
