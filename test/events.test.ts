import { request as httpRequest, type IncomingMessage } from 'node:http';
import { EventSource } from 'eventsource';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import type { EmitEvent, EventEnvelope } from '../src/domain/events.ts';
import { startServer } from '../src/http/server.ts';
import { createCaller } from '../src/routers/app.ts';
import { createServices } from '../src/services/container.ts';
import { makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** A minimal SSE client over fetch: collects messages and comments as they arrive. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  let buffer = '';
  const pump = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = { data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const [field, ...rest] = line.split(':');
              const value = rest.join(':').replace(/^ /, '');
              if (field === 'id') message.id = value;
              else if (field === 'event') message.event = value;
              else if (field === 'data') data.push(value);
            }
          }
          if (data.length) messages.push({ ...message, data: data.join('\n') });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    response,
    messages,
    comments,
    envelopes: () => messages.map((m) => JSON.parse(m.data) as Record<string, any>),
    async waitFor(count: number, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${messages.length}`);
        await sleep(5);
      }
      return messages.slice(0, count);
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: TestServer;
let emit: (event: EmitEvent) => Promise<EventEnvelope>;

/** Waits until exactly `count` subscribers are connected to the bus (closed streams leave it asynchronously). */
async function waitForSubscribers(count: number) {
  const deadline = Date.now() + 5000;
  while (server.services.events.subscriberCount !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} subscribers, have ${server.services.events.subscriberCount}`);
    await sleep(5);
  }
}

beforeAll(async () => {
  server = await startTestServer();
  emit = (event) => server.services.events.emit(event);
});
afterAll(() => server.close());

