/** Live events: the event stream (GET /v1/events/stream) with its filters, newest first, pausable. */
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { EventList, type MoxxyEvent } from '../ui/event-list.tsx';
import { Badge, Check, Empty, ErrorNotice, Field, PageHeader } from '../ui/kit.tsx';

/** How many events stay on screen; older ones are in the audit log. */
const KEEP = 500;

const typesOf = (text: string) => text.split(',').map((type) => type.trim()).filter(Boolean);

export function EventsPage(_props: PageProps) {
  const [agentId, setAgentId] = useState('');
  const [runId, setRunId] = useState('');
  const [types, setTypes] = useState('');
  const [hideDeltas, setHideDeltas] = useState(true);
  const [paused, setPaused] = useState(false);
  const [events, setEvents] = useState<MoxxyEvent[]>([]);
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [seenTypes, setSeenTypes] = useState<string[]>([]);

  useEffect(() => {
    if (paused) return;
    const controller = new AbortController();
    setError(undefined);
    const eventTypes = typesOf(types);
    const stream = moxxy.events.stream(
      { ...(agentId ? { agent_id: agentId } : {}), ...(runId ? { run_id: runId } : {}), ...(eventTypes.length ? { event_type: eventTypes } : {}) },
      { signal: controller.signal },
    );
    setConnected(true);
    (async () => {
      try {
        for await (const event of stream) {
          setEvents((list) => [event, ...list].slice(0, KEEP));
          setSeenTypes((seen) => (seen.includes(event.event_type) ? seen : [...seen, event.event_type].sort()));
        }
      } catch (caught) {
        setError(caught);
      } finally {
        // A stream this effect closed itself is not a disconnection: the next one is already open.
        if (!controller.signal.aborted) setConnected(false);
      }
    })();
    return () => {
      controller.abort();
      setConnected(false);
    };
  }, [agentId, runId, types, paused]);

  const shown = hideDeltas ? events.filter((event) => event.event_type !== 'model.stream') : events;
  return (
    <section>
      <PageHeader title="Live events">
        <Badge tone={connected ? 'live' : 'warn'}>{connected ? 'live' : 'paused'}</Badge>
        <button type="button" onClick={() => setPaused((value) => !value)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" onClick={() => setEvents([])}>
          Clear
        </button>
      </PageHeader>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Agent" value={agentId} onChange={(e) => setAgentId(e.currentTarget.value.trim())} placeholder="any" />
        <Field label="Run" value={runId} onChange={(e) => setRunId(e.currentTarget.value.trim())} placeholder="any" />
        <Field label="Event types" value={types} onChange={(e) => setTypes(e.currentTarget.value)} placeholder="run.started, run.completed" list="seen-event-types" hint="Comma-separated; empty for all." />
        <datalist id="seen-event-types">
          {seenTypes.map((type) => (
            <option key={type} value={type} />
          ))}
        </datalist>
        <Check label="Hide model.stream deltas" checked={hideDeltas} onChange={(e) => setHideDeltas(e.currentTarget.checked)} />
      </form>
      <ErrorNotice error={error} />
      {shown.length === 0 ? <Empty>Waiting for events… start a chat to see its run here.</Empty> : null}
      <EventList events={shown} label="Live events, newest first" />
    </section>
  );
}
