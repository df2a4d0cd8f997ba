/**
 * Chat: an agent's sessions, and a conversation whose answers stream in (text, tool calls with their arguments and
 * results), with the run's status, usage, live events and a cancel button. A tool call that waits for approval shows
 * Approve / Deny buttons; the stream goes on once it is decided. Refusals (busy session, rate limit) and failed runs
 * are shown as they come.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { href, navigate } from '../router.ts';
import { AgentPicker } from '../ui/agent-picker.tsx';
import { ApprovalCard } from '../ui/approval-card.tsx';
import { useLoad } from '../ui/hooks.ts';
import { Badge, Empty, ErrorNotice, Field, Json, PageHeader } from '../ui/kit.tsx';
import { RunEvents } from '../ui/run-events.tsx';

type Message = Schema<'Message'>;
type Usage = Schema<'Usage'>;
type RunStatus = Schema<'RunStatus'>;
type Approval = Schema<'Approval'>;

interface ToolCard {
  id: string;
  name: string;
  arguments: unknown;
  result?: { output: string; is_error: boolean };
}

/** One entry of the transcript. */
type Entry =
  | { kind: 'user'; key: string; content: string }
  | { kind: 'assistant'; key: string; content: string; runStatus: RunStatus | null }
  | { kind: 'tool'; key: string; card: ToolCard }
  | { kind: 'approval'; key: string; approval: Approval }
  | { kind: 'run'; key: string; runId: string; status: RunStatus; usage?: Usage; error?: { code: string; message: string } };

/** History as transcript entries: tool results join the card of the call they answer. */
function entriesOf(messages: readonly Message[]): Entry[] {
  const entries: Entry[] = [];
  const cards = new Map<string, ToolCard>();
  for (const message of messages) {
    if (message.role === 'user') entries.push({ kind: 'user', key: message.id, content: message.content });
    if (message.role === 'assistant') {
      if (message.content) entries.push({ kind: 'assistant', key: message.id, content: message.content, runStatus: message.run_status });
      for (const call of message.tool_calls ?? []) {
        const card: ToolCard = { id: call.id, name: call.name, arguments: call.arguments };
        cards.set(call.id, card);
        entries.push({ kind: 'tool', key: `${message.id}-${call.id}`, card });
      }
    }
    if (message.role === 'tool' && message.tool_call_id) {
      const card = cards.get(message.tool_call_id);
      if (card) card.result = { output: message.content, is_error: false };
    }
  }
  return entries;
}

export function ChatPage({ agent, params }: PageProps) {
  const [sessionId] = params;
  const [userFilter, setUserFilter] = useState('');
  const sessions = useLoad(() => moxxy.chat.sessions({ name: agent, limit: 50, ...(userFilter ? { user_id: userFilter } : {}) }), [agent, userFilter, sessionId]);

  return (
    <section>
      <PageHeader title="Chat">
        <AgentPicker page="chat" agent={agent} />
      </PageHeader>
      <div class="chat-layout">
        <aside class="sessions" aria-label="Sessions">
          <a class="button primary" href={href('chat', agent)} aria-current={sessionId ? undefined : 'page'}>
            New conversation
          </a>
          <Field label="Filter by user" value={userFilter} onChange={(e) => setUserFilter(e.currentTarget.value.trim())} />
          <ErrorNotice error={sessions.error} />
          {sessions.data?.sessions.length === 0 ? <Empty>No sessions yet.</Empty> : null}
          <ul>
            {sessions.data?.sessions.map((session) => (
              <li key={session.id}>
                <a href={href('chat', agent, session.id)} aria-current={session.id === sessionId ? 'page' : undefined}>
                  <code>{session.id}</code>
                  <small>
                    {session.message_count} messages{session.user_id ? ` · ${session.user_id}` : ''} · {new Date(session.updated_at).toLocaleString()}
                  </small>
                </a>
              </li>
            ))}
          </ul>
        </aside>
        <Conversation key={agent} agent={agent} sessionId={sessionId} onTurnEnded={sessions.reload} />
      </div>
    </section>
  );
}

