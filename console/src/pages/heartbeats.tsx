/** Heartbeats: an agent's schedules with their next and last runs; create, pause and delete them. */
import { useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { href } from '../router.ts';
import { AgentPicker } from '../ui/agent-picker.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Badge, Empty, ErrorNotice, Field, PageHeader, Select, Table, TextArea, When } from '../ui/kit.tsx';

export function HeartbeatsPage({ agent }: PageProps) {
  const heartbeats = useLoad(() => moxxy.heartbeats.list({ agent, limit: 100 }), [agent]);
  const toggle = useAction(async (id: string, enabled: boolean) => {
    await moxxy.heartbeats.update({ agent, id, enabled });
    heartbeats.reload();
  });
  const remove = useAction(async (id: string, name: string) => {
    if (!confirm(`Delete the heartbeat "${name}"?`)) return;
    await moxxy.heartbeats.delete({ agent, id });
    heartbeats.reload();
  });
  return (
    <section>
      <PageHeader title="Heartbeats">
        <AgentPicker page="heartbeats" agent={agent} />
        <button type="button" onClick={heartbeats.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNotice error={heartbeats.error ?? toggle.error ?? remove.error} />
      {heartbeats.data?.heartbeats.length === 0 ? <Empty>No heartbeats for {agent}.</Empty> : null}
      {heartbeats.data?.heartbeats.length ? (
        <Table caption={`Heartbeats of ${agent}`} columns={['Heartbeat', 'Schedule', 'Next run', 'Last run', 'Actions']}>
          {heartbeats.data.heartbeats.map((heartbeat) => (
            <tr key={heartbeat.id}>
              <td>
                <code>{heartbeat.name}</code> {heartbeat.enabled ? null : <Badge>disabled</Badge>}
                <div class="muted clip">{heartbeat.prompt}</div>
              </td>
              <td>{heartbeat.cron ? `${heartbeat.cron} (${heartbeat.timezone})` : `every ${heartbeat.interval_seconds} s`}</td>
              <td>
                <When at={heartbeat.next_run_at} />
              </td>
              <td>
                <When at={heartbeat.last_run_at} />
                {heartbeat.last_run_id ? (
                  <div>
                    <a href={href('runs', agent, heartbeat.last_run_id)}>{heartbeat.last_run_id}</a>
                  </div>
                ) : null}
              </td>
              <td class="row-actions">
                <button type="button" disabled={toggle.busy} onClick={() => toggle.run(heartbeat.id, !heartbeat.enabled)}>
                  {heartbeat.enabled ? 'Disable' : 'Enable'}
                </button>
                <button type="button" class="danger" aria-label={`Delete ${heartbeat.name}`} disabled={remove.busy} onClick={() => remove.run(heartbeat.id, heartbeat.name)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      <CreateHeartbeat agent={agent} onCreated={heartbeats.reload} />
    </section>
  );
}

function CreateHeartbeat({ agent, onCreated }: { agent: string; onCreated(): void }) {
  const [name, setName] = useState('');
  const [prompt, setPrompt] = useState('');
  const [kind, setKind] = useState<'cron' | 'interval'>('cron');
  const [cron, setCron] = useState('0 9 * * 1-5');
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  const [interval, setInterval] = useState('3600');
  const create = useAction(async () => {
    await moxxy.heartbeats.create({ agent, name, prompt, ...(kind === 'cron' ? { cron, timezone } : { interval_seconds: Number(interval) }) });
    setName('');
    onCreated();
  });
  return (
    <form
      class="form"
      onSubmit={(e) => {
        e.preventDefault();
        void create.run();
      }}
    >
      <h2>New heartbeat</h2>
      <Field label="Name" required pattern="[a-z0-9][a-z0-9_\-]{0,63}" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <TextArea label="Prompt" rows={2} required value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} />
      <Select label="Schedule" value={kind} options={[['cron', 'Cron expression'], ['interval', 'Every N seconds']]} onChange={(e) => setKind(e.currentTarget.value as 'cron' | 'interval')} />
      {kind === 'cron' ? (
        <div class="grid">
          <Field label="Cron" required value={cron} onInput={(e) => setCron(e.currentTarget.value)} hint="minute hour day-of-month month day-of-week" />
          <Field label="Time zone" required value={timezone} onInput={(e) => setTimezone(e.currentTarget.value)} hint="An IANA name, e.g. Europe/Paris." />
        </div>
      ) : (
        <Field label="Interval (seconds)" type="number" min="1" required value={interval} onInput={(e) => setInterval(e.currentTarget.value)} />
      )}
      <ErrorNotice error={create.error} />
      <button type="submit" class="primary" disabled={create.busy}>
        Create heartbeat
      </button>
    </form>
  );
}
