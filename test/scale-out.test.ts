/**
 * Three `moxxy serve` processes on one database, with requests spread across them: chat on one, stream on another,
 * cancel on the third; changes made through one seen by the others; one killed with SIGKILL mid-run and its run
 * failed by the survivors. The model is a local OpenAI-compatible server that streams slowly when asked to.
 *
 * Run twice: on one database file, and on a libSQL server (sqld, over the remote protocol, as in a scale-out
 * deployment) when MOXXY_TEST_SQLD names its binary (.ci/run installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnServer, type ServerProcess } from './helpers/process.ts';
import { createApi, makeTempHome, type Api } from './helpers/server.ts';
import { readSse } from './helpers/sse.ts';

/** Streams one word every 100 ms: a few for an ordinary message, a hundred when it says "slowly". */
function startModel(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const messages = (JSON.parse(body) as { messages: Array<{ role: string; content: string }> }).messages;
      const last = messages.findLast((message) => message.role === 'user')?.content ?? '';
      const words = last.includes('slowly') ? 100 : 3;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        if (response.destroyed) return clearInterval(timer);
        if (sent === words) {
          clearInterval(timer);
          response.end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
          return;
        }
        sent += 1;
        response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: `w${sent} ` }, finish_reason: null }] })}\n\n`);
      }, 100);
      response.on('close', () => clearInterval(timer));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`, server })));
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
    const value = await probe();
    if (value !== undefined) return value;
  }
  throw new Error(`not within ${timeoutMs} ms`);
}

