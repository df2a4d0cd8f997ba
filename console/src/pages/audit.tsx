/** The audit log: every stored event, searched by agent, run, type and time, oldest first, a page at a time. */
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { EventList, type MoxxyEvent } from '../ui/event-list.tsx';
import { useAction } from '../ui/hooks.ts';
import { Empty, ErrorNotice, Field, PageHeader } from '../ui/kit.tsx';

/** A datetime-local value (the person's time zone) as an ISO instant. */
const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** A datetime-local value for a day ago: the log opens on recent events, oldest first. */
function aDayAgo(): string {
  const date = new Date(Date.now() - 24 * 3600 * 1000);
  date.setMinutes(date.getMinutes() - date.getTimezoneOffset());
  return date.toISOString().slice(0, 16);
}

export function AuditPage(_props: PageProps) {
  const [agentId, setAgentId] = useState('');
  const [runId, setRunId] = useState('');
  const [types, setTypes] = useState('');
  const [since, setSince] = useState(aDayAgo);
  const [until, setUntil] = useState('');
  const [events, setEvents] = useState<MoxxyEvent[] | undefined>(undefined);
  const [cursor, setCursor] = useState<string | null>(null);

  const search = useAction(async (after?: string) => {
    const eventTypes = types.split(',').map((type) => type.trim()).filter(Boolean);
    const sinceIso = isoOf(since);
    const untilIso = isoOf(until);
    const page = await moxxy.events.audit({
      limit: 100,
      ...(agentId ? { agent_id: agentId } : {}),
      ...(runId ? { run_id: runId } : {}),
      ...(eventTypes.length ? { event_type: eventTypes } : {}),
      ...(sinceIso ? { since: sinceIso } : {}),
      ...(untilIso ? { until: untilIso } : {}),
      ...(after ? { cursor: after } : {}),
    });
    setEvents((current) => (after ? [...(current ?? []), ...page.events] : page.events));
    setCursor(page.next_cursor);
  });

  useEffect(() => void search.run(), []);

  return (
    <section>
      <PageHeader title="Audit log" />
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void search.run();
        }}
      >
        <Field label="Agent" value={agentId} onInput={(e) => setAgentId(e.currentTarget.value.trim())} placeholder="any" />
        <Field label="Run" value={runId} onInput={(e) => setRunId(e.currentTarget.value.trim())} placeholder="any" />
        <Field label="Event types" value={types} onInput={(e) => setTypes(e.currentTarget.value)} placeholder="run.failed, vault.accessed" hint="Comma-separated." />
        <Field label="Since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        <Field label="Until" type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={search.busy}>
          Search
        </button>
      </form>
      <ErrorNotice error={search.error} />
      {events?.length === 0 ? <Empty>No events match.</Empty> : null}
      {events ? <EventList events={events} label="Audit log, oldest first" /> : null}
      {cursor ? (
        <button type="button" disabled={search.busy} onClick={() => search.run(cursor)}>
          Load more
        </button>
      ) : null}
    </section>
  );
}