describe('GET /v1/events/stream', () => {
  it('streams matching events as id/data messages with the envelope as JSON, and no event: line', async () => {
    const stream = await openStream(`${server.url}/v1/events/stream?agent_id=stream-a`);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.response.headers.get('cache-control')).toBe('no-cache');
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
    const first = await emit({ agent_id: 'stream-a', run_id: 'run_s1', event_type: 'run.started', payload: { input: 'hi' } });
    await emit({ agent_id: 'stream-b', run_id: 'run_s2', event_type: 'run.started', payload: {} });
    const second = await emit({ agent_id: 'stream-a', run_id: 'run_s1', event_type: 'run.completed', payload: { output: 'bye' } });
    const [a, b] = await stream.waitFor(2);
    await sleep(50);
    await stream.close();
    expect(stream.messages).toHaveLength(2);
    expect(a).toEqual({ id: first.event_id, data: expect.any(String) });
    expect(b).toEqual({ id: second.event_id, data: expect.any(String) });
    expect(JSON.parse(a!.data)).toEqual({
      event_id: first.event_id,
      timestamp: first.timestamp.toISOString(),
      agent_id: 'stream-a',
      run_id: 'run_s1',
      sequence: 1,
      event_type: 'run.started',
      payload: { input: 'hi' },
    });
    expect(first.event_id).toMatch(/^evt_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
  });

  it("delivers every event to seed 004's JavaScript example (onmessage), as written, with the event id for resuming", async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await waitForSubscribers(0);
    // Seed 004's example, host and port aside.
    const eventSource = new EventSource(
      `${server.url}/v1/events/stream?agent_id=agent_abc123`,
    );

    eventSource.onmessage = (event) => {
      const envelope = JSON.parse(event.data);
      console.log(envelope.event_type, envelope.payload);
    };
    const ids: string[] = [];
    eventSource.addEventListener('message', (event) => ids.push(event.lastEventId));
    try {
      await waitForSubscribers(1);
      const started = await emit({ agent_id: 'agent_abc123', run_id: 'run_def456', event_type: 'run.started', payload: { input: 'hi' } });
      await emit({ agent_id: 'someone-else', run_id: 'run_other', event_type: 'run.started', payload: {} });
      const called = await emit({ agent_id: 'agent_abc123', run_id: 'run_def456', event_type: 'primitive.called', payload: { name: 'fs.read', args: { path: 'README.md' } } });
      const deadline = Date.now() + 5000;
      while (log.mock.calls.length < 2 && Date.now() < deadline) await sleep(5);
      expect(log.mock.calls).toEqual([
        ['run.started', { input: 'hi' }],
        ['primitive.called', { name: 'fs.read', args: { path: 'README.md' } }],
      ]);
      expect(ids).toEqual([started.event_id, called.event_id]);
    } finally {
      eventSource.close();
      log.mockRestore();
    }
  });

  it('filters by run_id and a comma-separated event_type list, ignoring unknown parameters', async () => {
    const stream = await openStream(`${server.url}/v1/events/stream?run_id=run_f1&event_type=model.request,model.response&colour=blue`);
    await emit({ agent_id: 'filters', run_id: 'run_f1', event_type: 'run.started' });
    await emit({ agent_id: 'filters', run_id: 'run_f1', event_type: 'model.request' });
    await emit({ agent_id: 'filters', run_id: 'run_f2', event_type: 'model.request' });
    await emit({ agent_id: 'filters', run_id: 'run_f1', event_type: 'model.stream', payload: { delta: 'x' } });
    await emit({ agent_id: 'filters', run_id: 'run_f1', event_type: 'model.response' });
    await stream.waitFor(2);
    await sleep(50);
    await stream.close();
    expect(stream.envelopes().map((e) => [e.run_id, e.event_type])).toEqual([
      ['run_f1', 'model.request'],
      ['run_f1', 'model.response'],
    ]);
  });

  it('resumes after Last-Event-ID from the audit log, then continues live, with no gaps or duplicates', async () => {
    const filter = `${server.url}/v1/events/stream?run_id=run_resume`;
    const first = await openStream(filter);
    const emitted: EventEnvelope[] = [];
    const emitStep = async (step: number) => {
      emitted.push(await emit({ agent_id: 'resumer', run_id: 'run_resume', event_type: 'primitive.called', payload: { step } }));
    };
    for (let step = 1; step <= 4; step++) await emitStep(step);
    await first.waitFor(4);
    await first.close();
    const lastSeen = first.messages[1]!.id!;
    for (let step = 5; step <= 7; step++) await emitStep(step); // while nobody listens
    await emit({ agent_id: 'resumer', run_id: 'run_other', event_type: 'primitive.called' });

    const resumed = await openStream(filter, { 'last-event-id': lastSeen });
    await resumed.waitFor(5);
    await emitStep(8);
    await resumed.waitFor(6);
    await sleep(50);
    await resumed.close();
    expect(resumed.messages.map((m) => m.id)).toEqual(emitted.slice(2).map((e) => e.event_id));
    expect(resumed.envelopes().map((e) => e.payload.step)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(resumed.envelopes().map((e) => e.sequence)).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('sends keep-alive comments while idle, at the configured interval', async () => {
    const options = server.services.events.options;
    const previous = options.keepAliveMs;
    options.keepAliveMs = 40;
    try {
      const stream = await openStream(`${server.url}/v1/events/stream?agent_id=nobody`);
      await sleep(250);
      await stream.close();
      expect(stream.comments.filter((c) => c === 'keep-alive').length).toBeGreaterThanOrEqual(3);
      expect(stream.messages).toEqual([]);
    } finally {
      options.keepAliveMs = previous;
    }
  });

  it('does not let a subscriber that stops reading block emit or others, and catches it up afterwards', async () => {
    const options = server.services.events.options;
    const previousQueue = options.queueSize;
    options.queueSize = 32;
    const total = 1500;
    const filler = 'x'.repeat(8 * 1024); // 12 MB in all: more than the socket buffers hold
    await waitForSubscribers(0);
    const reader = await openStream(`${server.url}/v1/events/stream?agent_id=flood`);
    const stalled = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(`${server.url}/v1/events/stream?agent_id=flood`, (res) => {
        res.pause();
        resolve(res);
      })
        .on('error', reject)
        .end();
    });
    try {
      await waitForSubscribers(2);
      const started = performance.now();
      const emitted = await Promise.all(
        Array.from({ length: total }, (_, i) => emit({ agent_id: 'flood', run_id: 'run_flood', event_type: 'model.stream', payload: { i, filler } })),
      );
      const emitMs = performance.now() - started;
      await reader.waitFor(total, 15_000);
      expect(reader.messages.map((m) => m.id)).toEqual(emitted.map((e) => e.event_id));
      expect(emitMs).toBeLessThan(10_000);

      // The stalled client starts reading: it receives everything, in order, once.
      const ids: string[] = [];
      let text = '';
      stalled.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        const timeout = setTimeout(() => reject(new Error(`stalled client got ${ids.length} of ${total}`)), 15_000);
        stalled.on('data', (chunk: string) => {
          text += chunk;
          const end = text.lastIndexOf('\n\n');
          if (end < 0) return;
          for (const match of text.slice(0, end).matchAll(/^id: (\S+)$/gm)) ids.push(match[1]!);
          text = text.slice(end + 2);
          if (ids.length >= total) {
            clearTimeout(timeout);
            resolve();
          }
        });
        stalled.resume();
      });
      expect(ids).toEqual(emitted.map((e) => e.event_id));
    } finally {
      options.queueSize = previousQueue;
      stalled.destroy();
      await reader.close();
    }
  });

  it('stores and streams payloads with registered secrets redacted, followed by security.redacted', async () => {
    const secret = 'sk-live-Zx81-secret';
    server.services.redactor.register(secret);
    const stream = await openStream(`${server.url}/v1/events/stream?run_id=run_redact`);
    const event = await emit({
      agent_id: 'redactor',
      run_id: 'run_redact',
      event_type: 'primitive.result',
      payload: { output: { lines: [`Authorization: Bearer ${secret}`] }, token: secret },
    });
    await stream.waitFor(2);
    await stream.close();
    server.services.redactor.unregister(secret);

    const expected = { output: { lines: ['Authorization: Bearer [REDACTED]'] }, token: '[REDACTED]' };
    expect(event.payload).toEqual(expected);
    const { rows } = await server.services.database.client.execute({ sql: 'SELECT * FROM events WHERE run_id = ? ORDER BY seq', args: ['run_redact'] });
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(JSON.parse(String(rows[0]!.payload))).toEqual(expected);
    expect(stream.messages.some((m) => m.data.includes(secret))).toBe(false);
    const [streamed, notice] = stream.envelopes();
    expect(streamed!.payload).toEqual(expected);
    expect(notice).toMatchObject({ event_type: 'security.redacted', run_id: 'run_redact', agent_id: 'redactor', sequence: 2, payload: { event_id: event.event_id, count: 2 } });
  });
});

