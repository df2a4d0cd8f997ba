/** Outbound HTTP for the model providers: the one place that sets timeouts, retries and error mapping. */
import { setTimeout as sleep } from 'node:timers/promises';
import ky, { TimeoutError } from 'ky';
import type { MoxxyConfig } from '../../config/schema.ts';
import { AppError } from '../../domain/errors.ts';
import { readSseEvents, type SseEvent } from './sse.ts';
import type { ModelStreamEvent } from './types.ts';

export type HttpSettings = Pick<MoxxyConfig['providers'], 'timeoutMs' | 'maxRetries' | 'retryBaseDelayMs'>;

export interface StreamingPost {
  provider: 'openai' | 'anthropic';
  url: string;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal | undefined;
  /** Scrubbed from every error message, in case the server echoes it back. */
  apiKey: string | undefined;
}

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * POSTs the request and hands the SSE events to `decode`. Retries happen only before the response
 * starts; once events flow, a failure is final. An abort ends the stream with `cancelled` instead
 * of an error; every other failure becomes PROVIDER_ERROR.
 */
export async function* streamFromProvider(
  post: StreamingPost,
  settings: HttpSettings,
  decode: (events: AsyncIterable<SseEvent>) => AsyncGenerator<ModelStreamEvent>,
): AsyncGenerator<ModelStreamEvent> {
  try {
    post.signal?.throwIfAborted();
    const response = await postWithRetries(post, settings);
    if (!response.body) throw new Error('the response has no body');
    yield* decode(readSseEvents(response.body, { signal: post.signal, idleTimeoutMs: settings.timeoutMs }));
  } catch (error) {
    if (post.signal?.aborted) {
      yield { type: 'done', finish_reason: 'cancelled' };
      return;
    }
    if (error instanceof AppError) throw error;
    const message =
      error instanceof TimeoutError
        ? `${post.provider} did not answer within ${settings.timeoutMs} ms`
        : `${post.provider} request failed: ${error instanceof Error ? error.message : String(error)}`;
    throw new AppError('PROVIDER_ERROR', scrub(message, post.apiKey), { provider: post.provider });
  }
}

/** Retries 429, 5xx and network errors with exponential backoff, up to `maxRetries` times. */
async function postWithRetries(post: StreamingPost, settings: HttpSettings): Promise<Response> {
  for (let attempt = 0; ; attempt += 1) {
    const lastAttempt = attempt >= settings.maxRetries;
    let response: Response | undefined;
    try {
      response = await ky.post(post.url, {
        json: post.body,
        headers: post.headers,
        signal: post.signal,
        timeout: settings.timeoutMs,
        retry: 0,
        throwHttpErrors: false,
      });
    } catch (error) {
      if (lastAttempt || error instanceof TimeoutError || post.signal?.aborted) throw error;
    }
    if (response?.ok) return response;
    if (response && (lastAttempt || !(response.status === 429 || response.status >= 500))) throw await httpFailure(response, post);
    // Draining the failed attempt lets its connection be reused; its content no longer matters.
    await response?.arrayBuffer().catch(() => undefined);
    await sleep(retryDelay(response, attempt, settings), undefined, { signal: post.signal });
  }
}

/** The server's Retry-After (in seconds) wins over the backoff; both are capped. */
function retryDelay(response: Response | undefined, attempt: number, settings: HttpSettings): number {
  const retryAfterSeconds = Number(response?.headers.get('retry-after') ?? Number.NaN);
  const delay = Number.isFinite(retryAfterSeconds) ? retryAfterSeconds * 1000 : settings.retryBaseDelayMs * 2 ** attempt;
  return Math.min(Math.max(delay, 0), MAX_RETRY_DELAY_MS);
}

async function httpFailure(response: Response, post: StreamingPost): Promise<AppError> {
  const message = `${post.provider} answered HTTP ${response.status}: ${await errorReason(response)}`;
  return new AppError('PROVIDER_ERROR', scrub(message, post.apiKey), { provider: post.provider, status: response.status });
}

/** Both APIs explain failures as `{ error: { message } }`; anything else is shown briefly as text. */
async function errorReason(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const message: unknown = JSON.parse(text)?.error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return text.slice(0, 200) || response.statusText;
}

function scrub(message: string, apiKey: string | undefined): string {
  return apiKey ? message.replaceAll(apiKey, '[REDACTED]') : message;
}
