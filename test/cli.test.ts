import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MOXXY_BIN, runCli } from './helpers/process.ts';
import { createApi, makeTempHome } from './helpers/server.ts';

const homes: string[] = [];
const children: Array<() => Promise<unknown>> = [];

function home(config?: unknown): string {
  const dir = makeTempHome();
  homes.push(dir);
  if (config) writeFileSync(join(dir, 'moxxy.config.json'), JSON.stringify(config));
  return dir;
}

afterEach(async () => {
  await Promise.all(children.splice(0).map((stop) => stop()));
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts a long-running `moxxy` sub-command and resolves with the URL it prints. */
function spawnListening(args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [MOXXY_BIN, ...args], { cwd: env.MOXXY_HOME, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(() => new Promise((done) => (child.exitCode !== null ? done(null) : (child.once('exit', done), child.kill('SIGTERM')))));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
}

describe('moxxy run', () => {
  it('runs one turn in-process and streams the answer to stdout', async () => {
    const dir = home();
    const res = await runCli(['run', '--agent', 'default', '--prompt', 'Hello from the command line'], { MOXXY_HOME: dir }, dir);
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe('Hello from the command line\n');
    expect(res.code).toBe(0);
  });

  it('prints tool activity to stderr, keeping stdout for the answer', async () => {
    const dir = home();
    const res = await runCli(['run', '--prompt', 'Keep <invoke name="memory.store">{"content":"x"}</invoke>', '--session', 'cli-session', '--user', 'ada'], { MOXXY_HOME: dir }, dir);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('-> memory.store {"content":"x"}');
    expect(res.stderr).toContain('<- memory.store (error): Tool \'memory.store\' is not allowed');
    expect(res.stdout).toContain('memory.store: Tool \'memory.store\' is not allowed');
  });

  it('exits 1 with the message for an unknown agent or a bad session id', async () => {
    const dir = home();
    const ghost = await runCli(['run', '--agent', 'ghost', '--prompt', 'hi'], { MOXXY_HOME: dir }, dir);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('Agent \'ghost\' not found');
    expect(ghost.stdout).toBe('');
    const badSession = await runCli(['run', '--prompt', 'hi', '--session', 'not a session'], { MOXXY_HOME: dir }, dir);
    expect(badSession.code).toBe(1);
    expect(badSession.stderr).toContain('session_id');
  });
});

describe('moxxy channels http', () => {
  it('serves the seed 001 routes on the port given', async () => {
    const dir = home({ channels: { http: { allowedTools: [] } } });
    const url = await spawnListening(['channels', 'http', '--port', '0'], { MOXXY_HOME: dir, MOXXY_HTTP_TOKEN: 'cli-token', MOXXY_LOG_LEVEL: 'warn' });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const api = createApi(url);
    expect((await api.get('/v1/health')).body).toEqual({ status: 'ok' });
    const turn = await api.post('/v1/turn', { prompt: 'over the channel' }, { headers: { authorization: 'Bearer cli-token' } });
    expect(turn.status).toBe(200);
    expect(turn.body.assistant).toBe('over the channel');
    expect((await api.post('/v1/turn', { prompt: 'x' })).status).toBe(401);
  });

  it('refuses to start without channels.http.allowedTools', async () => {
    const dir = home();
    const res = await runCli(['channels', 'http', '--port', '0'], { MOXXY_HOME: dir, MOXXY_HTTP_TOKEN: 'cli-token' }, dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('channels.http.allowedTools is required');
    expect(res.stdout).not.toContain('listening');
  });
});

describe('moxxy failures around the command', () => {
  it('stops quietly when the reader of its output goes away (`moxxy openapi | head`)', async () => {
    const child = spawn(process.execPath, [MOXXY_BIN, 'openapi'], { env: { ...process.env, MOXXY_HOME: home() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Like head: read a little, then close the pipe while the document is still being written.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('says in one line that the port is in use, with what to do, and exits 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const dir = home();
      const serve = await runCli(['serve', '--port', String(port)], { MOXXY_HOME: dir }, dir);
      expect(serve.code).toBe(1);
      expect(serve.stderr).toBe(`moxxy: cannot listen on 127.0.0.1:${port}: the port is in use (another moxxy?); stop what listens there or choose another port with --port\n`);

      const channel = await runCli(['channels', 'http', '--port', String(port)], { MOXXY_HOME: home({ channels: { http: { allowedTools: [] } } }), MOXXY_HTTP_TOKEN: 'cli-token' });
      expect(channel.code).toBe(1);
      expect(channel.stderr.trim().split('\n')).toEqual([expect.stringContaining(`cannot listen on 127.0.0.1:${port}: the port is in use`)]);
    } finally {
      taken.close();
    }
  });
});
