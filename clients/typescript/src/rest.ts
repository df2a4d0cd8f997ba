/**
 * The REST client: one method per operation of openapi.json, grouped by the operationId's prefix
 * (`agents.get` -> `client.agents.get`). It runs on the generated operations table; the types come from the
 * generated openapi.ts. Envelopes are unwrapped, error answers throw MoxxyApiError, SSE operations return streams.
 */
import ky, { TimeoutError, type KyInstance, type Options as KyOptions } from 'ky';
import { errorFromBody, isTransportFailure, MoxxyApiError, transportError } from './errors.ts';
import { operations } from './generated/operations.ts';
import type { OperationSpec } from './operation-spec.ts';
import { createSseParser, readSseStream } from './sse.ts';
import type {
  GroupName,
  InputArgs,
  MethodName,
  OperationId,
  OperationResult,
  OperationsOf,
  ResumableOperationId,
  StreamEvent,
  StreamingOperationId,
} from './types.ts';

export interface MoxxyClientOptions {
  /** The server, e.g. `http://127.0.0.1:17890` (a path prefix is kept). */
  baseUrl: string;
  /** An API token (`mox_...`), sent as `Authorization: Bearer`. */
  token?: string;
  /** The server's MOXXY_INTERNAL_TOKEN, sent as `X-Moxxy-Internal-Token`. */
  internalToken?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Milliseconds until a request (for streams: until the response starts) is aborted; false for none. Default 60000. */
  timeout?: number | false;
  /** ky's retry option (default: ky's, which retries idempotent methods on 408/413/429/5xx, honouring Retry-After). */
  retry?: KyOptions['retry'];
  /** A fetch implementation, e.g. to go through a proxy or to record requests. */
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  timeout?: number | false;
}

export interface StreamOptions {
  /** Aborting ends the iteration (quietly) and closes the connection. */
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export interface ResumableStreamOptions extends StreamOptions {
  /** Resume after this event id (sent as Last-Event-ID). */
  lastEventId?: string;
  /**
   * Reconnects after a dropped connection, resuming from the last event received; the delay is the server's
   * `retry:` or `delayMs`. Default `{ attempts: 3, delayMs: 1000 }`; attempts start over after every event.
   */
  reconnect?: { attempts: number; delayMs?: number };
}

/** An open SSE operation: iterate it for each event's parsed `data`. It can be iterated once. */
export interface MoxxyStream<T> extends AsyncIterable<T> {
  /** The id of the last event received (or the one passed in), to resume from later. */
  readonly lastEventId: string | undefined;
  /** Closes the connection; a running iteration ends. */
  close(): void;
}

type RestMethod<K extends OperationId> = (...args: InputArgs<K, CallOptions>) => Promise<OperationResult<K>>;
type StreamMethod<K extends OperationId> = (
  ...args: InputArgs<K, K extends ResumableOperationId ? ResumableStreamOptions : StreamOptions>
) => MoxxyStream<StreamEvent<K>>;
type OperationMethod<K extends OperationId> = K extends StreamingOperationId ? StreamMethod<K> : RestMethod<K>;

export type MoxxyRestClient = {
  [G in GroupName]: { [K in OperationsOf<G> as MethodName<K>]: OperationMethod<K> } & (G extends 'chat'
    ? {
        /** `chat.streamPost`: stream a turn's answer, the message in a JSON body. */
        stream: OperationMethod<'chat.streamPost'>;
      }
    : {});
};

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_RECONNECT = { attempts: 3, delayMs: 1000 };
const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(operations).flatMap((spec) => Object.keys(spec.errors)));

type Input = Record<string, unknown>;

function queryValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(queryValue).join(',');
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** Splits a method's input into the URL (path and query parameters) and the body. */
function buildRequest(baseUrl: string, operationId: string, spec: OperationSpec, input: Input = {}): { url: string; options: KyOptions } {
  const rest: Input = { ...input };
  const path = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = rest[name];
    delete rest[name];
    if (value === undefined || value === null || value === '') throw new TypeError(`${operationId}: path parameter '${name}' is required`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const name of spec.query) {
    const value = rest[name];
    delete rest[name];
    if (value !== undefined && value !== null) search.set(name, queryValue(value));
  }
  const url = `${baseUrl}${path}${search.size > 0 ? `?${search}` : ''}`;
  if (spec.body === 'json') return { url, options: { json: spec.bodyInput === 'flat' ? rest : (rest.body ?? {}) } };
  if (spec.body === 'binary') {
    return { url, options: { body: rest.body as NonNullable<RequestInit['body']>, headers: { 'content-type': String(rest.contentType ?? 'application/octet-stream') } } };
  }
  return { url, options: {} };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

function mergeHeaders(...sets: Array<Record<string, string> | undefined>): Record<string, string> {
  return Object.assign({}, ...sets.filter(Boolean));
}

export function createMoxxyClient(options: MoxxyClientOptions): MoxxyRestClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const http: KyInstance = ky.create({
    throwHttpErrors: false,
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
    ...(options.retry !== undefined ? { retry: options.retry } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    headers: mergeHeaders(
      options.headers,
      options.token ? { authorization: `Bearer ${options.token}` } : undefined,
      options.internalToken ? { 'x-moxxy-internal-token': options.internalToken } : undefined,
    ),
  });

  /** The response, or MoxxyApiError CONNECTION_ERROR / TIMEOUT when there is none; an abort the caller asked for stays an abort. */
  async function send(operationId: string, spec: OperationSpec, input: Input | undefined, call: CallOptions & { accept: string }): Promise<Response> {
    const { url, options: request } = buildRequest(baseUrl, operationId, spec, input);
    try {
      return await http(url, {
        ...request,
        method: spec.method,
        headers: mergeHeaders({ accept: call.accept }, request.headers as Record<string, string> | undefined, call.headers),
        ...(call.signal ? { signal: call.signal } : {}),
        ...(call.timeout !== undefined ? { timeout: call.timeout } : {}),
      });
    } catch (error) {
      if (call.signal?.aborted) throw error;
      throw transportError(operationId, url, error, error instanceof TimeoutError);
    }
  }

  async function call(operationId: string, spec: OperationSpec, input?: Input, callOptions: CallOptions = {}): Promise<unknown> {
    const response = await send(operationId, spec, input, { ...callOptions, accept: 'application/json' });
    const text = await response.text();
    if (!response.ok) throw errorFromBody(operationId, response.status, text, KNOWN_CODES);
    if (text === '') return undefined;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new MoxxyApiError({ code: 'UNEXPECTED_RESPONSE', message: `${operationId} answered ${response.status} with a body that is not JSON`, status: response.status, operationId });
    }
    return spec.response === 'envelope' ? (body as { data: unknown }).data : body;
  }

  function stream(operationId: string, spec: OperationSpec, input?: Input, streamOptions: ResumableStreamOptions = {}): MoxxyStream<unknown> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    streamOptions.signal?.addEventListener('abort', stop, { once: true });
    if (streamOptions.signal?.aborted) stop();
    const reconnect = spec.resumable ? { ...DEFAULT_RECONNECT, ...streamOptions.reconnect } : { attempts: 0, delayMs: 0 };
    let lastEventId = streamOptions.lastEventId;

    async function* events(): AsyncGenerator<unknown> {
      let failures = 0;
      try {
        while (!controller.signal.aborted) {
          const parser = createSseParser(lastEventId);
          try {
            const response = await send(operationId, spec, input, {
              accept: 'text/event-stream',
              signal: controller.signal,
              headers: mergeHeaders(streamOptions.headers, spec.resumable && lastEventId ? { 'last-event-id': lastEventId } : undefined),
            });
            if (!response.ok) throw errorFromBody(operationId, response.status, await response.text(), KNOWN_CODES);
            if (!response.body || !response.headers.get('content-type')?.includes('text/event-stream')) {
              throw new MoxxyApiError({ code: 'UNEXPECTED_RESPONSE', message: `${operationId} did not answer with text/event-stream`, status: response.status, operationId });
            }
            for await (const message of readSseStream(response.body, parser)) {
              lastEventId = parser.lastEventId;
              failures = 0;
              if (message.data === '[DONE]') return;
              let data: unknown;
              try {
                data = JSON.parse(message.data);
              } catch {
                throw new MoxxyApiError({ code: 'UNEXPECTED_RESPONSE', message: `${operationId} sent an event whose data is not JSON`, status: response.status, operationId });
              }
              yield data;
            }
            return;
          } catch (error) {
            if (controller.signal.aborted) return;
            // A connection lost while reading is the same failure as one that never opened.
            const failure = error instanceof MoxxyApiError ? error : transportError(operationId, baseUrl, error, false);
            if (!isTransportFailure(failure) || failures >= reconnect.attempts) throw failure;
            failures++;
            await sleep(parser.retry ?? reconnect.delayMs, controller.signal);
          }
        }
      } finally {
        streamOptions.signal?.removeEventListener('abort', stop);
        controller.abort();
      }
    }

    const iterator = events();
    return {
      [Symbol.asyncIterator]: () => iterator,
      get lastEventId() {
        return lastEventId;
      },
      close: stop,
    };
  }

  const client: Record<string, Record<string, unknown>> = {};
  for (const [operationId, spec] of Object.entries(operations) as Array<[string, OperationSpec]>) {
    const [group, method] = operationId.split('.') as [string, string];
    client[group] ??= {};
    client[group][method] =
      spec.response === 'sse'
        ? (input?: Input, streamOptions?: ResumableStreamOptions) => stream(operationId, spec, input, streamOptions)
        : (input?: Input, callOptions?: CallOptions) => call(operationId, spec, input, callOptions);
  }
  client.chat!.stream = client.chat!.streamPost;
  return client as unknown as MoxxyRestClient;
}
