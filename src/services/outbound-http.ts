/**
 * Outbound HTTP: the one place that sets timeouts, retries and the SSRF guard, for every request the server makes
 * (model providers, Telegram, embeddings, transcription, skill installs, web_crawler, MCP over HTTP). It goes
 * through global fetch, so the tests' msw sees every request.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../domain/errors.ts';
import { discard, guardedFetch, OutboundFetchError, type NetGuardOptions } from './net-guard.ts';

export interface RetryPolicy {
  /** Attempts after the first, for 429, 5xx and network errors; never once the answer has started. */
  maxRetries: number;
  /** Doubles each attempt; a Retry-After (seconds) wins. Both are capped at 30 s. */
  baseDelayMs: number;
}

export interface OutboundOptions {
  /**
   * How long the answer may take to start (status and headers); the body is then the caller's to bound. None only
   * where the caller times every request itself (the MCP SDK's client).
   */
  timeoutMs: number | undefined;
  /** The caller's: aborting it aborts the request and its body. */
  signal?: AbortSignal;
  retry?: RetryPolicy;
  /**
   * For URLs that users or models choose: every hop is checked and names resolve through the guard at connect
   * time (src/services/net-guard.ts); a refusal throws URL_NOT_ALLOWED. Redirects are then followed by the guard.
   */
  guard?: NetGuardOptions;
}

/** No answer began within `timeoutMs` (named like the platform's, so `error.name === 'TimeoutError'` holds for both). */
export class OutboundTimeout extends Error {
  override name = 'TimeoutError';

  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * fetch with the options above. Without `retry`, any answer is returned as it is (the caller reads its status); with
 * it, 429 and 5xx answers and network errors are tried again, and the last answer (or error) is the caller's.
 */
export async function outboundFetch(url: string | URL, init: RequestInit, options: OutboundOptions): Promise<Response> {
  const maxRetries = options.retry?.maxRetries ?? 0;
  for (let attempt = 0; ; attempt += 1) {
    const lastAttempt = attempt >= maxRetries;
    let response: Response | undefined;
    try {
      response = await fetchOnce(url, init, options);
    } catch (error) {
      if (error instanceof OutboundTimeout || options.signal?.aborted || lastAttempt) throw error;
    }
    if (response && (response.ok || lastAttempt || !(response.status === 429 || response.status >= 500))) return response;
    // Draining the failed attempt lets its connection be reused; its content no longer matters.
    await response?.arrayBuffer().catch(() => undefined);
    await sleep(retryDelay(response, attempt, options.retry!), undefined, { signal: options.signal });
  }
}

async function fetchOnce(url: string | URL, init: RequestInit, options: OutboundOptions): Promise<Response> {
  const timeout = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => timeout.abort(), options.timeoutMs);
  try {
    const request = { ...init, signal };
    return await (options.guard ? guardedFetch(url, request, options.guard) : fetch(url, request));
  } catch (error) {
    if (timeout.signal.aborted && !options.signal?.aborted) throw new OutboundTimeout(options.timeoutMs!);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The server's Retry-After (in seconds) wins over the backoff; both are capped. */
function retryDelay(response: Response | undefined, attempt: number, retry: RetryPolicy): number {
  const retryAfterSeconds = Number(response?.headers.get('retry-after') ?? Number.NaN);
  const delay = Number.isFinite(retryAfterSeconds) ? retryAfterSeconds * 1000 : retry.baseDelayMs * 2 ** attempt;
  return Math.min(Math.max(delay, 0), MAX_RETRY_DELAY_MS);
}

export interface GuardedGet {
  guard: NetGuardOptions;
  /** For the whole exchange, body included. */
  timeoutMs: number;
  maxBytes: number;
  /** Past maxBytes: fail (default) or keep the first maxBytes and say so. */
  overflow?: 'fail' | 'truncate';
  signal?: AbortSignal;
}

export interface FetchedBody {
  url: string;
  contentType: string;
  body: string;
  truncated: boolean;
}

/** GETs a URL with the body capped and the whole exchange bounded in time (always guarded: these URLs are chosen by someone else). */
export async function fetchGuarded(url: string, options: GuardedGet): Promise<FetchedBody> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await outboundFetch(url, { method: 'GET' }, { timeoutMs: options.timeoutMs, signal, guard: options.guard });
    const at = new URL(response.url || url);
    if (!response.ok) {
      discard(response);
      throw new OutboundFetchError(`${at.href} answered HTTP ${response.status}`, response.status);
    }
    const { bytes, truncated } = await readCapped(response, at, options);
    return { url: at.href, contentType: response.headers.get('content-type') ?? '', body: new TextDecoder().decode(bytes), truncated };
  } catch (error) {
    if ((timeout.aborted || error instanceof OutboundTimeout) && !options.signal?.aborted) throw new OutboundFetchError(`${url} did not answer within ${options.timeoutMs} ms`);
    if (error instanceof AppError || error instanceof OutboundFetchError || options.signal?.aborted) throw error;
    throw new OutboundFetchError(`${url} could not be fetched: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function readCapped(response: Response, url: URL, options: GuardedGet): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const tooLarge = () => new OutboundFetchError(`${url.href} is larger than ${options.maxBytes} bytes`);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (options.overflow !== 'truncate' && declared > options.maxBytes) {
    discard(response);
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!response.body) return { bytes: new Uint8Array(), truncated: false };
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > options.maxBytes) {
      void reader.cancel().catch(() => undefined);
      if (options.overflow !== 'truncate') throw tooLarge();
      chunks.push(value.subarray(0, options.maxBytes - size));
      return { bytes: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { bytes: Buffer.concat(chunks), truncated: false };
}

/** A JSON request body with its content type. */
export function jsonBody(body: unknown, headers: Record<string, string> = {}): Pick<RequestInit, 'body' | 'headers'> {
  return { body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } };
}
