/**
 * Server-Sent Events over a fastify reply, for every streaming route (event stream, chat and run streams).
 *
 *   const stream = openSse(request, reply, { keepAliveMs: services.events.options.keepAliveMs });
 *   while (!stream.closed) await stream.send({ id, data: envelope });
 *
 * - `openSse` takes the reply over (reply.hijack()) and writes the headers at once, so validate and
 *   answer error envelopes before calling it. Headers already set on the reply (rate limits) are kept.
 * - `send` writes one message: `data` that is a string goes out verbatim (e.g. `[DONE]`), anything
 *   else as JSON; multi-line data becomes several `data:` lines. An `event:` name is for messages a client must
 *   tell apart (`event: error`): `EventSource.onmessage` never sees a named message. `write` sends text already made
 *   with `formatSseMessage` (one or several messages), for fan-out that formats each event once.
 *   Both resolve true once the socket took the bytes (waiting for 'drain' under backpressure), or
 *   false when the stream is closed.
 * - A `: keep-alive` comment goes out every `keepAliveMs` while nothing else was written.
 * - `signal` aborts when the client disconnects or the stream is closed; `close()` ends the response.
 * - Every stream is tracked (src/http/open-streams.ts): it is closed when the server closes, and when the
 *   API token that opened it is revoked or expires.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { logOf } from './logger.ts';
import { trackStream } from './open-streams.ts';

export interface SseMessage {
  id?: string;
  event?: string;
  data: unknown;
}

export interface SseOptions {
  /** Milliseconds between keep-alive comments; 0 disables them. The server's is the event bus's (src/services/events/bus.ts). */
  keepAliveMs: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

export interface SseStream {
  send(message: SseMessage): Promise<boolean>;
  write(formatted: string): Promise<boolean>;
  readonly signal: AbortSignal;
  readonly closed: boolean;
  close(): void;
}

const oneLine = (text: string) => text.replace(/[\r\n]/g, ' ');

/** One SSE message as text: `id:`, `event:`, one `data:` line per line of data, then a blank line. */
export function formatSseMessage({ id, event, data }: SseMessage): string {
  let out = '';
  if (id !== undefined) out += `id: ${oneLine(id)}\n`;
  if (event !== undefined) out += `event: ${oneLine(event)}\n`;
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

export function openSse(request: FastifyRequest, reply: FastifyReply, options: SseOptions): SseStream {
  reply.hijack();
  const res = reply.raw;
  const controller = new AbortController();

  res.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    ...options.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();

  let closed = false;
  let wroteSinceKeepAlive = false;
  const write = (chunk: string): Promise<boolean> => {
    if (closed) return Promise.resolve(false);
    wroteSinceKeepAlive = true;
    if (res.write(chunk)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        controller.signal.removeEventListener('abort', done);
        resolve(!closed);
      };
      res.on('drain', done);
      controller.signal.addEventListener('abort', done);
    });
  };

  const { keepAliveMs } = options;
  const timer =
    keepAliveMs > 0
      ? setInterval(() => {
          if (!wroteSinceKeepAlive && !res.writableNeedDrain) void write(': keep-alive\n\n');
          wroteSinceKeepAlive = false;
        }, keepAliveMs)
      : undefined;
  timer?.unref();

  const stream: SseStream = {
    send: (message) => write(formatSseMessage(message)),
    write,
    signal: controller.signal,
    get closed() {
      return closed;
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      controller.abort();
      if (!res.writableEnded) res.end();
    },
  };
  trackStream(request, res, () => stream.close());
  res.once('close', () => stream.close());
  res.on('error', (error) => logOf(request).debug({ err: error }, 'SSE client connection failed'));
  return stream;
}
