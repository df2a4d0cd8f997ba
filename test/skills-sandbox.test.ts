import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config/schema.ts';
import { AppError } from '../src/domain/errors.ts';
import { probeBwrap } from '../src/services/sandbox/bwrap-probe.ts';
import { resolveCommand, Sandbox, sandboxSettings, type SandboxSettings } from '../src/services/sandbox/index.ts';
import { SkillRunner } from '../src/services/skills/runner.ts';
import { builtinSkills } from '../src/services/skills/builtins.ts';
import { makeHomeOutsideTmp, makeTempHome, startTestServer, startTestServerIn, type TestServer } from './helpers/server.ts';

/** The enforcement tests need a working bubblewrap (root, or unprivileged user namespaces); elsewhere skills fall back to no sandbox. */
const SANDBOX = (await probeBwrap('bwrap')).kind;
/** pasta, the network stack used when slirp4netns is missing. */
const PASTA = resolveCommand('pasta') !== null;
/** An address of this host other than loopback: a sandbox with the network reaches it as it would any other host. */
const HOST_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;
const FAKE_SECRET = `sk-fake-${process.pid}-do-not-leak`;
// Outside /tmp, which the sandbox replaces with its own tmpfs, so these are really the host's files.
const HOST_FILE = join(process.cwd(), 'package.json');
const HOST_WRITE_TARGET = join(process.cwd(), 'node_modules', `.sandbox-escape-${process.pid}`);
const MiB = 1024 * 1024;

let server: TestServer;
let tcp: Server;
let tcpPort = 0;
let tcpConnections = 0;

beforeAll(async () => {
  // Set before the server starts: the skill must not see the server's environment.
  process.env.MOXXY_SKILLS_TEST_SECRET = FAKE_SECRET;
  process.env.FAKE_PROVIDER_API_KEY = FAKE_SECRET;
  server = await startTestServerIn(makeHomeOutsideTmp(), { skills: { outputLimitBytes: 4096 } });
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
  rmSync(server.home, { recursive: true, force: true });
});

async function createAndInvoke(api: TestServer['api'], name: string, skill: Record<string, unknown>, args: unknown = [], agent = 'boxed') {
  const created = await api.post(`/api/agents/${agent}/skills`, { name, ...skill });
  expect(created.status).toBe(201);
  return api.post(`/api/agents/${agent}/skills/${name}/invoke`, { args });
}

/** argv: a port, then hosts; one line per host, and exit 1 unless every host answered. */
const CONNECT = `import socket, sys
failed = False
for host in sys.argv[2:]:
    try:
        s = socket.create_connection((host, int(sys.argv[1])), timeout=3)
        print(host, "connected:", s.recv(100).decode().strip())
    except OSError as error:
        print(host, "blocked:", error)
        failed = True
sys.exit(1 if failed else 0)
`;

/** The settings a test server's sandbox gets, for a sandbox a test builds itself. */
function settingsFor(home: string, overrides: Partial<SandboxSettings> = {}): SandboxSettings {
  return { ...sandboxSettings(ConfigSchema.parse({ home })), ...overrides };
}