function Conversation({ agent, sessionId, onTurnEnded }: { agent: string; sessionId: string | undefined; onTurnEnded(): void }) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [olderCursor, setOlderCursor] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<unknown>(undefined);
  const [draft, setDraft] = useState('');
  const [userId, setUserId] = useState('');
  const [streaming, setStreaming] = useState(false);
  const [runId, setRunId] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const controller = useRef<AbortController | undefined>(undefined);
  // The session a turn of this page just created: arriving at its address must not reload what is on screen.
  const ownSession = useRef<string | undefined>(undefined);
  const log = useRef<HTMLOListElement>(null);

  async function loadHistory(before?: string) {
    if (!sessionId) return;
    try {
      const page = await moxxy.chat.history({ name: agent, session_id: sessionId, limit: 100, include_tools: true, ...(before ? { before } : {}) });
      setEntries((current) => (before ? [...entriesOf(page.messages), ...current] : entriesOf(page.messages)));
      setOlderCursor(page.has_more ? page.next_cursor : null);
    } catch (caught) {
      setLoadError(caught);
    }
  }

  useEffect(() => {
    if (sessionId && sessionId === ownSession.current) return;
    controller.current?.abort();
    setEntries([]);
    setRunId(undefined);
    setError(undefined);
    setLoadError(undefined);
    setOlderCursor(null);
    void loadHistory();
  }, [sessionId]);

  useEffect(() => {
    log.current?.lastElementChild?.scrollIntoView({ block: 'end' });
  }, [entries]);

  useEffect(() => () => controller.current?.abort(), []);

  const update = (key: string, change: (entry: Entry) => Entry) => setEntries((list) => list.map((entry) => (entry.key === key ? change(entry) : entry)));

  async function send(event?: Event) {
    event?.preventDefault();
    const message = draft.trim();
    if (!message || streaming) return;
    const turn = `turn-${Date.now()}`;
    const runKey = `${turn}-run`;
    // Text after a tool call goes into a new answer below the call's card, so the transcript reads in order.
    let answers = 0;
    let answerKey: string | undefined;
    const append = (entry: Entry) => setEntries((list) => [...list, entry]);
    setError(undefined);
    setStreaming(true);
    setRunId(undefined);
    append({ kind: 'user', key: `${turn}-user`, content: message });
    const abort = new AbortController();
    controller.current = abort;
    let started = false;
    /** True for the first chunk: the message was taken, and the run has an id. */
    const isFirstChunk = (id: string) => {
      if (started) return false;
      started = true;
      setDraft('');
      setRunId(id);
      return true;
    };
    try {
      const stream = moxxy.chat.stream({ name: agent, message, ...(sessionId ? { session_id: sessionId } : {}), ...(userId ? { user_id: userId } : {}) }, { signal: abort.signal });
      for await (const chunk of stream) {
        if (isFirstChunk(chunk.run_id)) append({ kind: 'run', key: runKey, runId: chunk.run_id, status: 'running' });
        if ('done' in chunk) {
          update(runKey, (entry) => ({ ...entry, status: chunk.status, usage: chunk.usage, ...(chunk.error ? { error: chunk.error } : {}) }));
          if (answerKey) update(answerKey, (entry) => (entry.kind === 'assistant' ? { ...entry, runStatus: chunk.status } : entry));
          else if (chunk.content) append({ kind: 'assistant', key: `${turn}-answer`, content: chunk.content, runStatus: chunk.status });
          if (chunk.session_id !== sessionId) {
            ownSession.current = chunk.session_id;
            navigate('chat', agent, chunk.session_id);
          }
        } else if ('tool_call' in chunk) {
          const { id, name, arguments: args } = chunk.tool_call;
          append({ kind: 'tool', key: `${turn}-${id}`, card: { id, name, arguments: args } });
          answerKey = undefined;
        } else if ('approval_required' in chunk) {
          const approval = chunk.approval_required;
          update(runKey, (entry) => ({ ...entry, status: 'awaiting_approval' }));
          append({ kind: 'approval', key: `${turn}-approval-${approval.call_id}`, approval });
          answerKey = undefined;
        } else if ('tool_result' in chunk) {
          const { id, output, is_error } = chunk.tool_result;
          update(`${turn}-${id}`, (entry) => (entry.kind === 'tool' ? { ...entry, card: { ...entry.card, result: { output, is_error } } } : entry));
        } else {
          if (!answerKey) {
            answerKey = `${turn}-answer-${answers++}`;
            append({ kind: 'assistant', key: answerKey, content: '', runStatus: 'running' });
          }
          const key = answerKey;
          update(key, (entry) => (entry.kind === 'assistant' ? { ...entry, content: entry.content + chunk.content } : entry));
        }
      }
    } catch (caught) {
      setError(caught);
      // Refused before the run started (a busy session, a rate limit): the message was not taken, and stays in the box.
      if (!started) setEntries((list) => list.filter((entry) => entry.key !== `${turn}-user`));
    } finally {
      setStreaming(false);
      controller.current = undefined;
      onTurnEnded();
    }
  }

  async function cancel() {
    if (runId) {
      try {
        await moxxy.runs.cancel({ id: runId });
      } catch (caught) {
        setError(caught);
      }
    } else {
      // No run id yet: closing the stream is all there is to do.
      controller.current?.abort();
    }
  }

  return (
    <div class="conversation">
      {olderCursor ? (
        <button type="button" onClick={() => loadHistory(olderCursor)}>
          Load earlier messages
        </button>
      ) : null}
      <ErrorNotice error={loadError} />
      {entries.length === 0 && !sessionId ? <Empty>Say something to {agent}. A new session starts with your first message.</Empty> : null}
      <div role="log" aria-label="Conversation" aria-busy={streaming}>
        <ol class="transcript" ref={log}>
          {entries.map((entry) => (
            <TranscriptEntry key={entry.key} entry={entry} agent={agent} onDecided={(approval) => update(entry.key, (old) => ({ ...old, approval }))} />
          ))}
        </ol>
      </div>
      <ErrorNotice error={error} />
      <form class="composer" onSubmit={send}>
        <div class="field grow">
          <label for="chat-message">Message</label>
          <textarea
            id="chat-message"
            rows={3}
            value={draft}
            aria-describedby="chat-message-hint"
            onInput={(e) => setDraft(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) void send(e);
            }}
          />
          <small id="chat-message-hint">Enter sends, Shift+Enter starts a new line.</small>
        </div>
        <div class="composer-side">
          <Field label="User id" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} hint="Scopes memory and history." />
          <div class="form-actions">
            <button type="submit" class="primary" disabled={streaming || draft.trim() === ''}>
              Send
            </button>
            <button type="button" class="danger" disabled={!streaming} onClick={cancel}>
              Cancel run
            </button>
          </div>
        </div>
      </form>
      {runId ? <RunEvents runId={runId} /> : null}
    </div>
  );
}