describe('events of what runs and the API do', () => {
  it("records message.system for each part of a run's system message: the agent's prompt, recalled memories, the turn's context", async () => {
    await server.api.post('/api/agents', { name: 'sys-parts', system_prompt: 'Be brief.' });
    await server.api.post('/api/agents/sys-parts/memory', { content: 'Ana drinks green tea', user_id: 'ana' });
    const reply = await server.api.post('/api/agents/sys-parts/chat', { message: 'Which tea for Ana?', user_id: 'ana', context: { city: 'Lisbon' } });
    const events = (await server.api.get(`/api/audit?run_id=${reply.body.data.run_id}&limit=100`)).body.data.events as EventEnvelope[];
    expect(events.filter((e) => e.event_type === 'message.system').map((e) => e.payload)).toEqual([
      { source: 'agent', content: 'Be brief.' },
      { source: 'memory', content: 'Relevant memories:\n- Ana drinks green tea' },
      { source: 'context', content: 'Context for this turn: {"city":"Lisbon"}' },
    ]);
    // After the user's message, before the model is asked.
    const types = events.map((e) => e.event_type);
    expect(types.indexOf('message.system')).toBeGreaterThan(types.indexOf('message.user'));
    expect(types.lastIndexOf('message.system')).toBeLessThan(types.indexOf('model.request'));

    await server.api.post('/api/agents', { name: 'no-prompt', system_prompt: '' });
    const bare = await server.api.post('/api/agents/no-prompt/chat', { message: 'nothing to add' });
    expect((await server.api.get(`/api/audit?run_id=${bare.body.data.run_id}&event_type=message.system`)).body.data.events).toEqual([]);
  });

  it("records the vault reads a run causes (a skill's env_keys) with the run's run_id, so a run_id filter sees them", async () => {
    await server.api.post('/api/agents', { name: 'env-runner', allowed_tools: ['show_env'] });
    await server.api.post('/api/agents/env-runner/vault', { key: 'API_TOKEN', value: 'run-scoped-token-value' });
    await server.api.post('/api/agents/env-runner/skills', {
      name: 'show_env', language: 'bash', code: 'echo "token=${API_TOKEN:-none}"', needs_env: true, env_keys: ['API_TOKEN', 'MISSING'],
    });
    const reply = await server.api.post('/api/agents/env-runner/chat', { message: '<invoke name="show_env">[]</invoke>' });
    expect(reply.body.data.content.trim()).toBe('show_env: token=[REDACTED]');
    const runId = reply.body.data.run_id;
    const vault = (await server.api.get(`/api/audit?run_id=${runId}&event_type=vault.accessed,vault.denied`)).body.data.events as EventEnvelope[];
    expect(vault.map((e) => [e.event_type, e.agent_id, e.run_id, e.payload])).toEqual([
      ['vault.accessed', 'env-runner', runId, { key: 'API_TOKEN', skill: 'show_env' }],
      ['vault.denied', 'env-runner', runId, { key: 'MISSING', reason: 'not_found', skill: 'show_env' }],
    ]);

    // The same skill invoked over the API belongs to no run.
    await server.api.post('/api/agents/env-runner/skills/show_env/invoke', { args: [] });
    const all = (await server.api.get('/api/audit?agent_id=env-runner&event_type=vault.accessed')).body.data.events as EventEnvelope[];
    expect(all.map((e) => e.run_id)).toEqual([runId, null]);
  });

  it('records a memory search over REST as memory.recalled, with the payload a run records', async () => {
    await server.api.post('/api/agents', { name: 'searcher' });
    const stored = (await server.api.post('/api/agents/searcher/memory', { content: 'Bruno prefers oolong tea', user_id: 'bruno' })).body.data;
    const found = await server.api.get('/api/agents/searcher/memory?query=oolong&user_id=bruno&limit=5');
    expect(found.body.data.memories.map((m: any) => m.id)).toEqual([stored.id]);
    const reply = await server.api.post('/api/agents/searcher/chat', { message: 'oolong', user_id: 'bruno' });

    const recalled = (await server.api.get('/api/audit?agent_id=searcher&event_type=memory.recalled')).body.data.events as EventEnvelope[];
    const expected = { query: 'oolong', user_id: 'bruno', mode: 'fts', memories: [{ id: stored.id, relevance_score: 1 }] };
    expect(recalled.map((e) => [e.run_id, e.payload])).toEqual([
      [null, expected],
      [reply.body.data.run_id, expected],
    ]);
    // A listing without a query searches nothing.
    await server.api.get('/api/agents/searcher/memory');
    expect((await server.api.get('/api/audit?agent_id=searcher&event_type=memory.recalled')).body.data.events).toHaveLength(2);
  });
});

