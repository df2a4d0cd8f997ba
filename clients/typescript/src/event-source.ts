/**
 * An EventSource on fetch, for runtimes without one (Node 20) and for what the browser's cannot do: send headers
 * (the API token). tRPC's httpSubscriptionLink runs on it. It reconnects after a dropped connection with
 * Last-Event-ID, as the standard says, and closes for good on an error answer, whose code and status the `error`
 * event carries in the tRPC error shape (so TRPCClientError.data.code is the API's code, as for queries).
 */
import { createSseParser, readSseStream } from './sse.ts';

export interface FetchEventSourceInit {
  withCredentials?: boolean;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** The `error` event of a refused connection. */
export interface EventSourceFailure extends Event {
  status: number;
  error: { message: string; code: number; data: { code: string; httpStatus: number } };
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
const DEFAULT_RETRY_MS = 1000;

/** JSON-RPC codes of tRPC, by HTTP status, for errors answered outside tRPC (the REST auth hook). */
const JSON_RPC_CODE: Record<number, number> = { 400: -32600, 401: -32001, 403: -32003, 404: -32004, 408: -32008, 409: -32009, 413: -32013, 429: -32029 };

function failureOf(status: number, text: string): EventSourceFailure['error'] {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const trpcError = body?.error?.json ?? body?.error;
  if (typeof trpcError?.code === 'number' && typeof trpcError.message === 'string') return trpcError;
  const envelope = body?.success === false ? body.error : undefined;
  return {
    message: typeof envelope?.message === 'string' ? envelope.message : `The stream was refused with HTTP ${status}`,
    code: JSON_RPC_CODE[status] ?? -32603,
    data: { code: typeof envelope?.code === 'string' ? envelope.code : 'UNEXPECTED_RESPONSE', httpStatus: status },
  };
}

export class FetchEventSource extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSED = CLOSED;

  readonly url: string;
  readonly withCredentials: boolean;
  readyState: number = CONNECTING;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  #controller: AbortController | undefined;
  #lastEventId: string | undefined;
  #retryMs = DEFAULT_RETRY_MS;

  constructor(url: string | URL, init: FetchEventSourceInit = {}) {
    super();
    this.url = String(url);
    this.withCredentials = init.withCredentials ?? false;
    this.#headers = init.headers ?? {};
    this.#fetch = init.fetch ?? globalThis.fetch;
    void this.#connect();
  }

  close(): void {
    this.readyState = CLOSED;
    this.#controller?.abort();
  }

  #emit(event: Event): void {
    this.dispatchEvent(event);
    if (event.type === 'open') this.onopen?.(event);
    else if (event.type === 'error') this.onerror?.(event);
    else if (event.type === 'message') this.onmessage?.(event as MessageEvent);
  }

  async #connect(): Promise<void> {
    const controller = new AbortController();
    this.#controller = controller;
    try {
      const response = await this.#fetch(this.url, {
        headers: {
          accept: 'text/event-stream',
          'cache-control': 'no-cache',
          ...this.#headers,
          ...(this.#lastEventId ? { 'last-event-id': this.#lastEventId } : {}),
        },
        signal: controller.signal,
        ...(this.withCredentials ? { credentials: 'include' as const } : {}),
      });
      if (this.readyState === CLOSED) return;
      if (!response.ok || !response.body || !response.headers.get('content-type')?.includes('text/event-stream')) {
        const text = await response.text().catch(() => '');
        this.readyState = CLOSED;
        this.#emit(Object.assign(new Event('error'), { status: response.status, error: failureOf(response.status, text) }));
        return;
      }
      this.readyState = OPEN;
      this.#emit(new Event('open'));
      const parser = createSseParser(this.#lastEventId);
      for await (const message of readSseStream(response.body, parser)) {
        if (this.readyState === CLOSED) return;
        this.#lastEventId = parser.lastEventId;
        this.#retryMs = parser.retry ?? this.#retryMs;
        this.#emit(new MessageEvent(message.event, { data: message.data, lastEventId: parser.lastEventId ?? '', origin: new URL(this.url).origin }));
      }
    } catch {
      // A dropped connection: reconnect below, unless closed.
    }
    if (this.readyState === CLOSED) return;
    this.readyState = CONNECTING;
    this.#emit(new Event('error'));
    setTimeout(() => {
      if (this.readyState !== CLOSED) void this.#connect();
    }, this.#retryMs);
  }
}
