/** Reads a Server-Sent Events response over real HTTP into messages. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseRead {
  status: number;
  headers: Headers;
  events: SseEvent[];
  comments: string[];
}

export function parseSse(text: string): { events: SseEvent[]; comments: string[] } {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  for (const block of text.split(/\n\n/)) {
    const event: SseEvent = { data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) event.id = line.slice(4);
      else if (line.startsWith('event: ')) event.event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length) events.push({ ...event, data: data.join('\n') });
  }
  return { events, comments };
}

/** Reads the whole stream (it must end by itself, or `until` must say when to stop). */
export async function readSse(url: string, init: RequestInit = {}, until?: (events: SseEvent[]) => boolean): Promise<SseRead> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const decoder = new TextDecoder();
  let text = '';
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (until?.(parseSse(text).events)) break;
    }
  } finally {
    controller.abort();
  }
  return { status: response.status, headers: response.headers, ...parseSse(text) };
}