describe('sequence numbers', () => {
  it('increase by one per run, and per system stream for events with no run, under concurrent emits', async () => {
    const emitted = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        emit({ agent_id: 'seq', run_id: i % 3 === 2 ? null : `run_seq_${i % 3}`, event_type: 'heartbeat.fired', payload: { i } }),
      ),
    );
    for (const run of ['run_seq_0', 'run_seq_1']) {
      expect(emitted.filter((e) => e.run_id === run).map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
    const system = emitted.filter((e) => e.run_id === null).map((e) => e.sequence);
    expect(system).toEqual(system.map((_, i) => system[0]! + i));
  });

  it('continue after a restart on the same database', async () => {
    const home = makeTempHome();
    const config = await loadConfig({ cwd: home, env: { MOXXY_HOME: home }, overrides: { port: 0, logLevel: 'silent' } });
    const before = await startServer(await createServices(config));
    await before.services.events.emit({ agent_id: 'a', run_id: 'run_restart', event_type: 'run.started' });
    await before.services.events.emit({ agent_id: 'a', run_id: null, event_type: 'heartbeat.created' });
    await before.close();
    const after = await startServer(await createServices(config));
    try {
      expect((await after.services.events.emit({ agent_id: 'a', run_id: 'run_restart', event_type: 'run.completed' })).sequence).toBe(2);
      expect((await after.services.events.emit({ agent_id: 'a', run_id: null, event_type: 'heartbeat.fired' })).sequence).toBe(2);
    } finally {
      await after.close();
    }
  });
});

