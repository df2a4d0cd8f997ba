/** A run's events as they happen: its event stream replays the stored ones, then follows the run live until it ends. */
import { useEffect, useState } from 'preact/hooks';
import { moxxy } from '../api.ts';
import { EventList, type MoxxyEvent } from './event-list.tsx';
import { Check, ErrorNotice } from './kit.tsx';

export function RunEvents({ runId }: { runId: string }) {
  const [events, setEvents] = useState<MoxxyEvent[]>([]);
  const [ended, setEnded] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  // model.stream has one event per piece of text: hidden unless asked for.
  const [showDeltas, setShowDeltas] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    setEvents([]);
    setEnded(false);
    setError(undefined);
    (async () => {
      try {
        for await (const event of moxxy.runs.eventStream({ id: runId }, { signal: controller.signal })) setEvents((list) => [...list, event]);
        if (!controller.signal.aborted) setEnded(true);
      } catch (caught) {
        setError(caught);
      }
    })();
    return () => controller.abort();
  }, [runId]);

  const shown = showDeltas ? events : events.filter((event) => event.event_type !== 'model.stream');
  return (
    <section class="run-events" aria-labelledby={`events-${runId}`}>
      <h2 id={`events-${runId}`}>
        Events <span class={`badge ${ended ? '' : 'live'}`}>{ended ? 'ended' : 'live'}</span>
      </h2>
      <Check label="Show model.stream deltas" checked={showDeltas} onChange={(e) => setShowDeltas(e.currentTarget.checked)} />
      <ErrorNotice error={error} />
      <EventList events={shown} label={`Events of run ${runId}`} />
    </section>
  );
}
