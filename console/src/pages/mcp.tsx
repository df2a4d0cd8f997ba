/** MCP: an agent's MCP servers with their status, their tools, adding and removing servers, and calling a tool. */
import { useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { holdsHostPowers, useSession } from '../session.tsx';
import { AgentPicker } from '../ui/agent-picker.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Badge, Empty, ErrorNotice, Field, Json, PageHeader, Select, Table, TextArea, When } from '../ui/kit.tsx';

type Transport = Schema<'McpTransport'>;
type McpInvokeResult = Schema<'McpInvokeResult'>;

export function McpPage({ agent }: PageProps) {
  const servers = useLoad(() => moxxy.mcp.listServers({ agent }), [agent]);
  const tools = useLoad(() => moxxy.mcp.listTools({ agent }), [agent, servers.data]);
  const remove = useAction(async (server: string) => {
    if (!confirm(`Remove the MCP server "${server}"?`)) return;
    await moxxy.mcp.removeServer({ agent, server });
    servers.reload();
  });
  return (
    <section>
      <PageHeader title="MCP servers">
        <AgentPicker page="mcp" agent={agent} />
        <button type="button" onClick={servers.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNotice error={servers.error ?? remove.error} />
      {servers.data?.servers.length === 0 ? <Empty>No MCP servers for {agent}.</Empty> : null}
      {servers.data?.servers.length ? (
        <Table caption={`MCP servers of ${agent}`} columns={['Server', 'Status', 'Tools', 'Runs', 'Added', 'Actions']}>
          {servers.data.servers.map((server) => (
            <tr key={server.name}>
              <td>
                <code>{server.name}</code> <small class="muted">{server.transport}</small>
              </td>
              <td>
                <Badge>{server.status}</Badge>
                {server.error ? <div class="muted">{server.error}</div> : null}
              </td>
              <td>{server.tools_count}</td>
              <td>
                <code>{server.transport === 'stdio' ? [server.command, ...(server.args ?? [])].join(' ') : server.url}</code>
              </td>
              <td>
                <When at={server.created_at} />
              </td>
              <td>
                <button type="button" class="danger" aria-label={`Remove ${server.name}`} disabled={remove.busy} onClick={() => remove.run(server.name)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      <h2>Tools</h2>
      <ErrorNotice error={tools.error} />
      {tools.data?.tools.length === 0 ? <Empty>No tools: servers that are down are left out.</Empty> : null}
      <ul class="mcp-tools">
        {tools.data?.tools.map((tool) => (
          <li key={`${tool.server}.${tool.name}`}>
            <details>
              <summary>
                <code>
                  mcp.{tool.server}.{tool.name}
                </code>{' '}
                <span class="muted">{tool.description}</span>
              </summary>
              <Json value={tool.input_schema} />
            </details>
          </li>
        ))}
      </ul>
      {tools.data?.tools.length ? <ToolCaller agent={agent} tools={tools.data.tools.map((tool) => [tool.server, tool.name] as const)} /> : null}
      <AddServer agent={agent} onAdded={servers.reload} />
    </section>
  );
}

function ToolCaller({ agent, tools }: { agent: string; tools: ReadonlyArray<readonly [string, string]> }) {
  const [choice, setChoice] = useState(0);
  const [args, setArgs] = useState('{}');
  const [result, setResult] = useState<McpInvokeResult | undefined>(undefined);
  const call = useAction(async () => {
    const [server, tool] = tools[choice] ?? tools[0]!;
    setResult(await moxxy.mcp.invoke({ agent, server, tool, arguments: JSON.parse(args) as Record<string, unknown> }));
  });
  return (
    <form
      class="form"
      onSubmit={(e) => {
        e.preventDefault();
        void call.run();
      }}
    >
      <h2>Call a tool</h2>
      <Select label="Tool" value={String(choice)} options={tools.map(([server, tool], index) => [String(index), `mcp.${server}.${tool}`])} onChange={(e) => setChoice(Number(e.currentTarget.value))} />
      <TextArea label="Arguments (JSON object)" rows={3} class="code-input" value={args} onInput={(e) => setArgs(e.currentTarget.value)} />
      <button type="submit" class="primary" disabled={call.busy}>
        Call
      </button>
      <ErrorNotice error={call.error} />
      {result ? (
        <div class="result" aria-live="polite">
          <Badge tone={result.is_error ? 'bad' : 'ok'}>{result.is_error ? 'error' : 'ok'}</Badge>
          <Json value={result.content.map((part) => part.text ?? `[${part.type}]`).join('\n')} />
        </div>
      ) : null}
    </form>
  );
}

function AddServer({ agent, onAdded }: { agent: string; onAdded(): void }) {
  const session = useSession();
  const [transport, setTransport] = useState<Transport>('http');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [command, setCommand] = useState('');
  const [args, setArgs] = useState('');
  const add = useAction(async () => {
    await moxxy.mcp.addServer(
      transport === 'http' ? { agent, name, url } : { agent, name, command, args: args.split(/\s+/).filter(Boolean) },
    );
    setName('');
    onAdded();
  });
  const hostPower = transport === 'stdio';
  return (
    <form
      class="form"
      onSubmit={(e) => {
        e.preventDefault();
        void add.run();
      }}
    >
      <h2>Add a server</h2>
      <Select label="Transport" value={transport} options={[['http', 'Streamable HTTP'], ['stdio', 'stdio (a command on this host)']]} onChange={(e) => setTransport(e.currentTarget.value as Transport)} />
      <Field label="Name" required pattern="[a-z0-9][a-z0-9_\-]{0,63}" value={name} onInput={(e) => setName(e.currentTarget.value)} hint="Its tools are called mcp.<name>.<tool>." />
      {transport === 'http' ? (
        <Field label="URL" type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} hint="A public https address, or one listed in mcp.allowedUrls." />
      ) : (
        <>
          <p>
            <span class="badge bad">host power</span> A stdio server runs a command on this host (in the skills' sandbox): adding one needs the admin scope or the internal token
            {holdsHostPowers(session) ? '.' : ', which this session does not have.'}
          </p>
          <Field label="Command" required value={command} onInput={(e) => setCommand(e.currentTarget.value)} />
          <Field label="Arguments" value={args} onInput={(e) => setArgs(e.currentTarget.value)} hint="Separated by spaces." />
        </>
      )}
      <ErrorNotice error={add.error} />
      <button type="submit" class="primary" disabled={add.busy || (hostPower && !holdsHostPowers(session))}>
        Add server
      </button>
    </form>
  );
}
