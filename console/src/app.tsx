/** The console's shell: the session gate, the top bar, the navigation and the page the hash names. */
import type { ComponentType } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { isMoxxyApiError } from '@moxxy/client';
import { moxxy, onUnauthorized } from './api.ts';
import { AgentsPage } from './pages/agents.tsx';
import { AuditPage } from './pages/audit.tsx';
import { ChannelsPage } from './pages/channels.tsx';
import { ChatPage } from './pages/chat.tsx';
import { EventsPage } from './pages/events.tsx';
import { HeartbeatsPage } from './pages/heartbeats.tsx';
import { McpPage } from './pages/mcp.tsx';
import { MemoryPage } from './pages/memory.tsx';
import { RunsPage } from './pages/runs.tsx';
import { SkillsPage } from './pages/skills.tsx';
import { TokensPage } from './pages/tokens.tsx';
import { VaultPage } from './pages/vault.tsx';
import { WebhooksPage } from './pages/webhooks.tsx';
import { href, useRoute } from './router.ts';
import { Login, SessionContext, type AuthSession } from './session.tsx';
import { ErrorNotice } from './ui/kit.tsx';
import { useLoad } from './ui/hooks.ts';

/** What every page gets: the rest of the hash, and the agent the agent-scoped pages are about. */
export interface PageProps {
  params: string[];
  agent: string;
}

interface PageEntry {
  page: string;
  label: string;
  component: ComponentType<PageProps>;
  /** Its first parameter is an agent name, shared with the other agent pages. */
  perAgent: boolean;
}

const PAGES: PageEntry[] = [
  { page: 'agents', label: 'Agents', component: AgentsPage, perAgent: false },
  { page: 'chat', label: 'Chat', component: ChatPage, perAgent: true },
  { page: 'runs', label: 'Runs', component: RunsPage, perAgent: true },
  { page: 'events', label: 'Live events', component: EventsPage, perAgent: false },
  { page: 'audit', label: 'Audit log', component: AuditPage, perAgent: false },
  { page: 'memory', label: 'Memory', component: MemoryPage, perAgent: true },
  { page: 'skills', label: 'Skills', component: SkillsPage, perAgent: true },
  { page: 'mcp', label: 'MCP', component: McpPage, perAgent: true },
  { page: 'vault', label: 'Vault', component: VaultPage, perAgent: true },
  { page: 'channels', label: 'Channels', component: ChannelsPage, perAgent: true },
  { page: 'webhooks', label: 'Webhooks', component: WebhooksPage, perAgent: false },
  { page: 'heartbeats', label: 'Heartbeats', component: HeartbeatsPage, perAgent: true },
  { page: 'tokens', label: 'Tokens', component: TokensPage, perAgent: false },
];

type Gate = { state: 'checking' } | { state: 'login'; expired: boolean } | { state: 'in'; session: AuthSession } | { state: 'failed'; error: unknown };

const needsLogin = (session: AuthSession) => session.auth_required && session.caller === 'anonymous';

export function App() {
  const [gate, setGate] = useState<Gate>({ state: 'checking' });

  useEffect(() => {
    moxxy.session.get().then(
      (session) => setGate(needsLogin(session) ? { state: 'login', expired: false } : { state: 'in', session }),
      async (error: unknown) => {
        if (!isMoxxyApiError(error, 'UNAUTHORIZED')) return setGate({ state: 'failed', error });
        // A session cookie the server no longer takes (revoked, expired): forget it and ask again, as an open server needs none.
        await moxxy.session.delete().catch(() => undefined);
        const session = await moxxy.session.get().catch(() => undefined);
        setGate(session && !needsLogin(session) ? { state: 'in', session } : { state: 'login', expired: true });
      },
    );
    return onUnauthorized(() => setGate((current) => (current.state === 'in' ? { state: 'login', expired: true } : current)));
  }, []);

  switch (gate.state) {
    case 'checking':
      return <p class="splash">Loading…</p>;
    case 'failed':
      return (
        <main id="main" class="login">
          <h1>Moxxy console</h1>
          <ErrorNotice error={gate.error} />
        </main>
      );
    case 'login':
      return <Login expired={gate.expired} onLoggedIn={(session) => setGate({ state: 'in', session })} />;
    case 'in':
      return (
        <SessionContext.Provider value={gate.session}>
          <Shell session={gate.session} onLoggedOut={() => setGate({ state: 'login', expired: false })} />
        </SessionContext.Provider>
      );
  }
}

function Shell({ session, onLoggedOut }: { session: AuthSession; onLoggedOut(): void }) {
  const route = useRoute();
  const entry = PAGES.find((candidate) => candidate.page === route.page);
  const [agent, setAgent] = useState('default');
  const routeAgent = entry?.perAgent ? route.params[0] : undefined;
  useEffect(() => {
    if (routeAgent) setAgent(routeAgent);
  }, [routeAgent]);

  // After a navigation (not the first render), focus goes to the new page's heading, as a page load would put it.
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route.page, routeAgent]);

  const Page = entry?.component;
  return (
    <>
      <button type="button" class="skip" onClick={() => main.current?.querySelector<HTMLElement>('h1')?.focus()}>
        Skip to content
      </button>
      <header class="topbar">
        <a class="brand" href={href('agents')}>
          Moxxy
        </a>
        <Health />
        <div class="who">
          <span>
            {session.caller === 'token' ? `token ${session.token_id}` : session.caller === 'internal' ? 'internal token' : 'open (loopback)'}
          </span>
          {session.auth_required ? (
            <button type="button" onClick={() => moxxy.session.delete().finally(onLoggedOut)}>
              Log out
            </button>
          ) : null}
        </div>
      </header>
      <div class="layout">
        <nav aria-label="Sections">
          <ul>
            {PAGES.map((item) => (
              <li key={item.page}>
                <a href={item.perAgent ? href(item.page, agent) : href(item.page)} aria-current={item.page === route.page ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" ref={main}>
          {Page ? <Page params={entry.perAgent ? route.params.slice(1) : route.params} agent={routeAgent ?? agent} /> : <p>Unknown page.</p>}
        </main>
      </div>
    </>
  );
}

function Health() {
  const health = useLoad(() => moxxy.system.health(), []);
  if (!health.data) return <span class="health" />;
  const { status, version, sandbox, warnings } = health.data;
  return (
    <details class="health">
      <summary>
        <span class={`dot ${status}`} aria-hidden="true" /> {status} · v{version} · sandbox {sandbox}
        {warnings.length ? ` · ${warnings.length} warning${warnings.length > 1 ? 's' : ''}` : ''}
      </summary>
      {warnings.length ? (
        <ul>
          {warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      ) : (
        <p>No warnings.</p>
      )}
    </details>
  );
}
