/** Events as a timeline: time, type, agent, run and a one-line summary; each opens to its whole payload. */
import type { Schema } from '@moxxy/client';
import { href } from '../router.ts';
import { Json } from './kit.tsx';

export type MoxxyEvent = Schema<'Event'>;

const clip = (text: string, length = 140) => (text.length > length ? `${text.slice(0, length)}…` : text);
const field = (payload: Record<string, unknown>, name: string) => (typeof payload[name] === 'string' ? (payload[name] as string) : JSON.stringify(payload[name] ?? ''));

/** The line that says what happened, from the fields each kind of event carries. */
export function summarize(event: MoxxyEvent): string {
  const { payload } = event;
  switch (event.event_type) {
    case 'run.started':
      return clip(field(payload, 'input'));
    case 'message.user':
    case 'message.assistant':
      return clip(field(payload, 'content'));
    case 'model.stream':
      return clip(field(payload, 'delta'));
    case 'primitive.called':
    case 'skill.invoked':
      return clip(`${field(payload, 'name')} ${JSON.stringify(payload.args ?? {})}`);
    case 'primitive.result':
    case 'skill.completed':
      return clip(`${field(payload, 'name')} → ${field(payload, 'output')}`);
    case 'run.failed':
      return clip(JSON.stringify(payload.error ?? payload));
    default:
      return clip(JSON.stringify(payload));
  }
}

/** The family of an event type (`run`, `model`, `skill`...), for its colour. */
const familyOf = (type: string) => type.split('.')[0] ?? '';

export function EventList({ events, label }: { events: readonly MoxxyEvent[]; label: string }) {
  return (
    <ol class="events" aria-label={label}>
      {events.map((event) => (
        <li key={event.event_id} class={`event family-${familyOf(event.event_type)}`} data-event-type={event.event_type}>
          <details>
            <summary>
              <time dateTime={event.timestamp}>{new Date(event.timestamp).toLocaleTimeString()}</time>
              <span class="event-type">{event.event_type}</span>
              {event.agent_id ? <span class="muted">{event.agent_id}</span> : null}
              <span class="event-summary">{summarize(event)}</span>
            </summary>
            <dl class="event-meta">
              <dt>Event</dt>
              <dd>
                <code>{event.event_id}</code> #{event.sequence}
              </dd>
              {event.run_id ? (
                <>
                  <dt>Run</dt>
                  <dd>
                    <a href={href('runs', event.agent_id ?? undefined, event.run_id)}>{event.run_id}</a>
                  </dd>
                </>
              ) : null}
            </dl>
            <Json value={event.payload} />
          </details>
        </li>
      ))}
    </ol>
  );
}
