/** A server-sent events reader for the streaming model APIs. */
import type { z } from 'zod';

export interface SseEvent {
  event: string;
  data: string;
}

export interface SseReadOptions {
  signal?: AbortSignal | undefined;
  /** A connection that stays silent this long is treated as broken rather than waited on forever. */
  idleTimeoutMs: number;
}

/**
 * Yields complete events. On abort it simply stops, leaving the caller to notice `signal.aborted`;
 * an event cut off by the end of the stream is dropped, as the SSE spec requires.
 */
export async function* readSseEvents(body: ReadableStream<Uint8Array>, options: SseReadOptions): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const release = (): void => void reader.cancel().catch(() => undefined);
  options.signal?.addEventListener('abort', release, { once: true });
  let stalled = false;
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  try {
    for (;;) {
      const timer = setTimeout(() => {
        stalled = true;
        release();
      }, options.idleTimeoutMs);
      const chunk = await reader.read().finally(() => clearTimeout(timer));
      if (stalled) throw new Error(`no data received for ${options.idleTimeoutMs} ms`);
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const rawLine of lines) {
        const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
        if (line === '') {
          if (data.length > 0) yield { event, data: data.join('\n') };
          event = 'message';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', release);
    // Also reached when the consumer stops early: cancelling frees the connection.
    release();
  }
}

/** Parses one event's JSON payload; anything unexpected is a broken stream. */
export function parseEventData<T extends z.ZodType>(schema: T, data: string): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new Error(`malformed stream data: ${data.slice(0, 200)}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`unexpected stream data: ${data.slice(0, 200)}`);
  return parsed.data;
}
