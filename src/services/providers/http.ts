/** A model provider's request (over src/services/outbound-http.ts, with the providers' timeout and retries): its error mapping and failure logs. */
import type { MoxxyConfig } from '../../config/schema.ts';
import { AppError } from '../../domain/errors.ts';
import { jsonBody, OutboundTimeout, outboundFetch } from '../outbound-http.ts';
import { readSseEvents, type SseEvent } from './sse.ts';
import type { ModelStreamEvent, ProviderLog } from './types.ts';

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

/** How a provider reads its answer: streamed as SSE, or whole as JSON when the server ignores `stream: true`. */
export interface AnswerDecoder {
  stream(events: AsyncIterable<SseEvent>): AsyncGenerator<ModelStreamEvent>;
  json(body: unknown): Generator<ModelStreamEvent>;
}

/** A failure of the exchange itself, described as the caller (and the log) is told: message, upstream status, cause. */
class ProviderFailure extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * POSTs the request and hands the answer to the decoder. Retries happen only before the response starts; once
 * events flow, a failure is final. An abort ends the stream with `cancelled` instead of an error; every other
 * failure is logged at warn and becomes PROVIDER_ERROR with the provider, the upstream status and the cause.
 */
export async function* streamFromProvider(
  post: StreamingPost,
  settings: HttpSettings,
  decoder: AnswerDecoder,
  log: ProviderLog,
): AsyncGenerator<ModelStreamEvent> {
  try {
    post.signal?.throwIfAborted();
    const response = await postWithRetries(post, settings);
    if (response.headers.get('content-type')?.includes('application/json')) {
      yield* decoder.json(await response.json());
      return;
    }
    if (!response.body) throw new Error('the response has no body');
    yield* decoder.stream(readSseEvents(response.body, { signal: post.signal, idleTimeoutMs: settings.timeoutMs }));
  } catch (error) {
    if (post.signal?.aborted) {
      yield { type: 'done', finish_reason: 'cancelled' };
      return;
    }
    const failure = describeFailure(error, post, settings);
    log({ ...failure.details, url: displayUrl(post.url) }, failure.message);
    throw failure;
  }
}

/** The AppError for a failure; neither its message nor its details carry the API key. */
function describeFailure(error: unknown, post: StreamingPost, settings: HttpSettings): AppError {
  if (error instanceof AppError) return new AppError(error.code, scrub(error.message, post.apiKey), { provider: post.provider, ...error.details });
  let message: string;
  let cause: string;
  let status: number | undefined;
  if (error instanceof OutboundTimeout) {
    message = `${post.provider} did not answer within ${settings.timeoutMs} ms`;
    cause = 'timeout';
  } else if (error instanceof ProviderFailure) {
    ({ message, reason: cause, status } = error);
  } else {
    cause = error instanceof Error ? error.message : String(error);
    message = `${post.provider} request failed: ${cause}`;
  }
  return new AppError('PROVIDER_ERROR', scrub(message, post.apiKey), {
    provider: post.provider,
    ...(status ? { status } : {}),
    cause: scrub(cause, post.apiKey),
  });
}

/** fetch says only "fetch failed"; what went wrong (ECONNREFUSED, a DNS failure, TLS) is its cause. */
function unreachable(post: StreamingPost, error: unknown): ProviderFailure {
  const inner = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const cause = inner instanceof Error ? inner.message : String(inner);
  return new ProviderFailure(`${post.provider} could not be reached at ${displayUrl(post.url)}: ${cause}`, cause);
}

/** The URL without credentials or query (some gateways take the key there). */
function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** POSTs with the providers' retries (429, 5xx and network errors, before the answer starts); a failed answer is a ProviderFailure. */
async function postWithRetries(post: StreamingPost, settings: HttpSettings): Promise<Response> {
  let response: Response;
  try {
    response = await outboundFetch(
      post.url,
      { method: 'POST', ...jsonBody(post.body, post.headers) },
      { timeoutMs: settings.timeoutMs, signal: post.signal, retry: { maxRetries: settings.maxRetries, baseDelayMs: settings.retryBaseDelayMs } },
    );
  } catch (error) {
    if (error instanceof OutboundTimeout || post.signal?.aborted) throw error;
    throw unreachable(post, error);
  }
  if (response.ok) return response;
  const reason = await errorReason(response);
  throw new ProviderFailure(`${post.provider} answered HTTP ${response.status}: ${reason}`, reason, response.status);
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