describe('audit log', () => {
  const agent = 'auditor';
  let all: EventEnvelope[];
  let since: Date;
  let until: Date;

  beforeAll(async () => {
    all = [];
    const batch = async (types: EmitEvent['event_type'][]) => {
      for (const event_type of types) all.push(await emit({ agent_id: agent, run_id: 'run_audit', event_type, payload: { n: all.length } }));
      await sleep(15);
    };
    await batch(['run.started', 'message.user']);
    since = new Date();
    await batch(['model.request', 'model.response', 'skill.invoked']);
    until = new Date();
    await sleep(15);
    await batch(['skill.completed', 'run.completed']);
    await emit({ agent_id: 'someone-else', run_id: null, event_type: 'vault.accessed', payload: { key: 'K' } });
  });

  it('answers GET /v1/audit in the seed shape, filtered by agent and comma-separated types', async () => {
    const res = await server.api.get(`/v1/audit?agent_id=${agent}`);
    expect(res.status).toBe(200);
    expect(res.body.events).toEqual(all.map((e) => ({ ...e, timestamp: e.timestamp.toISOString() })));
    expect(res.body.next_cursor).toBeNull();
    const typed = await server.api.get(`/v1/audit?agent_id=${agent}&event_type=skill.invoked,run.completed&unknown=1`);
    expect(typed.body.events.map((e: EventEnvelope) => e.event_type)).toEqual(['skill.invoked', 'run.completed']);
  });

  it('limits to since/until', async () => {
    const res = await server.api.get(`/v1/audit?agent_id=${agent}&since=${since.toISOString()}&until=${until.toISOString()}`);
    expect(res.body.events.map((e: EventEnvelope) => e.event_type)).toEqual(['model.request', 'model.response', 'skill.invoked']);
  });

  it('pages with limit and next_cursor over /v1/audit, /api/audit and tRPC alike', async () => {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = `agent_id=${agent}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const raw = await server.api.get(`/v1/audit?${query}`);
      const enveloped = await server.api.get(`/api/audit?${query}`);
      expect(enveloped.body).toEqual({ success: true, data: raw.body });
      const viaTrpc = await server.trpc.events.audit.query({ agent_id: agent, limit: 3, cursor: cursor ?? undefined });
      expect(viaTrpc.events.map((e) => e.timestamp)).toEqual(raw.body.events.map((e: EventEnvelope) => new Date(e.timestamp)));
      expect(viaTrpc.next_cursor).toBe(raw.body.next_cursor);
      pages.push(raw.body.events.map((e: EventEnvelope) => e.event_id));
      cursor = raw.body.next_cursor;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(all.map((e) => e.event_id));
  });

  it('takes Dates and arrays over tRPC', async () => {
    const page = await server.trpc.events.audit.query({ agent_id: agent, since, until, event_type: ['model.request', 'skill.invoked'] });
    expect(page.events.map((e) => e.event_type)).toEqual(['model.request', 'skill.invoked']);
    expect(page.events[0]!.timestamp).toBeInstanceOf(Date);
  });

  it('defaults to 100 events and rejects bad since, limit and cursor with VALIDATION_ERROR', async () => {
    await Promise.all(Array.from({ length: 110 }, () => emit({ agent_id: 'bulk', run_id: null, event_type: 'heartbeat.fired' })));
    expect((await server.api.get('/v1/audit?agent_id=bulk')).body.events).toHaveLength(100);
    for (const path of ['/v1/audit', '/api/audit']) {
      const since = await server.api.get(`${path}?since=yesterday`);
      expect(since.status).toBe(400);
      expect(since.body.error.code).toBe('VALIDATION_ERROR');
      expect(since.body.error.details.issues[0]).toMatchObject({ path: 'since' });
      expect((await server.api.get(`${path}?limit=1001`)).body.error.details.issues[0]).toMatchObject({ path: 'limit' });
      expect((await server.api.get(`${path}?cursor=not-a-cursor`)).body.error.details.issues[0]).toMatchObject({ path: 'cursor' });
    }
  });
});

describe('events.subscribe over tRPC', () => {
  it('yields live events tracked by event id, and resumes after lastEventId', async () => {
    const controller = new AbortController();
    const caller = createCaller({ services: server.services }, { signal: controller.signal });
    /** tracked(id, data) reaches a caller as [id, data, symbol]. */
    const pull = async (iterator: AsyncIterator<unknown>) => {
      const result = await iterator.next();
      if (result.done) throw new Error('subscription ended');
      const [id, event] = result.value as [string, EventEnvelope];
      return { id, event };
    };
    await waitForSubscribers(0);
    const live = (await caller.events.subscribe({ run_id: 'run_trpc' }))[Symbol.asyncIterator]();
    const firstPulled = pull(live); // the generator subscribes when first pulled
    await waitForSubscribers(1);
    const first = await emit({ agent_id: 'trpc', run_id: 'run_trpc', event_type: 'message.user', payload: { text: 'hi' } });
    const second = await emit({ agent_id: 'trpc', run_id: 'run_trpc', event_type: 'message.assistant', payload: { text: 'hello' } });
    expect([await firstPulled, await pull(live)]).toEqual([
      { id: first.event_id, event: first },
      { id: second.event_id, event: second },
    ]);
    controller.abort();
    await live.return?.();
    await waitForSubscribers(0);

    const resumed = (await createCaller({ services: server.services }).events.subscribe({ run_id: 'run_trpc', lastEventId: first.event_id }))[
      Symbol.asyncIterator
    ]();
    expect(await pull(resumed)).toEqual({ id: second.event_id, event: second });
    await resumed.return?.();
  });

  it('serves the subscription as SSE at /trpc/events.subscribe with event ids', async () => {
    await waitForSubscribers(0);
    const input = encodeURIComponent(JSON.stringify(superjson.serialize({ agent_id: 'trpc-http' })));
    const stream = await openStream(`${server.url}/trpc/events.subscribe?input=${input}`);
    expect(stream.response.headers.get('content-type')).toContain('text/event-stream');
    await waitForSubscribers(1);
    const event = await emit({ agent_id: 'trpc-http', run_id: null, event_type: 'channel.message_sent', payload: { text: 'out' } });
    const deadline = Date.now() + 5000;
    while (!stream.messages.some((m) => m.id === event.event_id) && Date.now() < deadline) await sleep(5);
    await stream.close();
    const message = stream.messages.find((m) => m.id === event.event_id)!;
    expect(superjson.deserialize(JSON.parse(message.data))).toEqual(event);
  });
});
