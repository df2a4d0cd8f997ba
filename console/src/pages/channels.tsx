/** Channels: an agent's channels (http, telegram) with their status; configure, pause, pair a Telegram chat, delete. */
import { useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { AgentPicker } from '../ui/agent-picker.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Badge, Empty, ErrorNotice, Field, Notice, PageHeader, Select, Table, TextArea, When } from '../ui/kit.tsx';

type ChannelType = Schema<'ChannelType'>;
type PairingCode = Schema<'PairingCode'>;
type ChannelConfig = Schema<'ChannelsConfigureBody'>['config'];

/** A starting configuration per type, secrets as vault references. */
const TEMPLATES: Record<ChannelType, string> = {
  http: JSON.stringify({ authToken: '${vault:HTTP_CHANNEL_TOKEN}', allowedTools: ['memory.*'] }, null, 2),
  telegram: JSON.stringify({ botToken: '${vault:TELEGRAM_TOKEN}' }, null, 2),
};

export function ChannelsPage({ agent }: PageProps) {
  const channels = useLoad(() => moxxy.channels.list({ name: agent, limit: 100 }), [agent]);
  const [pairing, setPairing] = useState<PairingCode | undefined>(undefined);
  const toggle = useAction(async (channel: string, enabled: boolean) => {
    await moxxy.channels.update({ name: agent, channel, enabled });
    channels.reload();
  });
  const remove = useAction(async (channel: string) => {
    if (!confirm(`Delete the channel "${channel}"?`)) return;
    await moxxy.channels.delete({ name: agent, channel });
    channels.reload();
  });
  const pair = useAction(async (channel: string) => setPairing(await moxxy.channels.pair({ name: agent, channel })));

  return (
    <section>
      <PageHeader title="Channels">
        <AgentPicker page="channels" agent={agent} />
        <button type="button" onClick={channels.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNotice error={channels.error ?? toggle.error ?? remove.error ?? pair.error} />
      {pairing ? (
        <Notice tone="ok">
          Pairing code <code>{pairing.code}</code>, valid until <When at={pairing.expires_at} />. {pairing.instructions}
        </Notice>
      ) : null}
      {channels.data?.channels.length === 0 ? <Empty>No channels for {agent}.</Empty> : null}
      {channels.data?.channels.length ? (
        <Table caption={`Channels of ${agent}`} columns={['Channel', 'Status', 'Configuration', 'Actions']}>
          {channels.data.channels.map((channel) => (
            <tr key={channel.name}>
              <td>
                <code>{channel.name}</code> <small class="muted">{channel.type}</small>
              </td>
              <td>
                <Badge>{channel.status}</Badge> {channel.enabled ? null : <Badge>disabled</Badge>}
                {channel.last_error ? <div class="muted">{channel.last_error}</div> : null}
                {channel.type === 'telegram' ? <div class="muted">{channel.paired_chats} paired chats</div> : null}
              </td>
              <td>
                <code class="clip">{JSON.stringify(channel.config)}</code>
              </td>
              <td class="row-actions">
                <button type="button" disabled={toggle.busy} onClick={() => toggle.run(channel.name, !channel.enabled)}>
                  {channel.enabled ? 'Disable' : 'Enable'}
                </button>
                {channel.type === 'telegram' ? (
                  <button type="button" disabled={pair.busy} onClick={() => pair.run(channel.name)}>
                    Pair a chat
                  </button>
                ) : null}
                <button type="button" class="danger" aria-label={`Delete ${channel.name}`} disabled={remove.busy} onClick={() => remove.run(channel.name)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      <ConfigureChannel agent={agent} onSaved={channels.reload} />
    </section>
  );
}

function ConfigureChannel({ agent, onSaved }: { agent: string; onSaved(): void }) {
  const [type, setType] = useState<ChannelType>('http');
  const [name, setName] = useState('');
  const [config, setConfig] = useState(TEMPLATES.http);
  const [result, setResult] = useState<string | undefined>(undefined);
  const save = useAction(async () => {
    const saved = await moxxy.channels.configure({ name: agent, type, config: JSON.parse(config) as ChannelConfig, ...(name ? { channel: name } : {}) });
    setResult(`Channel ${saved.name} ${saved.created ? 'created' : 'replaced'}: ${saved.status}.`);
    onSaved();
  });
  return (
    <form
      class="form"
      onSubmit={(e) => {
        e.preventDefault();
        setResult(undefined);
        void save.run();
      }}
    >
      <h2>Configure a channel</h2>
      <Select
        label="Type"
        value={type}
        options={['http', 'telegram']}
        onChange={(e) => {
          const next = e.currentTarget.value as ChannelType;
          if (config === TEMPLATES[type]) setConfig(TEMPLATES[next]);
          setType(next);
        }}
      />
      <Field label="Name" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder={type} hint="Defaults to the type; a channel of that name is replaced." />
      <TextArea label="Configuration (JSON)" rows={5} class="code-input" value={config} onInput={(e) => setConfig(e.currentTarget.value)} hint="Secrets as ${vault:KEY} references to this agent's vault." />
      <ErrorNotice error={save.error} />
      {result ? <Notice tone="ok">{result}</Notice> : null}
      <button type="submit" class="primary" disabled={save.busy}>
        Save channel
      </button>
    </form>
  );
}
