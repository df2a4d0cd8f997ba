import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../src/services/skills/sandbox.ts';
import { SkillRunner } from '../src/services/skills/runner.ts';
import { builtinSkills } from '../src/services/skills/builtins.ts';
import { makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

/** The enforcement tests need a working bubblewrap (root, or unprivileged user namespaces); elsewhere skills fall back to no sandbox. */
const SANDBOX = (await new Sandbox('bwrap').status()).kind;
const FAKE_SECRET = `sk-fake-${process.pid}-do-not-leak`;
// Outside /tmp, which the sandbox replaces with its own tmpfs, so these are really the host's files.
const HOST_FILE = join(process.cwd(), 'package.json');
const HOST_WRITE_TARGET = join(process.cwd(), 'node_modules', `.sandbox-escape-${process.pid}`);

let server: TestServer;
let tcp: Server;
let tcpPort = 0;
let tcpConnections = 0;

beforeAll(async () => {
  // Set before the server starts: the skill must not see the server's environment.
  process.env.MOXXY_SKILLS_TEST_SECRET = FAKE_SECRET;
  process.env.FAKE_PROVIDER_API_KEY = FAKE_SECRET;
  server = await startTestServer({ skills: { outputLimitBytes: 4096 } });
  await server.api.post('/api/agents', { name: 'boxed' });
  tcp = createServer((socket) => {
    tcpConnections += 1;
    socket.end('hello from the host\n');
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  tcpPort = (tcp.address() as { port: number }).port;
});
afterAll(async () => {
  delete process.env.MOXXY_SKILLS_TEST_SECRET;
  delete process.env.FAKE_PROVIDER_API_KEY;
  rmSync(HOST_WRITE_TARGET, { force: true });
  await new Promise((resolve) => tcp.close(resolve));
  await server.close();
});

async function createAndInvoke(api: TestServer['api'], name: string, skill: Record<string, unknown>, args: unknown = []) {
  const created = await api.post('/api/agents/boxed/skills', { name, ...skill });
  expect(created.status).toBe(201);
  return api.post(`/api/agents/boxed/skills/${name}/invoke`, { args });
}

const CONNECT = `import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    print("connected:", s.recv(100).decode().strip())
except OSError as error:
    print("blocked:", error)
    sys.exit(1)
`;

/** Processes whose command line contains the marker (zombies have none, so only live ones count). */
function processesWith(marker: string): number {
  let found = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) found += 1;
    } catch {
      // exited while we looked
    }
  }
  return found;
}

async function waitForNoProcessesWith(marker: string): Promise<number> {
  for (let i = 0; i < 50 && processesWith(marker) > 0; i++) await sleep(100);
  return processesWith(marker);
}

describe('skill runs, in any sandbox', () => {
  it('gives the skill a scrubbed environment: never the server\'s variables', async () => {
    const res = await createAndInvoke(server.api, 'show_env', { language: 'sh', code: 'env | sort\n' });
    expect(res.status).toBe(200);
    const workdir = join(server.home, 'skills', 'boxed', 'show_env');
    const env = Object.fromEntries(res.body.data.output.trim().split('\n').map((line: string) => line.split(/=(.*)/s).slice(0, 2)));
    expect(res.body.data.output).not.toContain(FAKE_SECRET);
    expect(Object.keys(env).filter((key) => key.startsWith('MOXXY') || key.endsWith('_API_KEY'))).toEqual([]);
    expect(env).toMatchObject({ HOME: workdir, TMPDIR: join(workdir, '.tmp'), LANG: 'C.UTF-8', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' });
  });

  it('cuts the output at the limit and says it was truncated', async () => {
    const res = await createAndInvoke(server.api, 'chatty', { language: 'python', code: 'import sys\nsys.stdout.write("x" * 100000)\nsys.stderr.write("y" * 100000)\n' });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ exit_code: 0, truncated: true });
    expect(res.body.data.output).toHaveLength(4096);
    expect(res.body.data.output).toMatch(/^x+$/);
  });

  it('kills the whole process group at the time limit, children included', async () => {
    const quick = await startTestServer({ skills: { timeoutMs: 2000 } });
    await quick.api.post('/api/agents', { name: 'boxed' });
    const marker = `31${process.pid}.5`;
    const res = await createAndInvoke(quick.api, 'sleeper', { language: 'sh', code: `echo started\nsleep ${marker} &\nsleep ${marker}\n` });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('SKILL_FAILED');
    expect(res.body.error.message).toBe("Skill 'sleeper' timed out after 2000 ms");
    expect(res.body.error.details).toMatchObject({ output: 'started\n', timed_out: true, exit_code: 137 });
    expect(res.body.error.details.execution_time_ms).toBeGreaterThanOrEqual(1900);
    expect(await waitForNoProcessesWith(marker)).toBe(0);
    await quick.close();
  });
});

