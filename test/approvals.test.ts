/**
 * Tool approvals through the public surface: a tool policy of `ask` pauses the run (awaiting_approval, the pending
 * call on GET /api/runs/{id}), a person approves or denies it over REST, tRPC or a chat stream's frame, the run goes
 * on from what is stored: after a restart, on a second process, or denied when nobody decided in time.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, makeTempHome, startTestServer, startTestServerIn, type Api, type TestServer } from './helpers/server.ts';
import { runCli, spawnServer } from './helpers/process.ts';
import { parseSse } from './helpers/sse.ts';

const STORE = (content: string) => `<invoke name="memory.store">{"content": "${content}"}</invoke>`;

/** The JSON frames of a chat stream as they arrive, so a test can act in the middle of it. */
async function* chatFrames(response: Response): AsyncGenerator<Record<string, any>> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const end = buffer.lastIndexOf('\n\n');
      if (end < 0) continue;
      const complete = buffer.slice(0, end + 2);
      buffer = buffer.slice(end + 2);
      for (const event of parseSse(complete).events) yield JSON.parse(event.data);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Polls the run until its status is one of `statuses` (a resumed run goes on in the background). */
async function waitForRun(api: Api, runId: string, statuses: string[], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.get(`/api/runs/${runId}`);
    if (statuses.includes(res.body.data.status) || Date.now() > deadline) return res.body.data;
    await sleep(50);
  }
}

async function createAskingAgent(api: Api, name: string, policy: Record<string, string> = { 'memory.store': 'ask' }) {
  const res = await api.post('/api/agents', { name, allowed_tools: ['memory.*'], tool_policy: policy });
  expect(res.status).toBe(201);
  return res;
}

