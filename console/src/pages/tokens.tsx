/** API tokens: the list, minting one (shown once, with a copy button) and revoking. */
import { useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { holdsHostPowers, useSession } from '../session.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Badge, Check, Empty, ErrorNotice, Field, PageHeader, Pager, Table, When } from '../ui/kit.tsx';

type Scope = Schema<'Scope'>;
type TokenCreated = Schema<'TokenCreated'>;

const SCOPES: Scope[] = [
  'agents:read', 'agents:write', 'chat', 'memory:read', 'memory:write', 'skills:read', 'skills:write', 'skills:invoke',
  'vault:read', 'vault:write', 'channels:read', 'channels:write', 'webhooks:read', 'webhooks:write', 'events:read', 'tokens:admin', '*', 'admin',
];

export function TokensPage(_props: PageProps) {
  const session = useSession();
  const [offset, setOffset] = useState(0);
  const tokens = useLoad(() => moxxy.tokens.list({ limit: 50, offset }), [offset]);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['agents:read', 'chat']);
  const [days, setDays] = useState('30');
  const [created, setCreated] = useState<TokenCreated | undefined>(undefined);
  const [copied, setCopied] = useState(false);
  const create = useAction(async () => {
    setCreated(await moxxy.tokens.create({ name, scopes, ...(days ? { expires_in: Number(days) * 86400 } : {}) }));
    setCopied(false);
    tokens.reload();
  });
  const revoke = useAction(async (id: string, tokenName: string) => {
    if (!confirm(`Revoke the token "${tokenName}"? Whatever uses it stops working at once.`)) return;
    await moxxy.tokens.revoke({ id });
    tokens.reload();
  });
  const toggle = (scope: Scope, on: boolean) => setScopes((current) => (on ? [...current, scope] : current.filter((item) => item !== scope)));

  return (
    <section>
      <PageHeader title="API tokens" />
      <ErrorNotice error={tokens.error ?? revoke.error} />
      {tokens.data?.tokens.length === 0 ? <Empty>No tokens yet.</Empty> : null}
      {tokens.data?.tokens.length ? (
        <Table caption={'API tokens'} columns={['Name', 'Token', 'Scopes', 'Created', 'Expires', 'Last used', 'Actions']}>
          {tokens.data.tokens.map((token) => (
            <tr key={token.id}>
              <td>
                {token.name} {token.id === session?.token_id ? <Badge tone="live">this session</Badge> : null}
              </td>
              <td>
                <code>{token.prefix}…</code>
              </td>
              <td>{token.scopes.join(', ')}</td>
              <td>
                <When at={token.created_at} />
              </td>
              <td>
                <When at={token.expires_at} />
              </td>
              <td>
                <When at={token.last_used_at} />
              </td>
              <td>
                {token.revoked_at ? (
                  <Badge>revoked</Badge>
                ) : (
                  <button type="button" class="danger" aria-label={`Revoke ${token.name}`} disabled={revoke.busy} onClick={() => revoke.run(token.id, token.name)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      {tokens.data ? <Pager pagination={tokens.data.pagination} onOffset={setOffset} /> : null}
      {created ? (
        <div class="notice ok" role="status">
          <strong>Token "{created.name}" created. Copy it now: it is not shown again.</strong>
          <div class="inline">
            <input aria-label="The new token" readOnly value={created.token} class="code-input" onFocus={(e) => e.currentTarget.select()} />
            <button
              type="button"
              onClick={() => navigator.clipboard.writeText(created.token).then(() => setCopied(true))}
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button type="button" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        </div>
      ) : null}
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}
      >
        <h2>New token</h2>
        <Field label="Name" required value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="ci" />
        <fieldset>
          <legend>Scopes</legend>
          <div class="scopes">
            {SCOPES.map((scope) => (
              <Check
                key={scope}
                label={scope}
                checked={scopes.includes(scope)}
                disabled={scope === 'admin' && !holdsHostPowers(session)}
                onChange={(e) => toggle(scope, e.currentTarget.checked)}
                hint={scope === 'admin' ? 'Host powers included.' : scope === '*' ? 'Everything but host powers.' : undefined}
              />
            ))}
          </div>
        </fieldset>
        <Field label="Expires after (days)" type="number" min="1" value={days} onInput={(e) => setDays(e.currentTarget.value)} hint="Empty for a token that does not expire." />
        <ErrorNotice error={create.error} />
        <button type="submit" class="primary" disabled={create.busy || scopes.length === 0 || name.trim() === ''}>
          Create token
        </button>
      </form>
    </section>
  );
}