/** host_shell's record with other code: a skill with every needs_* flag, for runs that bypass the API. */
function shellSkill(name: string, code: string) {
  const [shell] = builtinSkills({ name: 'a', created_at: new Date() } as never);
  return { ...shell!, code, skill: { ...shell!.skill, name } };
}

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
    const blocked = await createAndInvoke(server.api, 'offline', { language: 'python', code: CONNECT }, [String(tcpPort), '127.0.0.1']);
    expect(blocked.status).toBe(422);
    expect(blocked.body.error.details).toMatchObject({ exit_code: 1, sandbox: 'bwrap' });
    expect(blocked.body.error.details.output).toMatch(/^127\.0\.0\.1 blocked: /);
    expect(tcpConnections).toBe(before);
  });

  it("never reaches the host's loopback with needs_network: neither 127.0.0.1 nor slirp's 10.0.2.2", async () => {
    const before = tcpConnections;
    const res = await createAndInvoke(server.api, 'online', { language: 'python', code: CONNECT, needs_network: true }, [String(tcpPort), '127.0.0.1', '10.0.2.2']);
    expect(res.status).toBe(422);
    expect(res.body.error.details.output).toMatch(/^127\.0\.0\.1 blocked: .*\n10\.0\.2\.2 blocked: /);
    expect(tcpConnections).toBe(before);
  });

  it.runIf(HOST_ADDRESS)('reaches other hosts with needs_network, through a user-mode stack whose DNS is 10.0.2.3', async () => {
    const outside = createServer((socket) => socket.end('hello from outside\n'));
    await new Promise<void>((resolve) => outside.listen(0, HOST_ADDRESS, resolve));
    try {
      const port = String((outside.address() as { port: number }).port);
      const res = await createAndInvoke(server.api, 'networked', { language: 'python', code: CONNECT, needs_network: true }, [port, HOST_ADDRESS!]);
      expect(res.body.data).toMatchObject({ output: `${HOST_ADDRESS} connected: hello from outside\n`, exit_code: 0, sandbox: 'bwrap' });
      const dns = await createAndInvoke(server.api, 'resolver', { language: 'sh', code: 'cat /etc/resolv.conf\n', needs_network: true });
      expect(dns.body.data.output).toBe('nameserver 10.0.2.3\n');
    } finally {
      await new Promise((resolve) => outside.close(resolve));
    }
  });

  it.runIf(PASTA)("keeps the host's loopback out of reach with pasta too, when slirp4netns is missing", async () => {
    const withPasta = await startTestServer({ skills: { slirp4netns: '/nonexistent/slirp4netns' } });
    const sandbox = new Sandbox(settingsFor(withPasta.home, { slirp4netns: '/nonexistent/slirp4netns' }));
    try {
      expect((await sandbox.status()).network).toBe('pasta');
      await withPasta.api.post('/api/agents', { name: 'boxed' });
      const before = tcpConnections;
      const res = await createAndInvoke(withPasta.api, 'online', { language: 'python', code: CONNECT, needs_network: true }, [String(tcpPort), '127.0.0.1', '10.0.2.2']);
      expect(res.body.error.details.output).toMatch(/^127\.0\.0\.1 blocked: .*\n10\.0\.2\.2 blocked: /);
      expect(tcpConnections).toBe(before);
    } finally {
      await sandbox.close();
      await withPasta.close();
    }
  });

  it('refuses a needs_network skill with SANDBOX_UNAVAILABLE, rather than share the host network, when no network stack is installed', async () => {
    const home = makeTempHome();
    const sandbox = new Sandbox(settingsFor(home, { slirp4netns: '/nonexistent/slirp4netns', pasta: '/nonexistent/pasta' }));
    try {
      expect((await sandbox.status()).network).toBe('none');
      const runner = new SkillRunner({ home, timeoutMs: 10_000, outputLimitBytes: 4096 }, sandbox, async () => ({}));
      const refused = await runner.run('a', shellSkill('online', 'echo online\n'), []).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: 'SANDBOX_UNAVAILABLE', message: expect.stringContaining('neither slirp4netns nor pasta is installed') });
    } finally {
      await sandbox.close();
      rmSync(home, { recursive: true, force: true });
    }
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

  it("never sees the data directory, even with needs_fs_read: not the vault key, the database nor other agents' skills", async () => {
    await server.api.post('/api/agents', { name: 'neighbour' });
    const planted = await createAndInvoke(server.api, 'planter', { language: 'sh', code: 'echo private > "$HOME/notes.txt"\n', needs_fs_write: true }, [], 'neighbour');
    expect(planted.body.data.exit_code).toBe(0);
    const files = ['vault.key', 'moxxy.db', 'moxxy.db-wal', 'moxxy.db-shm', 'skills/neighbour/planter/notes.txt'];
    for (const file of files) expect(existsSync(join(server.home, file)), file).toBe(true);

    const code = 'for f in "$@"; do cat "$0/$f" > /dev/null 2>&1 && echo "$f: read" || echo "$f: hidden"; done\ncat "$HOME/run.sh" > /dev/null && echo "own: read"\n';
    // The data directory arrives as $0 (the skill's argv[0] is its entrypoint's path, so the shell names it differently).
    const res = await createAndInvoke(server.api, 'snoop', { language: 'sh', code: `set -- ${files.join(' ')}\n${code.replace(/\$0/g, server.home)}`, needs_fs_read: true });
    expect(res.body.data.output).toBe(`${files.map((file) => `${file}: hidden`).join('\n')}\nown: read\n`);
  });

  it("sees only its own processes, and never the server's environment in /proc", async () => {
    const code = 'tr "\\0" "\\n" < /proc/$PPID/environ; tr "\\0" "\\n" < /proc/1/environ; echo "processes: $(ls /proc | grep -c "^[0-9]")"\n';
    const res = await createAndInvoke(server.api, 'proc', { language: 'sh', code, needs_fs_read: true });
    const output: string = res.body.data.output;
    // What it can read there is its own environment (the sandbox's first process got the same one).
    expect(output).toContain(`HOME=${join(server.home, 'skills', 'boxed', 'proc')}\n`);
    expect(output).not.toContain(FAKE_SECRET);
    expect(output).not.toContain('MOXXY_SKILLS_TEST_SECRET');
    expect(Number(/processes: (\d+)/.exec(output)?.[1])).toBeLessThan(6);
  });

  it('ends what it started in a new session when it returns', async () => {
    const marker = `33${process.pid}.5`;
    const res = await createAndInvoke(server.api, 'escaper', { language: 'sh', code: `setsid sleep ${marker} > /dev/null 2>&1 < /dev/null &\necho started\n` });
    expect(res.body.data).toMatchObject({ output: 'started\n', exit_code: 0 });
    expect(await waitForNoProcessesWith(marker)).toBe(0);
  });

  it('hands a needs_env skill only the secrets named in env_keys', async () => {
    const home = makeTempHome();
    const sandbox = new Sandbox(settingsFor(home, { requireSandbox: true }));
    try {
      const runner = new SkillRunner({ home, timeoutMs: 10_000, outputLimitBytes: 4096 }, sandbox, async (_agent, keys) => ({
        ...Object.fromEntries(keys.map((key) => [key, `value-of-${key}`])),
        NOT_ASKED: 'leak',
      }));
      const record = shellSkill('weather', 'echo "$WEATHER_KEY|${NOT_ASKED:-none}|$HOME"\n');
      const withEnv = await runner.run('a', { ...record, skill: { ...record.skill, needs_env: true, env_keys: ['WEATHER_KEY', 'HOME'] } }, []);
      expect(withEnv.output).toBe(`value-of-WEATHER_KEY|none|${join(home, 'skills', 'a', 'weather')}\n`);
      const without = await runner.run('a', { ...record, skill: { ...record.skill, needs_env: false, env_keys: ['WEATHER_KEY'] } }, []);
      expect(without.output).toBe(`|none|${join(home, 'skills', 'a', 'weather')}\n`);
    } finally {
      await sandbox.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe.runIf(SANDBOX === 'bwrap' || process.env.CI)('resource limits (skipped only outside CI where bwrap cannot create namespaces)', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ skills: { timeoutMs: 5000, limits: { cpuSeconds: 1 } } });
    await limited.api.post('/api/agents', { name: 'boxed' });
  });
  afterAll(async () => {
    await limited.close();
  });

  it('refuses forks past skills.limits.processes (64): the skill sees them fail', async () => {
    const code = `import os, time
forked = failed = 0
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        failed += 1
        continue
    if pid == 0:
        time.sleep(10)
        os._exit(0)
    forked += 1
print(forked, failed)
`;
    const res = await createAndInvoke(server.api, 'forker', { language: 'python', code });
    const [forked, failed] = res.body.data.output.trim().split(' ').map(Number);
    expect(forked).toBeGreaterThan(0);
    expect(forked).toBeLessThan(64);
    expect(forked + failed).toBe(300);
  });

  it('fails an allocation past skills.limits.memoryBytes (1 GiB)', async () => {
    const code = 'small = bytearray(100 * 1024 * 1024)\nprint("100 MiB: ok")\ntry:\n    bytearray(2 * 1024 ** 3)\n    print("2 GiB: ok")\nexcept MemoryError:\n    print("2 GiB: refused")\n';
    const res = await createAndInvoke(server.api, 'hog', { language: 'python', code });
    expect(res.body.data.output).toBe('100 MiB: ok\n2 GiB: refused\n');
  });

  it('fills /tmp at skills.limits.tmpBytes (64 MiB)', async () => {
    const code = `import errno
for name in ("a", "b"):
    try:
        with open("/tmp/" + name, "wb") as f:
            f.write(b"x" * (40 * 1024 * 1024))
        print(name, "ok")
    except OSError as error:
        print(name, errno.errorcode[error.errno])
`;
    const res = await createAndInvoke(server.api, 'filler', { language: 'python', code });
    expect(res.body.data.output).toBe('a ok\nb ENOSPC\n');
  });

  it('stops a skill at skills.limits.cpuSeconds, before the time limit', async () => {
    const res = await createAndInvoke(limited.api, 'spinner', { language: 'python', code: 'while True:\n    pass\n' });
    // SIGXCPU (24) at the CPU limit; the 5 s time limit would say timed_out, with SIGKILL (137).
    expect(res.body.error.details).toMatchObject({ exit_code: 128 + 24, timed_out: false });
  });

  it('ends what it started in a new session at the time limit', async () => {
    const marker = `34${process.pid}.5`;
    const res = await createAndInvoke(limited.api, 'lingerer', { language: 'sh', code: `setsid sleep ${marker} > /dev/null 2>&1 < /dev/null &\nsleep ${marker}\n` });
    expect(res.body.error.details).toMatchObject({ timed_out: true, exit_code: 137 });
    expect(await waitForNoProcessesWith(marker)).toBe(0);
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

  it('reports no sandbox, and why, in its status', async () => {
    const sandbox = new Sandbox(settingsFor(bare.home, { bwrap: '/nonexistent/bwrap' }));
    try {
      const status = await sandbox.status();
      expect(status).toMatchObject({ kind: 'none', reason: expect.stringContaining('/nonexistent/bwrap cannot run'), network: 'none' });
      expect(status.warnings[0]).toMatch(/^No sandbox \(\/nonexistent\/bwrap cannot run: .*\): skills and stdio MCP servers run as the server's user/);
    } finally {
      await sandbox.close();
    }
  });

  it('still applies the memory limit', async () => {
    const code = 'try:\n    bytearray(2 * 1024 ** 3)\n    print("2 GiB: ok")\nexcept MemoryError:\n    print("2 GiB: refused")\n';
    const res = await createAndInvoke(bare.api, 'hog', { language: 'python', code });
    expect(res.body.data).toMatchObject({ output: '2 GiB: refused\n', sandbox: 'none' });
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
