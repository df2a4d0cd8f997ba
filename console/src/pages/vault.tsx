/** Vault: an agent's secret keys (never their values), setting and deleting them. */
import { useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { AgentPicker } from '../ui/agent-picker.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Empty, ErrorNotice, Field, Notice, PageHeader, Pager, Table, When } from '../ui/kit.tsx';

export function VaultPage({ agent }: PageProps) {
  const [offset, setOffset] = useState(0);
  const secrets = useLoad(() => moxxy.vault.list({ name: agent, limit: 50, offset }), [agent, offset]);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [stored, setStored] = useState<string | undefined>(undefined);
  const set = useAction(async () => {
    const result = await moxxy.vault.set({ name: agent, key, value });
    setStored(`${result.key} ${result.created ? 'stored' : 'replaced'}.`);
    setValue('');
    secrets.reload();
  });
  const remove = useAction(async (secret: string) => {
    if (!confirm(`Delete the secret "${secret}"? Configuration that says \${vault:${secret}} stops working.`)) return;
    await moxxy.vault.delete({ name: agent, key: secret });
    secrets.reload();
  });
  return (
    <section>
      <PageHeader title="Vault">
        <AgentPicker page="vault" agent={agent} />
      </PageHeader>
      <p class="muted">Values are encrypted at rest and never shown here; refer to one as {'${vault:KEY}'} in configuration.</p>
      <ErrorNotice error={secrets.error ?? remove.error} />
      {secrets.data?.secrets.length === 0 ? <Empty>No secrets for {agent}.</Empty> : null}
      {secrets.data?.secrets.length ? (
        <Table caption={`Secrets of ${agent}`} columns={['Key', 'Updated', 'Actions']}>
          {secrets.data.secrets.map((secret) => (
            <tr key={secret.key}>
              <td>
                <code>{secret.key}</code>
              </td>
              <td>
                <When at={secret.updated_at} />
              </td>
              <td>
                <button type="button" class="danger" aria-label={`Delete ${secret.key}`} disabled={remove.busy} onClick={() => remove.run(secret.key)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      {secrets.data ? <Pager pagination={secrets.data.pagination} onOffset={setOffset} /> : null}
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          setStored(undefined);
          void set.run();
        }}
      >
        <h2>Set a secret</h2>
        <Field label="Key" required pattern="[A-Za-z_][A-Za-z0-9_.\-]{0,127}" value={key} onInput={(e) => setKey(e.currentTarget.value)} placeholder="OPENAI_API_KEY" />
        <Field label="Value" type="password" autoComplete="off" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <ErrorNotice error={set.error} />
        {stored ? <Notice tone="ok">{stored}</Notice> : null}
        <button type="submit" class="primary" disabled={set.busy}>
          Save secret
        </button>
      </form>
    </section>
  );
}
