/**
 * A run's live updates as the MoxxyEvents of a turn, as Moxxy's SDK defines them (seed 001's channel speaks them):
 * the prompt, each model call (request, text, response), each tool call with the run's decision on it and its
 * result, and how the turn ended. A failed run ends with an `error` event, then its error is thrown.
 */
import type { MoxxyEvent, MoxxyEventBody } from '../../domain/channel-http.ts';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import type { RunHandle, RunUpdate, ToolDecision } from './runtime.ts';

/**
 * The one place a run's decision on a tool call becomes the SDK's approval events: the run's allow-lists and tool
 * policies (`decidedBy: "policy"`), or a person's decision on an `ask` call (`decidedBy: "resolver"`, the SDK's
 * name for whoever answers an approval request; `allow_session` when it holds for the rest of the session).
 */
function decisionEvent(callId: string, decision: ToolDecision): MoxxyEventBody {
  const decidedBy = decision.decidedBy === 'user' ? 'resolver' : 'policy';
  return decision.allowed
    ? { type: 'tool_call_approved', source: 'system', callId, decidedBy, mode: decision.forSession ? 'allow_session' : 'allow' }
    : { type: 'tool_call_denied', source: 'system', callId, decidedBy, reason: decision.reason };
}

function stopReasonOf(response: Extract<RunUpdate, { type: 'model_response' }>) {
  if (response.tool_calls > 0) return 'tool_use' as const;
  return response.finish_reason === 'length' ? ('max_tokens' as const) : ('end_turn' as const);
}

/** A failed run's error as the AppError it was (its code and message), with the run to look at. */
function runFailure(run: Extract<RunUpdate, { type: 'done' }>['run']): AppError {
  const code = run.error && run.error.code in ERROR_STATUS ? (run.error.code as ErrorCode) : 'INTERNAL_ERROR';
  return new AppError(code, run.error?.message ?? 'The run failed', { run_id: run.id });
}

/** `prompt` is the turn's user prompt, as the run took it. */
export async function* turnEvents(handle: RunHandle, prompt: string): AsyncGenerator<MoxxyEvent> {
  const { run } = handle;
  let seq = 0;
  const numbered = (body: MoxxyEventBody) =>
    ({ id: newId('evt'), seq: seq++, ts: Date.now(), sessionId: run.session_id, turnId: run.id, ...body }) as MoxxyEvent;
  const denied = new Set<string>();

  yield numbered({ type: 'user_prompt', source: 'user', text: prompt });
  for await (const update of handle.updates) {
    switch (update.type) {
      case 'model_request':
        yield numbered({ type: 'provider_request', source: 'model', provider: update.provider, model: update.model });
        break;
      case 'text':
        yield numbered({ type: 'assistant_chunk', source: 'model', delta: update.delta });
        break;
      case 'model_response': {
        const { provider, model, usage } = update;
        yield numbered({ type: 'provider_response', source: 'model', provider, model, inputTokens: usage.input_tokens, outputTokens: usage.output_tokens });
        yield numbered({ type: 'assistant_message', source: 'model', content: update.content, stopReason: stopReasonOf(update) });
        break;
      }
      case 'tool_call':
        if (!update.decision.allowed) denied.add(update.call.id);
        yield numbered({ type: 'tool_call_requested', source: 'model', callId: update.call.id, name: update.call.name, input: update.call.arguments });
        yield numbered(decisionEvent(update.call.id, update.decision));
        break;
      case 'tool_result':
        yield numbered(
          update.is_error
            ? { type: 'tool_result', source: 'tool', callId: update.id, ok: false, error: { message: update.output, kind: denied.has(update.id) ? 'denied' : 'threw' } }
            : { type: 'tool_result', source: 'tool', callId: update.id, ok: true, output: update.output },
        );
        break;
      case 'done': {
        const ended = update.run;
        if (ended.status === 'cancelled') yield numbered({ type: 'abort', source: 'system', reason: 'The run was cancelled' });
        if (ended.status === 'failed') {
          const failure = runFailure(ended);
          const kind = failure.code === 'PROVIDER_ERROR' || failure.code === 'PROVIDER_NOT_CONFIGURED' ? 'provider_failed' : 'fatal';
          yield numbered({ type: 'error', source: 'system', kind, message: failure.message });
          throw failure;
        }
        return;
      }
    }
  }
}
