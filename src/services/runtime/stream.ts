/** A run's live updates as the chunks of seed 000's chat stream: content deltas, tool activity, then done. */
import type { ChatStreamChunk } from '../../domain/chat.ts';
import type { RunHandle } from './runtime.ts';

export async function* chatChunks(handle: RunHandle): AsyncGenerator<ChatStreamChunk> {
  for await (const update of handle.updates) {
    switch (update.type) {
      case 'text':
        yield { content: update.delta };
        break;
      case 'tool_call':
        yield { tool_call: update.call };
        break;
      case 'tool_result':
        yield { tool_result: { id: update.id, name: update.name, output: update.output, is_error: update.is_error } };
        break;
      case 'done': {
        const { run } = update;
        yield {
          done: true,
          run_id: run.id,
          session_id: run.session_id,
          message_id: update.messageId,
          content: run.output ?? '',
          status: run.status,
          usage: run.usage,
          ...(run.error ? { error: run.error } : {}),
        };
        return;
      }
    }
  }
}
