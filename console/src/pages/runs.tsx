/**
 * Runs: an agent's runs (GET /api/agents/{name}/runs), and one run's steps, usage and live events, cancellable; a run
 * awaiting approval shows its pending call with Approve / Deny buttons.
 */
import { useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { href } from '../router.ts';
import { AgentPicker } from '../ui/agent-picker.tsx';
import { ApprovalCard } from '../ui/approval-card.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Badge, Empty, ErrorNotice, Field, Json, PageHeader, Pager, Select, Table, When } from '../ui/kit.tsx';
import { RunEvents } from '../ui/run-events.tsx';

type RunStatus = Schema<'RunStatus'>;
type Run = Schema<'Run'>;
type Approval = Schema<'Approval'>;

const STATUSES: Array<RunStatus | ''> = ['', 'queued', 'running', 'awaiting_approval', 'completed', 'failed', 'cancelled'];

export function RunsPage({ agent, params }: PageProps) {
  const [runId] = params;
  return runId ? <RunDetail agent={agent} runId={runId} /> : <RunList agent={agent} />;
}

function duration(run: Run): string {
  if (!run.started_at || !run.completed_at) return '';
  return `${((Date.parse(run.completed_at) - Date.parse(run.started_at)) / 1000).toFixed(1)} s`;
}

function RunList({ agent }: { agent: string }) {
  const [status, setStatus] = useState<RunStatus | ''>('');
  const [sessionId, setSessionId] = useState('');
  const [offset, setOffset] = useState(0);
  const runs = useLoad(
    () => moxxy.runs.list({ name: agent, limit: 25, offset, ...(status ? { status } : {}), ...(sessionId ? { session_id: sessionId } : {}) }),
    [agent, status, sessionId, offset],
  );
  return (
    <section>
      <PageHeader title="Runs">
        <AgentPicker page="runs" agent={agent} />
        <button type="button" onClick={runs.reload}>
          Refresh
        </button>
      </PageHeader>
      <div class="filters">
        <Select label="Status" value={status} options={STATUSES.map((value) => [value, value || 'any'])} onChange={(e) => { setOffset(0); setStatus(e.currentTarget.value as RunStatus | ''); }} />
        <Field label="Session" value={sessionId} onChange={(e) => { setOffset(0); setSessionId(e.currentTarget.value.trim()); }} />
      </div>
      <ErrorNotice error={runs.error} />
      {runs.data?.runs.length === 0 ? <Empty>No runs.</Empty> : null}
      {runs.data?.runs.length ? (
        <Table caption={`Runs of ${agent}`} columns={['Run', 'Status', 'Source', 'Input', 'Tokens', 'Started', 'Took']}>
          {runs.data.runs.map((run) => (
            <tr key={run.id}>
              <td>
                <a href={href('runs', agent, run.id)}>
                  <code>{run.id}</code>
                </a>
              </td>
              <td>
                <Badge>{run.status}</Badge>
              </td>
              <td>{run.source}</td>
              <td class="clip">{run.input}</td>
              <td>
                {run.usage.input_tokens} / {run.usage.output_tokens}
              </td>
              <td>
                <When at={run.started_at ?? run.created_at} />
              </td>
              <td>{duration(run)}</td>
            </tr>
          ))}
        </Table>
      ) : null}
      {runs.data ? <Pager pagination={runs.data.pagination} onOffset={setOffset} /> : null}
    </section>
  );
}

function RunDetail({ agent, runId }: { agent: string; runId: string }) {
  const run = useLoad(() => moxxy.runs.get({ id: runId }), [runId]);
  const cancel = useAction(async () => {
    await moxxy.runs.cancel({ id: runId });
    run.reload();
  });
  const data = run.data;
  const active = data?.status === 'running' || data?.status === 'queued' || data?.status === 'awaiting_approval';
  // The decision made here stays shown once the run went on without a pending call.
  const [decided, setDecided] = useState<Approval>();
  const shownApproval = decided ?? data?.pending_approval;
  return (
    <section>
      <PageHeader title={`Run ${runId}`}>
        <a class="button" href={href('runs', agent)}>
          All runs of {agent}
        </a>
        <button type="button" onClick={run.reload}>
          Refresh
        </button>
        {active ? (
          <button type="button" class="danger" disabled={cancel.busy} onClick={() => cancel.run()}>
            Cancel run
          </button>
        ) : null}
      </PageHeader>
      <ErrorNotice error={run.error ?? cancel.error} />
      {data ? (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Badge>{data.status}</Badge>
            </dd>
            <dt>Agent</dt>
            <dd>
              <a href={href('agents', data.agent_id)}>{data.agent_id}</a>
            </dd>
            <dt>Session</dt>
            <dd>
              <a href={href('chat', data.agent_id, data.session_id)}>{data.session_id}</a>
            </dd>
            <dt>Source</dt>
            <dd>{data.source}</dd>
            {data.parent_run_id ? (
              <>
                <dt>Parent run</dt>
                <dd>
                  <a href={href('runs', agent, data.parent_run_id)}>{data.parent_run_id}</a> (depth {data.depth})
                </dd>
              </>
            ) : null}
            <dt>Tokens</dt>
            <dd>
              {data.usage.input_tokens} in / {data.usage.output_tokens} out
            </dd>
            <dt>Started</dt>
            <dd>
              <When at={data.started_at} />
            </dd>
            <dt>Took</dt>
            <dd>{duration(data) || '—'}</dd>
          </dl>
          {data.error ? (
            <div class="notice error" role="alert">
              <strong>The run failed</strong> <code class="code">{data.error.code}</code>
              <p>{data.error.message}</p>
            </div>
          ) : null}
          {shownApproval ? (
            <>
              <h2>{decided ? 'Tool call decided' : 'Waiting for approval'}</h2>
              <ApprovalCard
                approval={shownApproval}
                onDecided={(approval) => {
                  setDecided(approval);
                  run.reload();
                }}
              />
            </>
          ) : null}
          <h2>Input</h2>
          <Json value={data.input} />
          <h2>Steps</h2>
          {data.steps.length === 0 ? <Empty>No steps yet.</Empty> : null}
          <ol class="steps">
            {data.steps.map((step) => (
              <li key={step.index} class={`step ${step.type}`}>
                {step.type === 'model' ? (
                  <>
                    <h3>
                      Step {step.index + 1}: model <small class="muted">{step.finish_reason} · {step.usage.input_tokens} in / {step.usage.output_tokens} out · {step.duration_ms} ms</small>
                    </h3>
                    {step.content ? <Json value={step.content} /> : null}
                    {step.tool_calls.map((call) => (
                      <p key={call.id}>
                        Calls <code>{call.name}</code> with <code>{JSON.stringify(call.arguments)}</code>
                      </p>
                    ))}
                  </>
                ) : (
                  <>
                    <h3>
                      Step {step.index + 1}: tool <code>{step.name}</code> {step.is_error ? <Badge tone="bad">error</Badge> : <Badge tone="ok">ok</Badge>} <small class="muted">{step.duration_ms} ms</small>
                    </h3>
                    <Json value={step.arguments} />
                    <Json value={step.output} />
                  </>
                )}
              </li>
            ))}
          </ol>
          <h2>Output</h2>
          {data.output ? <Json value={data.output} /> : <Empty>No output.</Empty>}
        </>
      ) : null}
      <RunEvents runId={runId} />
    </section>
  );
}
