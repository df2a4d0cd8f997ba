/** Agents: the list, and a form to create or edit one (model, parameters, prompt, allowed tools with host tools marked). */
import { useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { href, navigate } from '../router.ts';
import { holdsHostPowers, useSession } from '../session.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Empty, ErrorNotice, Field, Notice, PageHeader, Pager, Select, Table, TextArea, When } from '../ui/kit.tsx';
import { ToolsEditor } from '../ui/tools-editor.tsx';

type Agent = Schema<'Agent'>;
type Provider = Schema<'ModelProvider'>;

const PROVIDERS: Provider[] = ['echo', 'openai', 'anthropic'];

export function AgentsPage({ params }: PageProps) {
  const [name] = params;
  if (name === 'new') return <AgentForm />;
  if (name) return <AgentLoader name={name} />;
  return <AgentList />;
}

function AgentList() {
  const [offset, setOffset] = useState(0);
  const agents = useLoad(() => moxxy.agents.list({ limit: 50, offset }), [offset]);
  const remove = useAction(async (name: string) => {
    if (!confirm(`Delete the agent "${name}" with its sessions, memories, skills, secrets, channels, webhooks and heartbeats?`)) return;
    await moxxy.agents.delete({ name });
    agents.reload();
  });
  return (
    <section>
      <PageHeader title="Agents">
        <a class="button primary" href={href('agents', 'new')}>
          New agent
        </a>
      </PageHeader>
      <ErrorNotice error={agents.error ?? remove.error} />
      {agents.data?.agents.length === 0 ? <Empty>No agents yet.</Empty> : null}
      {agents.data?.agents.length ? (
        <Table caption={'Agents'} columns={['Name', 'Model', 'Allowed tools', 'Updated', 'Actions']}>
          {agents.data.agents.map((agent) => (
            <tr key={agent.name}>
              <td>
                <a href={href('agents', agent.name)}>{agent.display_name ?? agent.name}</a>
                {agent.display_name ? <small class="muted"> {agent.name}</small> : null}
                {agent.description ? <div class="muted">{agent.description}</div> : null}
              </td>
              <td>
                {agent.model.provider} / {agent.model.name}
              </td>
              <td>{agent.allowed_tools.length ? agent.allowed_tools.join(', ') : <span class="muted">none</span>}</td>
              <td>
                <When at={agent.updated_at} />
              </td>
              <td class="row-actions">
                <a href={href('chat', agent.name)}>Chat</a>
                <a href={href('runs', agent.name)}>Runs</a>
                <button type="button" class="danger" disabled={remove.busy} onClick={() => remove.run(agent.name)} aria-label={`Delete ${agent.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      {agents.data ? <Pager pagination={agents.data.pagination} onOffset={setOffset} /> : null}
    </section>
  );
}

function AgentLoader({ name }: { name: string }) {
  const agent = useLoad(() => moxxy.agents.get({ name }), [name]);
  if (agent.error) return <ErrorNotice error={agent.error} />;
  if (!agent.data) return <p>Loading…</p>;
  return <AgentForm key={agent.data.updated_at} agent={agent.data} />;
}

/** A number field's value: undefined when empty. */
const numberOrUndefined = (text: string) => (text.trim() === '' ? undefined : Number(text));

function AgentForm({ agent }: { agent?: Agent }) {
  const session = useSession();
  const editing = agent !== undefined;
  const [name, setName] = useState(agent?.name ?? '');
  const [displayName, setDisplayName] = useState(agent?.display_name ?? '');
  const [description, setDescription] = useState(agent?.description ?? '');
  const [provider, setProvider] = useState<Provider>(agent?.model.provider ?? 'echo');
  const [model, setModel] = useState(agent?.model.name ?? 'echo');
  const [temperature, setTemperature] = useState(String(agent?.model.parameters?.temperature ?? ''));
  const [maxTokens, setMaxTokens] = useState(String(agent?.model.parameters?.max_tokens ?? ''));
  const [topP, setTopP] = useState(String(agent?.model.parameters?.top_p ?? ''));
  const [systemPrompt, setSystemPrompt] = useState(agent?.system_prompt ?? '');
  const [allowedTools, setAllowedTools] = useState<string[]>(agent?.allowed_tools ?? []);
  const [subagents, setSubagents] = useState((agent?.subagents ?? []).join(', '));
  const [maxSteps, setMaxSteps] = useState(String(agent?.max_steps ?? 8));
  const [saved, setSaved] = useState(false);
  const tools = useLoad(() => (agent ? moxxy.agents.tools({ name: agent.name }) : Promise.resolve(undefined)), [agent?.name]);

  const save = useAction(async () => {
    const parameters = { temperature: numberOrUndefined(temperature), max_tokens: numberOrUndefined(maxTokens), top_p: numberOrUndefined(topP) };
    const common = {
      description,
      model: { provider, name: model, parameters },
      system_prompt: systemPrompt,
      allowed_tools: allowedTools,
      subagents: subagents.split(',').map((item) => item.trim()).filter(Boolean),
      max_steps: Number(maxSteps),
    };
    if (editing) {
      await moxxy.agents.update({ name: agent.name, ...common, display_name: displayName.trim() || null });
      setSaved(true);
      tools.reload();
    } else {
      const created = await moxxy.agents.create({ name, ...common, ...(displayName.trim() ? { display_name: displayName.trim() } : {}) });
      navigate('agents', created.name);
    }
  });

  return (
    <section>
      <PageHeader title={editing ? `Agent ${agent.name}` : 'New agent'}>
        {editing ? (
          <>
            <a class="button" href={href('chat', agent.name)}>
              Chat
            </a>
            <a class="button" href={href('runs', agent.name)}>
              Runs
            </a>
          </>
        ) : null}
      </PageHeader>
      <form
        class="form"
        onSubmit={(event) => {
          event.preventDefault();
          setSaved(false);
          void save.run();
        }}
      >
        <fieldset>
          <legend>Identity</legend>
          {editing ? null : (
            <Field label="Name" required pattern="[a-z0-9][a-z0-9_\-]{0,63}" value={name} onInput={(e) => setName(e.currentTarget.value)} hint="A slug: lowercase letters, digits, - and _." />
          )}
          <Field label="Display name" value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
          <Field label="Description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </fieldset>
        <fieldset>
          <legend>Model</legend>
          <div class="grid">
            <Select
              label="Provider"
              value={provider}
              options={PROVIDERS}
              onChange={(e) => {
                const next = e.currentTarget.value as Provider;
                setProvider(next);
                if (next === 'echo') setModel('echo');
              }}
            />
            <Field label="Model" required value={model} onInput={(e) => setModel(e.currentTarget.value)} hint={provider === 'echo' ? 'The offline echo provider.' : 'The model name at the provider, e.g. gpt-4o-mini.'} />
            <Field label="Temperature" type="number" min="0" max="2" step="0.1" value={temperature} onInput={(e) => setTemperature(e.currentTarget.value)} />
            <Field label="Max tokens" type="number" min="1" step="1" value={maxTokens} onInput={(e) => setMaxTokens(e.currentTarget.value)} />
            <Field label="Top p" type="number" min="0" max="1" step="0.05" value={topP} onInput={(e) => setTopP(e.currentTarget.value)} />
            <Field label="Max steps" type="number" min="1" max="100" required value={maxSteps} onInput={(e) => setMaxSteps(e.currentTarget.value)} hint="Model calls in one run before it stops." />
          </div>
          <TextArea label="System prompt" rows={5} value={systemPrompt} onInput={(e) => setSystemPrompt(e.currentTarget.value)} />
        </fieldset>
        <fieldset>
          <legend>Tools</legend>
          <ToolsEditor value={allowedTools} onChange={setAllowedTools} catalogue={tools.data?.tools} canGrantHostTools={holdsHostPowers(session)} />
          <ErrorNotice error={tools.error} />
          <Field label="Sub-agents" value={subagents} onInput={(e) => setSubagents(e.currentTarget.value)} hint="Other agents it may hand tasks to with subagent.spawn, comma-separated." />
        </fieldset>
        <ErrorNotice error={save.error} />
        {saved ? <Notice tone="ok">Saved.</Notice> : null}
        <div class="form-actions">
          <button type="submit" class="primary" disabled={save.busy}>
            {editing ? 'Save' : 'Create agent'}
          </button>
          <a class="button" href={href('agents')}>
            Back to agents
          </a>
        </div>
      </form>
    </section>
  );
}
