/** Webhooks: the list, creating one, pausing or deleting it, and each one's deliveries with the runs they started. */
import { useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { href } from '../router.ts';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Badge, Empty, ErrorNotice, Field, Notice, PageHeader, Pager, Table, TextArea, When } from '../ui/kit.tsx';

export function WebhooksPage({ params }: PageProps) {
  const [selected] = params;
  const webhooks = useLoad(() => moxxy.webhooks.list({ limit: 100 }), []);
  const toggle = useAction(async (name: string, enabled: boolean) => {
    await moxxy.webhooks.update({ name, enabled });
    webhooks.reload();
  });
  const remove = useAction(async (name: string) => {
    if (!confirm(`Delete the webhook "${name}" and its delivery log?`)) return;
    await moxxy.webhooks.delete({ name });
    webhooks.reload();
  });
  return (
    <section>
      <PageHeader title="Webhooks" />
      <ErrorNotice error={webhooks.error ?? toggle.error ?? remove.error} />
      {webhooks.data?.webhooks.length === 0 ? <Empty>No webhooks yet.</Empty> : null}
      {webhooks.data?.webhooks.length ? (
        <Table caption={'Webhooks'} columns={['Webhook', 'Agent', 'Signed', 'Trigger', 'Actions']}>
          {webhooks.data.webhooks.map((webhook) => (
            <tr key={webhook.id}>
              <td>
                <a href={href('webhooks', webhook.name)}>
                  <code>{webhook.name}</code>
                </a>{' '}
                {webhook.enabled ? null : <Badge>disabled</Badge>}
                {webhook.description ? <div class="muted">{webhook.description}</div> : null}
              </td>
              <td>
                <a href={href('agents', webhook.agent)}>{webhook.agent}</a>
              </td>
              <td>{webhook.has_secret ? `yes (${webhook.signature_scheme})` : 'no: needs API credentials'}</td>
              <td>
                <code>POST {webhook.trigger_path}</code>
              </td>
              <td class="row-actions">
                <a href={href('webhooks', webhook.name)}>Deliveries</a>
                <button type="button" disabled={toggle.busy} onClick={() => toggle.run(webhook.name, !webhook.enabled)}>
                  {webhook.enabled ? 'Disable' : 'Enable'}
                </button>
                <button type="button" class="danger" aria-label={`Delete ${webhook.name}`} disabled={remove.busy} onClick={() => remove.run(webhook.name)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      {selected ? <Deliveries key={selected} name={selected} /> : null}
      <CreateWebhook onCreated={webhooks.reload} />
    </section>
  );
}

function Deliveries({ name }: { name: string }) {
  const [offset, setOffset] = useState(0);
  const deliveries = useLoad(() => moxxy.webhooks.deliveries({ name, limit: 25, offset }), [name, offset]);
  const webhook = useLoad(() => moxxy.webhooks.get({ name }), [name]);
  return (
    <section aria-labelledby="deliveries-title">
      <div class="page-header">
        <h2 id="deliveries-title">Deliveries of {name}</h2>
        <button type="button" onClick={deliveries.reload}>
          Refresh deliveries
        </button>
      </div>
      <ErrorNotice error={deliveries.error} />
      {deliveries.data?.deliveries.length === 0 ? <Empty>No deliveries yet.</Empty> : null}
      <ol class="deliveries">
        {deliveries.data?.deliveries.map((delivery) => (
          <li key={delivery.id}>
            <Badge>{delivery.status}</Badge> HTTP {delivery.http_status} {delivery.event_type ? <code>{delivery.event_type}</code> : null} · <When at={delivery.received_at} />
            {delivery.run_id ? (
              <>
                {' '}
                · run <a href={href('runs', webhook.data?.agent, delivery.run_id)}>{delivery.run_id}</a>
              </>
            ) : null}
            {delivery.error ? (
              <div class="muted">
                <code>{delivery.error.code}</code> {delivery.error.message}
              </div>
            ) : null}
          </li>
        ))}
      </ol>
      {deliveries.data ? <Pager pagination={deliveries.data.pagination} onOffset={setOffset} /> : null}
    </section>
  );
}

function CreateWebhook({ onCreated }: { onCreated(): void }) {
  const agents = useLoad(() => moxxy.agents.list({ limit: 100 }), []);
  const [name, setName] = useState('');
  const [agent, setAgent] = useState('default');
  const [template, setTemplate] = useState('Review the {{event}} "{{body.pull_request.title}}"');
  const [secret, setSecret] = useState('');
  const [description, setDescription] = useState('');
  const [created, setCreated] = useState<string | undefined>(undefined);
  const create = useAction(async () => {
    const webhook = await moxxy.webhooks.create({ name, agent, prompt_template: template, ...(secret ? { secret } : {}), ...(description ? { description } : {}) });
    setCreated(`Created: deliveries go to POST ${webhook.trigger_path}.`);
    setName('');
    setSecret('');
    onCreated();
  });
  return (
    <form
      class="form"
      onSubmit={(e) => {
        e.preventDefault();
        setCreated(undefined);
        void create.run();
      }}
    >
      <h2>New webhook</h2>
      <Field label="Name" required pattern="[a-z0-9][a-z0-9_\-]{0,63}" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <Field label="Agent" required list="webhook-agents" value={agent} onInput={(e) => setAgent(e.currentTarget.value)} />
      <datalist id="webhook-agents">
        {agents.data?.agents.map((item) => (
          <option key={item.name} value={item.name} />
        ))}
      </datalist>
      <TextArea label="Prompt template" rows={3} required value={template} onInput={(e) => setTemplate(e.currentTarget.value)} hint="{{body}}, {{body.a.b}}, {{headers.x-github-event}}, {{event}}." />
      <Field label="Signing secret" type="password" autoComplete="off" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} hint="GitHub's webhook secret, or whsec_… for Standard Webhooks. Without one, the trigger needs API credentials." />
      <Field label="Description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <ErrorNotice error={create.error} />
      {created ? <Notice tone="ok">{created}</Notice> : null}
      <button type="submit" class="primary" disabled={create.busy}>
        Create webhook
      </button>
    </form>
  );
}