function TranscriptEntry({ entry, agent, onDecided }: { entry: Entry; agent: string; onDecided: (approval: Approval) => void }) {
  switch (entry.kind) {
    case 'approval':
      return (
        <li>
          <ApprovalCard approval={entry.approval} onDecided={onDecided} />
        </li>
      );
    case 'user':
      return (
        <li class="bubble user">
          <span class="sr-only">You: </span>
          {entry.content}
        </li>
      );
    case 'assistant':
      if (!entry.content) return null;
      return (
        <li class="bubble assistant">
          <span class="sr-only">{agent}: </span>
          {entry.content}
          {entry.runStatus === 'failed' || entry.runStatus === 'cancelled' ? <Badge>{entry.runStatus}</Badge> : null}
        </li>
      );
    case 'tool':
      return (
        <li class="tool-card">
          <details open>
            <summary>
              Tool call <code>{entry.card.name}</code> {entry.card.result ? <Badge tone={entry.card.result.is_error ? 'bad' : 'ok'}>{entry.card.result.is_error ? 'error' : 'done'}</Badge> : <Badge tone="live">running</Badge>}
            </summary>
            <h3>Arguments</h3>
            <Json value={entry.card.arguments} />
            {entry.card.result ? (
              <>
                <h3>Result</h3>
                <Json value={entry.card.result.output} />
              </>
            ) : null}
          </details>
        </li>
      );
    case 'run':
      return (
        <li class="run-line" data-run-status={entry.status}>
          Run <a href={href('runs', agent, entry.runId)}>{entry.runId}</a> <Badge>{entry.status}</Badge>
          {entry.usage ? (
            <span class="muted">
              {' '}
              {entry.usage.input_tokens} in / {entry.usage.output_tokens} out tokens
            </span>
          ) : null}
          {entry.error ? (
            <div class="notice error" role="alert">
              <strong>The run failed</strong> <code class="code">{entry.error.code}</code>
              <p>{entry.error.message}</p>
            </div>
          ) : null}
        </li>
      );
  }
}