describe('tool approvals', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('keeps allowed calls as they were when the agent has no tool policy', async () => {
    await server.api.post('/api/agents', { name: 'plain', allowed_tools: ['memory.*'] });
    const res = await server.api.post('/api/agents/plain/chat', { message: STORE('plain fact') });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'completed', content: expect.stringContaining('memory.store') });
    expect(res.body.data.pending_approval).toBeUndefined();
    expect((await server.api.get('/api/agents/plain')).body.data.tool_policy).toEqual({});
  });

  it('pauses on an `ask` call, shows the pending call on the run, keeps the session busy, and runs the tool once approved', async () => {
    await createAskingAgent(server.api, 'asker');
    const chat = await server.api.post('/api/agents/asker/chat', { message: `Remember ${STORE('likes tea')}`, session_id: 'ses-approve' });
    expect(chat.status).toBe(200);
    const reply = chat.body.data;
    expect(reply.status).toBe('awaiting_approval');
    expect(reply.pending_approval).toMatchObject({ call_id: 'call_1', tool: 'memory.store', arguments: { content: 'likes tea' }, status: 'pending' });

    const run = await server.api.get(`/api/runs/${reply.run_id}`);
    expect(run.body.data.status).toBe('awaiting_approval');
    expect(run.body.data.pending_approval).toMatchObject({ run_id: reply.run_id, call_id: 'call_1', tool: 'memory.store' });
    expect(run.body.data.completed_at).toBeNull();
    // The agent's run list shows the same pending call, on the paused run only.
    const listed = (await server.api.get('/api/agents/asker/runs')).body.data.runs;
    expect(listed.find((r: { id: string }) => r.id === reply.run_id).pending_approval).toEqual(run.body.data.pending_approval);
    expect(listed.filter((r: { pending_approval?: unknown }) => r.pending_approval)).toHaveLength(1);

    const busy = await server.api.post('/api/agents/asker/chat', { message: 'hello?', session_id: 'ses-approve' });
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('SESSION_BUSY');

    const decided = await server.api.post(`/api/runs/${reply.run_id}/approvals/call_1`, { decision: 'approve' });
    expect(decided.status).toBe(200);
    expect(decided.body.data).toMatchObject({ status: 'approved', call_id: 'call_1', decided_by: 'anonymous' });

    const ended = await waitForRun(server.api, reply.run_id, ['completed', 'failed']);
    expect(ended.status).toBe('completed');
    expect(ended.pending_approval).toBeUndefined();
    expect((await server.api.get('/api/agents/asker/runs')).body.data.runs.some((r: { pending_approval?: unknown }) => r.pending_approval)).toBe(false);
    const tool = ended.steps.find((step: { type: string }) => step.type === 'tool');
    expect(tool).toMatchObject({ name: 'memory.store', is_error: false });
    expect(ended.output).toContain('memory.store');
    const memories = await server.api.get('/api/agents/asker/memory');
    expect(memories.body.data.memories.map((m: { content: string }) => m.content)).toContain('likes tea');

    const again = await server.api.post(`/api/runs/${reply.run_id}/approvals/call_1`, { decision: 'deny' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('APPROVAL_DECIDED');

    const audit = await server.api.get(`/api/audit?event_type=approval.requested,approval.decided&agent_id=asker`);
    const types = audit.body.data.events.filter((e: { run_id: string }) => e.run_id === reply.run_id).map((e: { event_type: string }) => e.event_type);
    expect(types).toEqual(expect.arrayContaining(['approval.requested', 'approval.decided']));
  });

  it('returns a denial to the model as the tool result, with the reason, and never runs the tool', async () => {
    await createAskingAgent(server.api, 'denier');
    const reply = (await server.api.post('/api/agents/denier/chat', { message: STORE('secret plan') })).body.data;
    expect(reply.status).toBe('awaiting_approval');
    const denied = await server.api.post(`/api/runs/${reply.run_id}/approvals/${reply.pending_approval.call_id}`, { decision: 'deny', reason: 'not today' });
    expect(denied.body.data).toMatchObject({ status: 'denied', reason: 'not today' });
    const ended = await waitForRun(server.api, reply.run_id, ['completed', 'failed']);
    expect(ended.status).toBe('completed');
    const tool = ended.steps.find((step: { type: string }) => step.type === 'tool');
    expect(tool).toMatchObject({ name: 'memory.store', is_error: true });
    expect(tool.output).toContain('a person denied the call (not today)');
    expect(ended.output).toContain('not today');
    expect((await server.api.get('/api/agents/denier/memory')).body.data.memories).toEqual([]);
  });

  it('applies a decision "for the rest of this session" to later calls of the tool without asking', async () => {
    await createAskingAgent(server.api, 'sessioner');
    const first = (await server.api.post('/api/agents/sessioner/chat', { message: STORE('one'), session_id: 'ses-remember' })).body.data;
    await server.api.post(`/api/runs/${first.run_id}/approvals/call_1`, { decision: 'approve', for_session: true });
    await waitForRun(server.api, first.run_id, ['completed']);
    const second = await server.api.post('/api/agents/sessioner/chat', { message: STORE('two'), session_id: 'ses-remember' });
    expect(second.body.data.status).toBe('completed');
    const other = await server.api.post('/api/agents/sessioner/chat', { message: STORE('three'), session_id: 'ses-other' });
    expect(other.body.data.status).toBe('awaiting_approval');
    await server.api.post(`/api/runs/${other.body.data.run_id}/cancel`);
  });

  it('refuses a `deny` policy like an allow-list refusal, and a channel-less narrowing is only stricter', async () => {
    await server.api.post('/api/agents', { name: 'strict', allowed_tools: ['memory.*'], tool_policy: { 'memory.*': 'deny', 'memory.search': 'allow' } });
    const denied = await server.api.post('/api/agents/strict/chat', { message: STORE('nope') });
    expect(denied.body.data.status).toBe('completed');
    const run = (await server.api.get(`/api/runs/${denied.body.data.run_id}`)).body.data;
    expect(run.steps.find((step: { type: string }) => step.type === 'tool').output).toContain("the agent 'strict' tool policy denies it");
    const search = await server.api.post('/api/agents/strict/chat', { message: '<invoke name="memory.search">{"query": "x"}</invoke>' });
    const searched = (await server.api.get(`/api/runs/${search.body.data.run_id}`)).body.data;
    expect(searched.steps.find((step: { type: string }) => step.type === 'tool').is_error).toBe(false);
  });

  it('refuses `ask` for a tool the agent may not call at all, and a bad mode, with VALIDATION_ERROR', async () => {
    const res = await server.api.post('/api/agents', { name: 'confused', allowed_tools: ['memory.*'], tool_policy: { host_shell: 'ask' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.details.issues[0].path).toBe('tool_policy.host_shell');
    const bad = await server.api.patch('/api/agents/plain', { tool_policy: { 'memory.store': 'maybe' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    const patched = await server.api.patch('/api/agents/plain', { tool_policy: { 'memory.*': 'ask' } });
    expect(patched.status).toBe(200);
    expect(patched.body.data.tool_policy).toEqual({ 'memory.*': 'ask' });
  });

  it('answers 404 APPROVAL_NOT_FOUND for a call the run never waited on, and RUN_NOT_FOUND for an unknown run', async () => {
    const reply = (await server.api.post('/api/agents/plain/chat', { message: 'no tools here' })).body.data;
    const missing = await server.api.post(`/api/runs/${reply.run_id}/approvals/call_9`, { decision: 'approve' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('APPROVAL_NOT_FOUND');
    const unknown = await server.api.post('/api/runs/run_nope/approvals/call_1', { decision: 'approve' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('RUN_NOT_FOUND');
    const invalid = await server.api.post(`/api/runs/${reply.run_id}/approvals/call_1`, { decision: 'maybe' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('cancels a run waiting for approval, which frees its session', async () => {
    await createAskingAgent(server.api, 'canceller');
    const reply = (await server.api.post('/api/agents/canceller/chat', { message: STORE('x'), session_id: 'ses-cancel' })).body.data;
    const cancelled = await server.api.post(`/api/runs/${reply.run_id}/cancel`);
    expect(cancelled.body.data.status).toBe('cancelled');
    const late = await server.api.post(`/api/runs/${reply.run_id}/approvals/call_1`, { decision: 'approve' });
    expect(late.status).toBe(409);
    const next = await server.api.post('/api/agents/canceller/chat', { message: 'free again', session_id: 'ses-cancel' });
    expect(next.body.data.status).toBe('completed');
  });

  it('sends a stream frame for the pending call and keeps the stream open until the decision, then streams the rest', async () => {
    await createAskingAgent(server.api, 'streamer');
    const response = await fetch(`${server.url}/api/agents/streamer/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: STORE('streamed') }),
    });
    const frames: Array<Record<string, any>> = [];
    let decided = false;
    for await (const data of chatFrames(response)) {
      frames.push(data);
      if (data.approval_required && !decided) {
        decided = true;
        expect(data.approval_required).toMatchObject({ tool: 'memory.store', status: 'pending' });
        const res = await server.trpc.runs.decide.mutate({ id: data.run_id, call_id: data.approval_required.call_id, decision: 'approve' });
        expect(res.status).toBe('approved');
      }
      if (data.done) break;
    }
    expect(decided).toBe(true);
    const done = frames.at(-1)!;
    expect(done).toMatchObject({ done: true, status: 'completed' });
    expect(frames.some((frame) => frame.tool_result?.name === 'memory.store' && frame.tool_result.is_error === false)).toBe(true);
  });
});

describe('tool approvals that expire', () => {
  it('denies a call nobody decided in time, audits it, and ends a waiting stream', async () => {
    const server = await startTestServer({ approvals: { expiryMs: 1000 } });
    try {
      await createAskingAgent(server.api, 'waiter');
      const response = await fetch(`${server.url}/api/agents/waiter/chat/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: STORE('too late') }),
      });
      const frames: Array<Record<string, any>> = [];
      for await (const frame of chatFrames(response)) {
        frames.push(frame);
        if (frames.at(-1)!.done) break;
      }
      expect(frames.some((frame) => frame.approval_required)).toBe(true);
      const done = frames.at(-1)!;
      expect(done.status).toBe('completed');
      const run = (await server.api.get(`/api/runs/${done.run_id}`)).body.data;
      expect(run.steps.find((step: { type: string }) => step.type === 'tool').output).toContain('nobody approved the call before it expired');
      const audit = await server.api.get(`/api/audit?event_type=approval.decided&agent_id=waiter`);
      expect(audit.body.data.events[0].payload).toMatchObject({ decision: 'expired', decided_by: 'expiry', tool: 'memory.store' });
    } finally {
      await server.close();
    }
  });
});

describe('tool approvals across processes', () => {
  it('resumes a paused run after a restart of the server, from what is stored', async () => {
    const home = makeTempHome();
    try {
      const first = await startTestServerIn(home);
      await createAskingAgent(first.api, 'durable');
      const reply = (await first.api.post('/api/agents/durable/chat', { message: STORE('survives restarts') })).body.data;
      expect(reply.status).toBe('awaiting_approval');
      await first.close();

      const second = await startTestServerIn(home);
      try {
        const run = await second.api.get(`/api/runs/${reply.run_id}`);
        expect(run.body.data).toMatchObject({ status: 'awaiting_approval', pending_approval: { call_id: 'call_1', tool: 'memory.store' } });
        await second.api.post(`/api/runs/${reply.run_id}/approvals/call_1`, { decision: 'approve' });
        const ended = await waitForRun(second.api, reply.run_id, ['completed', 'failed']);
        expect(ended.status).toBe('completed');
        expect(ended.steps.filter((step: { type: string }) => step.type === 'model')).toHaveLength(2);
        const memories = await second.api.get('/api/agents/durable/memory');
        expect(memories.body.data.memories.map((m: { content: string }) => m.content)).toEqual(['survives restarts']);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('resumes a paused run after `moxxy vault rotate-key`: its stored checkpoint is sealed again with the new key', async () => {
    const home = makeTempHome();
    try {
      const first = await startTestServerIn(home);
      await createAskingAgent(first.api, 'rotated');
      const reply = (await first.api.post('/api/agents/rotated/chat', { message: STORE('across keys') })).body.data;
      await first.close();
      const rotated = await runCli(['vault', 'rotate-key'], { MOXXY_HOME: home, MOXXY_LOG_LEVEL: 'silent' });
      expect(rotated.code).toBe(0);
      const second = await startTestServerIn(home);
      try {
        await second.api.post(`/api/runs/${reply.run_id}/approvals/call_1`, { decision: 'approve' });
        const ended = await waitForRun(second.api, reply.run_id, ['completed', 'failed']);
        expect(ended.status).toBe('completed');
        expect((await second.api.get('/api/agents/rotated/memory')).body.data.memories.map((m: { content: string }) => m.content)).toEqual(['across keys']);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('leaves a run of `moxxy run` paused (exit status 2) for a server to resume once decided', async () => {
    const home = makeTempHome();
    try {
      const setup = await startTestServerIn(home);
      await createAskingAgent(setup.api, 'cli-asker');
      await setup.close();
      const cli = await runCli(['run', '--agent', 'cli-asker', '--prompt', STORE('from the command line')], { MOXXY_HOME: home, MOXXY_LOG_LEVEL: 'silent' });
      expect(cli.code).toBe(2);
      expect(cli.stderr).toMatch(/memory\.store waits for approval: moxxy approvals approve run_\S+ call_1 .*, or POST \/api\/runs\/run_\S+\/approvals\/call_1/);
      const runId = /\/api\/runs\/(run_[^/]+)\/approvals\/call_1/.exec(cli.stderr)![1]!;
      const server = await startTestServerIn(home);
      try {
        expect((await server.api.get(`/api/runs/${runId}`)).body.data).toMatchObject({ status: 'awaiting_approval', source: 'cli' });
        await server.api.post(`/api/runs/${runId}/approvals/call_1`, { decision: 'approve' });
        expect((await waitForRun(server.api, runId, ['completed', 'failed'])).status).toBe('completed');
      } finally {
        await server.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('lists and decides a paused call with `moxxy approvals`, which goes on with the run and prints its answer', async () => {
    const home = makeTempHome();
    const env = { MOXXY_HOME: home, MOXXY_LOG_LEVEL: 'silent' };
    try {
      const setup = await startTestServerIn(home);
      await createAskingAgent(setup.api, 'cli-decided');
      await setup.close();
      const first = await runCli(['run', '--agent', 'cli-decided', '--prompt', STORE('approved at the prompt'), '--session', 'ses-cli'], env);
      expect(first.code).toBe(2);
      const second = await runCli(['run', '--agent', 'cli-decided', '--prompt', STORE('denied at the prompt')], env);
      expect(second.code).toBe(2);

      const listed = await runCli(['approvals', 'list'], env);
      expect(listed.code).toBe(0);
      const rows = listed.stdout.trim().split('\n').map((line) => line.split('\t'));
      expect(rows.map(([, call, tool, args]) => [call, tool, JSON.parse(args!)]).sort((a, b) => String(a[2].content).localeCompare(String(b[2].content)))).toEqual([
        ['call_1', 'memory.store', { content: 'approved at the prompt' }],
        ['call_1', 'memory.store', { content: 'denied at the prompt' }],
      ]);
      const runOf = (content: string) => rows.find(([, , , args]) => JSON.parse(args!).content === content)![0]!;
      expect((await runCli(['approvals', 'list', '--agent', 'default'], env)).stdout).toBe('');

      const approved = await runCli(['approvals', 'approve', runOf('approved at the prompt'), 'call_1'], env);
      expect(approved.stderr).toContain('approved memory.store (call_1); the run goes on in this process');
      expect(approved.stdout).toMatch(/^memory\.store: /);
      expect(approved.code).toBe(0);

      const denied = await runCli(['approvals', 'deny', runOf('denied at the prompt'), 'call_1', '--reason', 'not today'], env);
      expect(denied.stdout).toContain('not today');
      expect(denied.code).toBe(0);
      const again = await runCli(['approvals', 'deny', runOf('denied at the prompt'), 'call_1'], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already decided \(denied\)/);
      expect((await runCli(['approvals', 'approve', 'run_nope', 'call_1'], env)).stderr).toContain("Run 'run_nope' not found");

      const server = await startTestServerIn(home);
      try {
        // A run the server paused goes on in the server, which the command follows to its end.
        const paused = (await server.api.post('/api/agents/cli-decided/chat', { message: STORE('paused by the server') })).body.data;
        expect(paused.status).toBe('awaiting_approval');
        const elsewhere = await runCli(['approvals', 'approve', paused.run_id, 'call_1'], env);
        expect(elsewhere.stderr).toContain('the run goes on in a server of this database');
        expect(elsewhere.stdout).toMatch(/^memory\.store: /);
        expect(elsewhere.code).toBe(0);
        expect((await server.api.get(`/api/runs/${paused.run_id}`)).body.data.status).toBe('completed');

        expect((await server.api.get('/api/agents/cli-decided/memory')).body.data.memories.map((m: { content: string }) => m.content).sort()).toEqual(['approved at the prompt', 'paused by the server']);
        const decided = (await server.api.get(`/api/runs/${runOf('approved at the prompt')}`)).body.data;
        expect(decided).toMatchObject({ status: 'completed' });
        const audit = (await server.api.get('/api/audit?agent_id=cli-decided&event_type=approval.decided&limit=10')).body.data.events;
        expect(audit.map((event: { payload: { decided_by: string; decision: string } }) => [event.payload.decision, event.payload.decided_by]).sort()).toEqual([
          ['approved', 'cli'],
          ['approved', 'cli'],
          ['denied', 'cli'],
        ]);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('takes a decision made through a second process (a real `moxxy serve`) and the run completes', async () => {
    const home = makeTempHome();
    const first = await startTestServerIn(home);
    const second = await spawnServer({ MOXXY_HOME: home });
    try {
      await createAskingAgent(first.api, 'shared');
      const reply = (await first.api.post('/api/agents/shared/chat', { message: STORE('decided elsewhere') })).body.data;
      const other = createApi(second.url);
      expect((await other.get(`/api/runs/${reply.run_id}`)).body.data.status).toBe('awaiting_approval');
      const decided = await other.post(`/api/runs/${reply.run_id}/approvals/call_1`, { decision: 'approve' });
      expect(decided.body.data.status).toBe('approved');
      const ended = await waitForRun(first.api, reply.run_id, ['completed', 'failed']);
      expect(ended.status).toBe('completed');
      expect((await other.get('/api/agents/shared/memory')).body.data.memories.map((m: { content: string }) => m.content)).toEqual(['decided elsewhere']);
      // Events written by both processes still number the run's events 1, 2, 3 ... in order.
      const audit = (await first.api.get(`/api/audit?agent_id=shared&limit=1000`)).body.data.events.filter((e: { run_id: string }) => e.run_id === reply.run_id);
      expect(audit.map((e: { event_type: string }) => e.event_type)).toEqual(expect.arrayContaining(['approval.requested', 'approval.decided', 'run.completed']));
      const sequences = audit.map((e: { sequence: number }) => e.sequence).sort((a: number, b: number) => a - b);
      expect(sequences).toEqual(sequences.map((_: number, i: number) => i + 1));

      // A stream held by the first process stays open, and goes on when the second decides (told through the change feed).
      const response = await fetch(`${first.url}/api/agents/shared/chat/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: STORE('streamed across processes') }),
      });
      const frames: Array<Record<string, any>> = [];
      for await (const frame of chatFrames(response)) {
        frames.push(frame);
        if (frame.approval_required) {
          const res = await other.post(`/api/runs/${frame.run_id}/approvals/${frame.approval_required.call_id}`, { decision: 'deny', reason: 'not from here' });
          expect(res.body.data.status).toBe('denied');
        }
        if (frame.done) break;
      }
      expect(frames.at(-1)).toMatchObject({ done: true, status: 'completed' });
      expect(frames.find((frame) => frame.tool_result)?.tool_result).toMatchObject({ name: 'memory.store', is_error: true, output: expect.stringContaining('not from here') });
    } finally {
      await second.stop();
      await first.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('tool approvals where nobody can approve', () => {
  it('treats `ask` as deny on the HTTP channel (seed 001), with tool_call_denied in the SDK events', async () => {
    const token = 'http-channel-token-of-the-approvals-suite';
    const server = await startTestServer({ channels: { http: { authToken: token, allowedTools: ['memory.*'], agent: 'gated' } } });
    try {
      await createAskingAgent(server.api, 'gated');
      const res = await server.api.post('/v1/turn', { prompt: STORE('over http') }, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const events: Array<Record<string, any>> = res.body.events;
      const requested = events.find((e) => e.type === 'tool_call_requested');
      expect(requested).toMatchObject({ name: 'memory.store' });
      const denied = events.find((e) => e.type === 'tool_call_denied');
      expect(denied).toMatchObject({ callId: requested!.callId, decidedBy: 'policy', reason: expect.stringContaining("needs a person's approval") });
      expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ ok: false, error: { kind: 'denied' } });
      const run = (await server.api.get(`/api/runs/${events[0]!.turnId}`)).body.data;
      expect(run.status).toBe('completed');
      expect((await server.api.get('/api/agents/gated/memory')).body.data.memories).toEqual([]);

      // The OpenAI-compatible door has no place for a pending call either.
      const completion = await server.api.post('/v1/chat/completions', { model: 'gated', messages: [{ role: 'user', content: STORE('over openai') }] });
      expect(completion.status).toBe(200);
      expect(completion.body.choices[0].message.content).toContain("needs a person's approval");
      expect((await server.api.get('/api/agents/gated/memory')).body.data.memories).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('tool policies of channels', () => {
  it("narrows the agent's policy with an http channel's toolPolicy: a deny there refuses what the agent allows", async () => {
    const server = await startTestServer();
    try {
      await server.api.post('/api/agents', { name: 'narrowed', allowed_tools: ['memory.*'] });
      const token = 'agent-http-channel-token-of-the-approvals-suite';
      const channel = await server.api.post('/api/agents/narrowed/channels', {
        type: 'http',
        config: { authToken: token, allowedTools: ['memory.*'], toolPolicy: { 'memory.search': 'deny' } },
      });
      expect(channel.status).toBe(201);
      expect(channel.body.data.config.toolPolicy).toEqual({ 'memory.search': 'deny' });
      const res = await server.api.post('/v1/turn', { prompt: '<invoke name="memory.search">{"query": "tea"}</invoke>' }, { headers: { authorization: `Bearer ${token}` } });
      const denied = res.body.events.find((e: { type: string }) => e.type === 'tool_call_denied');
      expect(denied).toMatchObject({ decidedBy: 'policy', reason: "Tool 'memory.search' is not allowed: the channel 'http' tool policy denies it" });
      const direct = await server.api.post('/api/agents/narrowed/chat', { message: '<invoke name="memory.search">{"query": "tea"}</invoke>' });
      const run = (await server.api.get(`/api/runs/${direct.body.data.run_id}`)).body.data;
      expect(run.steps.find((step: { type: string }) => step.type === 'tool').is_error).toBe(false);
    } finally {
      await server.close();
    }
  });
});

describe('tool approvals in sub-agents', () => {
  it("denies a sub-agent's `ask` call at once: its parent waits inside a tool call, with nobody to approve", async () => {
    const server = await startTestServer();
    try {
      await server.api.post('/api/agents', { name: 'delegator', allowed_tools: ['memory.*', 'subagent.spawn'], tool_policy: { 'memory.store': 'ask' } });
      const spawn = `<invoke name="subagent.spawn">${JSON.stringify({ prompt: STORE('by the child') }).replaceAll('</', '<\\/')}</invoke>`;
      const reply = await server.api.post('/api/agents/delegator/chat', { message: spawn });
      expect(reply.body.data.status).toBe('completed');
      const child = (await server.api.get('/api/agents/delegator/runs?limit=10')).body.data.runs.find((run: { source: string }) => run.source === 'subagent');
      expect(child.status).toBe('completed');
      expect(child.steps.find((step: { type: string }) => step.type === 'tool').output).toContain("needs a person's approval");
      expect((await server.api.get('/api/agents/delegator/memory')).body.data.memories).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('tool policies of host tools', () => {
  it('lets a `*` token make a host tool stricter but not loosen `ask` to `allow` (a host power)', async () => {
    const internal = 'internal-token-of-the-approvals-suite-0123';
    const server = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: internal });
    try {
      const admin = { headers: { 'x-moxxy-internal-token': internal } };
      const created = await server.api.post('/api/agents', { name: 'shell', allowed_tools: ['host_shell'], tool_policy: { host_shell: 'ask' } }, admin);
      expect(created.status).toBe(201);
      expect(created.body.data.tool_policy).toEqual({ host_shell: 'ask' });
      const token = (await server.api.post('/api/tokens', { name: 'star', scopes: ['*'] }, admin)).body.data.token;
      const star = { headers: { authorization: `Bearer ${token}` } };
      const stricter = await server.api.patch('/api/agents/shell', { tool_policy: { host_shell: 'deny' } }, star);
      expect(stricter.status).toBe(200);
      await server.api.patch('/api/agents/shell', { tool_policy: { host_shell: 'ask' } }, admin);
      const looser = await server.api.patch('/api/agents/shell', { tool_policy: {} }, star);
      expect(looser.status).toBe(403);
      expect(looser.body.error.code).toBe('FORBIDDEN');
      // A policy's `*` covers host tools (it only makes calls stricter), so dropping it loosens them too.
      await server.api.patch('/api/agents/shell', { tool_policy: { '*': 'ask' } }, admin);
      expect((await server.api.patch('/api/agents/shell', { tool_policy: { 'memory.*': 'ask' } }, star)).status).toBe(403);
      await server.api.patch('/api/agents/shell', { tool_policy: { host_shell: 'ask' } }, admin);
      expect((await server.api.get('/api/agents/shell', star)).body.data.tool_policy).toEqual({ host_shell: 'ask' });
    } finally {
      await server.close();
    }
  });
});

describe('the README walk-through of tool approvals', () => {
  it('works as written: the agent, the paused chat, the approval and the completed run', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Tool approvals'), readme.indexOf('### Events and audit'));
    const blocks = [...section.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(3);
    const server = await startTestServer();
    try {
      const script = blocks.map((block) => block.replace(/http:\/\/127\.0\.0\.1:17890/g, server.url)).join('\necho\n');
      const { stdout } = await promisify(execFile)('sh', ['-c', `set -e\n${script.replace(/curl /g, 'curl --silent --show-error ')}`]);
      // curl prints each body without a newline: one JSON envelope per line once split.
      const lines = stdout.replace(/}\s*{"success"/g, '}\n{"success"').trim().split('\n').filter(Boolean);
      const chat = JSON.parse(lines[1]!);
      expect(chat.data).toMatchObject({ status: 'awaiting_approval', pending_approval: { call_id: 'call_1', tool: 'memory.store' } });
      expect(JSON.parse(lines[2]!).data).toMatchObject({ status: 'approved', run_id: chat.data.run_id });
      const run = JSON.parse(lines[3]!).data;
      expect(run).toMatchObject({ id: chat.data.run_id, status: 'completed' });
      const memories = await server.api.get('/api/agents/careful/memory');
      expect(memories.body.data.memories.map((m: { content: string }) => m.content)).toEqual(['tea, no sugar']);
    } finally {
      await server.close();
    }
  });
});
