/**
 * A run's live updates as the chunks of seed 000's chat stream: content deltas, tool activity (and a call waiting for
 * approval: the stream stays open until it is decided), then done.
 */
import type { ChatStreamChunk } from '../../domain/chat.ts';
import { isModelStep, type ModelStepUpdate, type RunHandle, type RunUpdate } from './runtime.ts';

export interface ChatChunkOptions {
  /** Aborts when the client reading the chunks goes away. */
  signal?: AbortSignal | undefined;
  /** Called when `signal` aborts before the run ended, e.g. to cancel the run nobody reads any more. */
  onAbandoned?: (() => void) | undefined;
}

export async function* chatChunks(handle: RunHandle, options: ChatChunkOptions = {}): AsyncGenerator<ChatStreamChunk> {
  let ended = false;
  // Listened to rather than checked between chunks: a client may leave while the model has not said a word yet.
  const abandoned = () => {
    if (!ended) options.onAbandoned?.();
  };
  options.signal?.addEventListener('abort', abandoned, { once: true });
  if (options.signal?.aborted) abandoned();
  try {
    for await (const update of handle.updates) {
      if (isModelStep(update)) continue;
      ended = update.type === 'done';
      yield toChunk(update, handle.run.id);
      if (ended) return;
    }
  } finally {
    options.signal?.removeEventListener('abort', abandoned);
  }
}

/** Every chunk names its run, so a client can cancel it from the first token on. */
function toChunk(update: Exclude<RunUpdate, ModelStepUpdate>, run_id: string): ChatStreamChunk {
  switch (update.type) {
    case 'text':
      return { content: update.delta, run_id };
    case 'tool_call':
      return { tool_call: update.call, run_id };
    case 'tool_result':
      return { tool_result: { id: update.id, name: update.name, output: update.output, is_error: update.is_error }, run_id };
    case 'approval_requested':
      return { approval_required: update.approval, run_id };
    case 'done': {
      const { run } = update;
      return {
        done: true,
        run_id: run.id,
        session_id: run.session_id,
        message_id: update.messageId,
        content: run.output ?? '',
        status: run.status,
        usage: run.usage,
        ...(run.error ? { error: run.error } : {}),
      };
    }
  }
}