describe.runIf(SANDBOX === 'bwrap' || process.env.CI)('the bubblewrap sandbox (skipped only outside CI where bwrap cannot create namespaces)', () => {
  it('has no network unless the manifest asks for it', async () => {
    const before = tcpConnections;
    const blocked = await createAndInvoke(server.api, 'offline', { language: 'python', code: CONNECT }, [String(tcpPort)]);
    expect(blocked.status).toBe(422);
    expect(blocked.body.error.details).toMatchObject({ exit_code: 1, sandbox: 'bwrap' });
    expect(blocked.body.error.details.output).toMatch(/^blocked: /);
    expect(tcpConnections).toBe(before);

    const online = await createAndInvoke(server.api, 'online', { language: 'python', code: CONNECT, needs_network: true }, [String(tcpPort)]);
    expect(online.status).toBe(200);
    expect(online.body.data).toMatchObject({ output: 'connected: hello from the host\n', sandbox: 'bwrap' });
    expect(tcpConnections).toBe(before + 1);
  });

  it('cannot write its working directory or anywhere else without needs_fs_write', async () => {
    const code = `echo inside > "$HOME/out.txt" || echo "workdir: refused"\necho outside > ${HOST_WRITE_TARGET} || echo "host: refused"\necho temp > "$TMPDIR/t" && echo "tmp: ok"\n`;
    const res = await createAndInvoke(server.api, 'readonly', { language: 'sh', code });
    expect(res.body.data.output).toMatch(/workdir: refused/);
    expect(res.body.data.output).toMatch(/host: refused/);
    expect(res.body.data.output).toMatch(/tmp: ok/);
    expect(existsSync(join(server.home, 'skills', 'boxed', 'readonly', 'out.txt'))).toBe(false);
    expect(existsSync(HOST_WRITE_TARGET)).toBe(false);
  });

  it('writes its working directory, and only that, with needs_fs_write', async () => {
    const code = `echo inside > "$HOME/out.txt" && echo "workdir: ok"\necho outside > ${HOST_WRITE_TARGET} || echo "host: refused"\n`;
    const res = await createAndInvoke(server.api, 'writer', { language: 'sh', code, needs_fs_write: true, needs_fs_read: true });
    expect(res.body.data.output).toMatch(/workdir: ok/);
    expect(res.body.data.output).toMatch(/host: refused/);
    expect(readFileSync(join(server.home, 'skills', 'boxed', 'writer', 'out.txt'), 'utf8')).toBe('inside\n');
    expect(existsSync(HOST_WRITE_TARGET)).toBe(false);
  });

  it('sees the host filesystem only with needs_fs_read', async () => {
    const code = `test -r ${HOST_FILE} && echo visible || echo hidden\n`;
    expect((await createAndInvoke(server.api, 'blind', { language: 'sh', code })).body.data.output).toBe('hidden\n');
    expect((await createAndInvoke(server.api, 'reader', { language: 'sh', code, needs_fs_read: true })).body.data.output).toBe('visible\n');
  });

  it('hands a needs_env skill only the secrets named in env_keys', async () => {
    const home = makeTempHome();
    try {
      const runner = new SkillRunner({ home, timeoutMs: 10_000, outputLimitBytes: 4096, requireSandbox: true }, new Sandbox('bwrap'), async (_agent, keys) => ({
        ...Object.fromEntries(keys.map((key) => [key, `value-of-${key}`])),
        NOT_ASKED: 'leak',
      }));
      const [shell] = builtinSkills({ name: 'a', created_at: new Date() } as never);
      const record = { ...shell!, code: 'echo "$WEATHER_KEY|${NOT_ASKED:-none}|$HOME"\n' };
      const withEnv = await runner.run('a', { ...record, skill: { ...record.skill, name: 'weather', needs_env: true, env_keys: ['WEATHER_KEY', 'HOME'] } }, []);
      expect(withEnv.output).toBe(`value-of-WEATHER_KEY|none|${join(home, 'skills', 'a', 'weather')}\n`);
      const without = await runner.run('a', { ...record, skill: { ...record.skill, name: 'weather', needs_env: false, env_keys: ['WEATHER_KEY'] } }, []);
      expect(without.output).toBe(`|none|${join(home, 'skills', 'a', 'weather')}\n`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('without bubblewrap', () => {
  let bare: TestServer;
  beforeAll(async () => {
    bare = await startTestServer({ skills: { bwrap: '/nonexistent/bwrap', timeoutMs: 3000 } });
    await bare.api.post('/api/agents', { name: 'boxed' });
  });
  afterAll(async () => {
    await bare.close();
  });

  it("runs skills unsandboxed and says so: sandbox 'none'", async () => {
    const res = await createAndInvoke(bare.api, 'plain', { language: 'sh', code: 'echo plain\n' });
    expect(res.body.data).toMatchObject({ output: 'plain\n', exit_code: 0, sandbox: 'none' });
  });

  it('still kills the process group at the time limit', async () => {
    const marker = `32${process.pid}.5`;
    const res = await createAndInvoke(bare.api, 'sleeper', { language: 'bash', code: `sleep ${marker} &\nsleep ${marker} &\nwait\n` });
    expect(res.body.error.details).toMatchObject({ timed_out: true, sandbox: 'none' });
    expect(await waitForNoProcessesWith(marker)).toBe(0);
  });

  it('refuses to run with 503 SANDBOX_UNAVAILABLE when skills.requireSandbox is set', async () => {
    const strict = await startTestServer({ skills: { bwrap: '/nonexistent/bwrap', requireSandbox: true } });
    try {
      await strict.api.post('/api/agents', { name: 'boxed' });
      const res = await createAndInvoke(strict.api, 'plain', { language: 'sh', code: 'echo plain\n' });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('SANDBOX_UNAVAILABLE');
      expect(res.body.error.message).toContain('/nonexistent/bwrap cannot run');
    } finally {
      await strict.close();
    }
  });
});
