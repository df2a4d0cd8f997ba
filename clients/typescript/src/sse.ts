/**
 * A Server-Sent Events parser that follows the WHATWG rules: CRLF/LF/CR line ends, multi-line `data`, comments,
 * `id` (kept across messages), `event`, `retry`, a leading BOM, and field values with one optional leading space.
 */

export interface SseMessage {
  /** The last event id seen so far on this stream (the `id:` of this message or an earlier one). */
  id: string | undefined;
  /** `event:`, or `message` when absent. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
}

export interface SseParser {
  /** Feeds decoded text; returns the messages it completes. */
  push(text: string): SseMessage[];
  /** The reconnection delay the server last asked for with `retry:`, in ms. */
  readonly retry: number | undefined;
  /** The last event id (the value to send as Last-Event-ID). */
  readonly lastEventId: string | undefined;
}

export function createSseParser(initialLastEventId?: string): SseParser {
  let buffer = '';
  let started = false;
  let lastEventId = initialLastEventId;
  let retry: number | undefined;
  let data: string[] = [];
  let event = '';
  let hasData = false;

  function processLine(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (hasData) out.push({ id: lastEventId, event: event || 'message', data: data.join('\n') });
      data = [];
      event = '';
      hasData = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        data.push(value);
        hasData = true;
        break;
      case 'event':
        event = value;
        break;
      case 'id':
        if (!value.includes('\0')) lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) retry = Number(value);
        break;
    }
  }

  return {
    push(text) {
      buffer += text;
      if (!started && buffer.length > 0) {
        started = true;
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
      }
      const out: SseMessage[] = [];
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const char = buffer[i];
        if (char !== '\n' && char !== '\r') continue;
        // A CR at the very end may be the first half of a CRLF still on its way.
        if (char === '\r' && i === buffer.length - 1) break;
        processLine(buffer.slice(start, i), out);
        if (char === '\r' && buffer[i + 1] === '\n') i++;
        start = i + 1;
      }
      buffer = buffer.slice(start);
      return out;
    },
    get retry() {
      return retry;
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}

/** Reads a text/event-stream body into messages. A message cut off by the end of the stream is dropped, as the spec says. */
export async function* readSseStream(body: ReadableStream<Uint8Array>, parser: SseParser = createSseParser()): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    // Not awaited: some bodies (an intercepted fetch, a stalled proxy) settle a cancel only when more data comes.
    reader.cancel().catch(() => undefined);
  }
}