/** A libSQL server (sqld) on a free port with a database of its own, or undefined when no binary is configured. */
async function startSqld(dir: string): Promise<{ url: string; child: ChildProcess } | undefined> {
  const binary = process.env.MOXXY_TEST_SQLD;
  if (!binary) return undefined;
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const child = spawn(binary, ['--db-path', join(dir, 'data.sqld'), '--http-listen-addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await until(async () => ((await fetch(`${url}/health`).catch(() => undefined))?.ok ? true : undefined), 20_000);
  return { url, child };
}

const DATABASES = [
  { database: 'one database file', sqld: false },
  { database: `a libSQL server (sqld)${process.env.MOXXY_TEST_SQLD ? '' : ': skipped, MOXXY_TEST_SQLD does not name an sqld binary'}`, sqld: true },
] as const;

describe.each(DATABASES)('three server processes on $database', ({ sqld }) => {
  let home: string;
  let model: { url: string; server: Server };
  let database: { url: string; child: ChildProcess } | undefined;
  let servers: ServerProcess[] = [];
  let api: Api[];

  beforeAll(async () => {
    if (sqld && !process.env.MOXXY_TEST_SQLD) return;
    home = makeTempHome();
    model = await startModel();
    database = sqld ? await startSqld(home) : undefined;
    // Short leases, so a killed process is noticed in seconds; rate limits off, as requests come fast from one address.
    writeFileSync(join(home, 'moxxy.config.json'), JSON.stringify({ instances: { leaseMs: 3000, renewMs: 500 }, rateLimits: { enabled: false } }));
    const env = { MOXXY_HOME: home, OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'sk-local-model', ...(database ? { MOXXY_DATABASE_URL: database.url } : {}) };
    // One first, so the database's migrations are not applied by three processes at once.
    servers = [await spawnServer(env, home)];
    servers.push(...(await Promise.all([spawnServer(env, home), spawnServer(env, home)])));
    api = servers.map((server) => createApi(server.url));
    expect((await api[0]!.post('/api/agents', { name: 'talker', model: { provider: 'openai', name: 'local' } })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    database?.child.kill();
    if (model) await new Promise((resolve) => model.server.close(resolve));
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const skipped = sqld && !process.env.MOXXY_TEST_SQLD;
  const test = skipped ? it.skip : it;

  test('streams on one the run that another runs, and cancels it from the third', async () => {
    const [a, b, c] = api as [Api, Api, Api];
    const stream = readSse(`${servers[1]!.url}/v1/events/stream?agent_id=talker`, {}, (events) =>
      events.some((event) => ['run.cancelled', 'run.completed', 'run.failed'].includes(JSON.parse(event.data).event_type)),
    );
    await sleep(200);
    const chat = a.post('/api/agents/talker/chat', { message: 'please answer slowly', session_id: 'spread' });
    const runId = await until(async () => {
      const runs = (await b.get('/api/audit?agent_id=talker&event_type=run.started&limit=100')).body.data.events;
      return runs.find((event: any) => event.payload.session_id === 'spread')?.run_id as string | undefined;
    }, 5000);
    // The session is busy for every process, not only the one running it.
    const busy = await c.post('/api/agents/talker/chat', { message: 'me too', session_id: 'spread' });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toMatchObject({ code: 'SESSION_BUSY', details: { run_id: runId } });

    await sleep(500);
    const cancelled = await c.post(`/api/runs/${runId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.data.status).toBe('cancelled');
    expect((await chat).status).toBe(200);

    const frames = (await stream).events.map((event) => JSON.parse(event.data)).filter((event: any) => event.run_id === runId);
    const types = frames.map((event: any) => event.event_type);
    expect(types[0]).toBe('run.started');
    expect(types.at(-1)).toBe('run.cancelled');
    expect(types.filter((type: string) => type === 'model.stream').length).toBeGreaterThan(2);
    // In order, without loss or duplicates: the run's sequence numbers are 1, 2, 3 ...
    expect(frames.map((event: any) => event.sequence)).toEqual(frames.map((_: unknown, index: number) => index + 1));
    expect(new Set(frames.map((event: any) => event.event_id)).size).toBe(frames.length);
  });

  test('resumes with Last-Event-ID on any process', async () => {
    const [a, b, c] = api as [Api, Api, Api];
    const reply = await a.post('/api/agents/talker/chat', { message: 'hello there' });
    const runId = reply.body.data.run_id;
    const all = (await b.get(`/api/audit?run_id=${runId}&limit=100`)).body.data.events;
    expect(all.length).toBeGreaterThan(3);
    const resumed = await readSse(`${servers[2]!.url}/v1/events/stream?run_id=${runId}`, { headers: { 'last-event-id': all[1].event_id } }, (events) =>
      events.some((event) => JSON.parse(event.data).event_type === 'run.completed'),
    );
    expect(resumed.events.map((event) => JSON.parse(event.data).event_id)).toEqual(all.slice(2).map((event: any) => event.event_id));
    expect((await c.get(`/api/runs/${runId}`)).body.data.status).toBe('completed');
  });

  test('shows a change made through one process, or the CLI, on the others within a second', async () => {
    const [a, b, c] = api as [Api, Api, Api];
    expect((await a.patch('/api/agents/talker', { system_prompt: 'Changed on A.' })).status).toBe(200);
    await until(async () => ((await c.get('/api/agents/talker')).body.data.system_prompt === 'Changed on A.' ? true : undefined), 1000);

    // A secret set with the CLI is redacted in the very next event of every server.
    const secret = `cli-secret-${process.pid}-zq`;
    const cliEnv = { MOXXY_HOME: home, ...(database ? { MOXXY_DATABASE_URL: database.url } : {}) };
    expect((await runCli(['vault', 'set', '--agent', 'talker', 'SHARED', secret], cliEnv)).code).toBe(0);
    const reply = await b.post('/api/agents/talker/chat', { message: `repeat ${secret}` });
    const events = (await c.get(`/api/audit?run_id=${reply.body.data.run_id}&limit=100`)).body.data.events;
    expect(JSON.stringify(events)).not.toContain(secret);
    expect(events.some((event: any) => event.event_type === 'security.redacted')).toBe(true);

    expect((await b.delete('/api/agents/talker')).status).toBe(200);
    await until(async () => ((await a.get('/api/agents/talker')).status === 404 ? true : undefined), 1000);
    expect((await c.post('/api/agents/talker/chat', { message: 'still there?' })).status).toBe(404);
    expect((await a.post('/api/agents', { name: 'talker', model: { provider: 'openai', name: 'local' } })).status).toBe(201);
  });

  test('fails the run of a process killed with SIGKILL, from the survivors', async () => {
    const [a, b] = api as [Api, Api];
    void a.post('/api/agents/talker/chat', { message: 'answer slowly please', session_id: 'doomed' }).catch(() => undefined);
    const runId = await until(async () => {
      const runs = (await b.get('/api/audit?agent_id=talker&event_type=run.started&limit=100')).body.data.events;
      return runs.find((event: any) => event.payload.session_id === 'doomed')?.run_id as string | undefined;
    }, 5000);
    servers[0]!.child.kill('SIGKILL');
    const failed = await until(async () => {
      const run = (await b.get(`/api/runs/${runId}`)).body.data;
      return run.status === 'failed' ? run : undefined;
    }, 10_000);
    expect(failed.error.message).toContain('stopped');
    // One survivor failed it, and said so once.
    const ended = await until(async () => {
      const events = (await b.get(`/api/audit?run_id=${runId}&event_type=run.failed&limit=10`)).body.data.events;
      return events.length ? events : undefined;
    }, 5000);
    await sleep(1500);
    expect((await b.get(`/api/audit?run_id=${runId}&event_type=run.failed&limit=10`)).body.data.events).toEqual(ended);
    expect(ended).toHaveLength(1);
    // Its session is free again.
    expect((await b.post('/api/agents/talker/chat', { message: 'after', session_id: 'doomed' })).status).toBe(200);
  }, 30_000);
});
