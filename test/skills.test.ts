import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeBwrap } from '../src/services/sandbox/bwrap-probe.ts';
import { makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

/** bubblewrap here, unless this machine cannot create namespaces (then skills run unsandboxed; see skills-sandbox.test.ts). */
const SANDBOX = (await probeBwrap('bwrap')).kind;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.api.post('/api/agents', { name: 'skiller' });
});
afterAll(async () => {
  await server.close();
});

const ECHO_BASH = '#!/bin/bash\nread -r args\necho "Received: $args"\necho "argv: $*"\n';

async function audit(query: string): Promise<Array<{ event_type: string; payload: any; run_id: string | null }>> {
  return (await server.api.get(`/api/audit?${query}&limit=1000`)).body.data.events;
}

describe('skills API', () => {
  it('lists the built-in skills of every agent with the seed fields', async () => {
    const res = await server.api.get('/api/agents/default/skills');
    expect(res.status).toBe(200);
    expect(res.body.data.skills.map((s: any) => s.name)).toEqual(['host_shell', 'web_crawler']);
    expect(res.body.data.skills[0]).toMatchObject({
      name: 'host_shell', version: '1.0.0', run_command: 'sh', entrypoint: 'run.sh',
      needs_network: true, needs_fs_read: true, needs_fs_write: true, needs_env: false, builtin: true,
      usage_example: '<invoke name="host_shell">["ls -la"]</invoke>',
    });
    expect(res.body.data.skills[1]).toMatchObject({ name: 'web_crawler', needs_network: true, language: 'builtin' });
    expect(res.body.data.pagination).toEqual({ total: 2, limit: 50, offset: 0, next_offset: null });
  });

  it('creates a skill (201), gets its manifest and source, and refuses a duplicate with 409 SKILL_EXISTS', async () => {
    const created = await server.api.post('/api/agents/skiller/skills', {
      name: 'my_custom_skill', description: 'Does something useful', code: ECHO_BASH, language: 'bash',
      usage_example: '<invoke name="my_custom_skill">["x"]</invoke>',
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      name: 'my_custom_skill', description: 'Does something useful', version: '1.0.0', language: 'bash', run_command: 'bash',
      entrypoint: 'run.sh', needs_network: false, needs_fs_read: false, needs_fs_write: false, needs_env: false, env_keys: [],
      source_url: null, builtin: false,
    });
    expect(Date.parse(created.body.data.created_at)).not.toBeNaN();

    const got = await server.api.get('/api/agents/skiller/skills/my_custom_skill');
    expect(got.body.data).toEqual(created.body.data);

    const source = (await server.api.get('/api/agents/skiller/skills/my_custom_skill/source')).body.data;
    expect(source.code).toBe(ECHO_BASH);
    expect(source.manifest).toContain('name = "my_custom_skill"');
    expect(source.manifest).toContain('run_command = "bash"');
    expect(source.manifest).toContain('usage_example = "<invoke name=\\"my_custom_skill\\">[\\"x\\"]</invoke>"');

    const again = await server.api.post('/api/agents/skiller/skills', { name: 'my_custom_skill', code: 'echo', language: 'sh' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SKILL_EXISTS');
    const builtinName = await server.api.post('/api/agents/skiller/skills', { name: 'host_shell', code: 'echo', language: 'sh' });
    expect(builtinName.body.error.code).toBe('SKILL_EXISTS');

    const list = (await server.api.get('/api/agents/skiller/skills')).body.data;
    expect(list.skills.map((s: any) => s.name)).toEqual(['host_shell', 'web_crawler', 'my_custom_skill']);
  });

  it('invokes with array args (argv and a JSON line on stdin) and object args (JSON on stdin)', async () => {
    await server.api.post('/api/agents/skiller/skills', { name: 'echoer', code: ECHO_BASH, language: 'bash' });
    const res = await server.api.post('/api/agents/skiller/skills/echoer/invoke', { args: ['ls', '-la', 'two words'] });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      output: 'Received: ["ls","-la","two words"]\nargv: ls -la two words\n', exit_code: 0, truncated: false, timed_out: false, sandbox: SANDBOX,
    });
    expect(res.body.data.execution_time_ms).toBeGreaterThanOrEqual(0);

    const object = await server.api.post('/api/agents/skiller/skills/echoer/invoke', { args: { path: '/home/user', recursive: true } });
    expect(object.body.data.output).toBe('Received: {"path":"/home/user","recursive":true}\nargv: \n');
    const none = await server.api.post('/api/agents/skiller/skills/echoer/invoke', {});
    expect(none.body.data.output).toBe('Received: []\nargv: \n');
  });

  it('runs python and node skills', async () => {
    await server.api.post('/api/agents/skiller/skills', {
      name: 'py', language: 'python', code: 'import json, sys\nargs = json.loads(sys.stdin.readline())\nprint("py", sys.argv[1:], args)\n',
    });
    await server.api.post('/api/agents/skiller/skills', {
      name: 'js', language: 'node', code: 'let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => console.log("js", process.argv.slice(2).join(","), JSON.parse(s).n));\n',
    });
    const py = await server.api.post('/api/agents/skiller/skills/py/invoke', { args: ['a', 'b'] });
    expect(py.body.data).toMatchObject({ output: "py ['a', 'b'] ['a', 'b']\n", exit_code: 0 });
    const js = await server.api.post('/api/agents/skiller/skills/js/invoke', { args: { n: 42 } });
    expect(js.body.data).toMatchObject({ output: 'js  42\n', exit_code: 0 });
    expect((await server.api.get('/api/agents/skiller/skills/py')).body.data).toMatchObject({ run_command: 'python3', entrypoint: 'main.py' });
  });

  it('answers a non-zero exit with 422 SKILL_FAILED carrying output, exit_code and execution_time_ms', async () => {
    await server.api.post('/api/agents/skiller/skills', { name: 'failing', language: 'sh', code: 'echo "ls: cannot access /nonexistent" >&2\nexit 3\n' });
    const res = await server.api.post('/api/agents/skiller/skills/failing/invoke', { args: [] });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('SKILL_FAILED');
    expect(res.body.error.message).toBe("Skill 'failing' failed with exit code 3");
    expect(res.body.error.details).toMatchObject({ output: 'ls: cannot access /nonexistent\n', exit_code: 3, execution_time_ms: expect.any(Number) });
  });

  it('records API invocations in the audit log', async () => {
    await server.api.post('/api/agents', { name: 'audited' });
    await server.api.post('/api/agents/audited/skills', { name: 'hello', language: 'sh', code: 'echo hi\n' });
    await server.api.post('/api/agents/audited/skills/hello/invoke', { args: ['x'] });
    const events = await audit('agent_id=audited');
    expect(events.map((e) => e.event_type)).toEqual(['skill.invoked', 'skill.completed']);
    expect(events[0]!.payload).toMatchObject({ name: 'hello', arguments: ['x'], source: 'api' });
    expect(events[1]!.payload).toMatchObject({ name: 'hello', output: 'hi\n', exit_code: 0, is_error: false, sandbox: SANDBOX });
  });

  it('updates description, code and flags with PUT, and deletes a skill and its working directory', async () => {
    await server.api.post('/api/agents/skiller/skills', { name: 'changing', language: 'bash', code: 'echo one\n' });
    expect((await server.api.post('/api/agents/skiller/skills/changing/invoke', {})).body.data.output).toBe('one\n');
    const workdir = join(server.home, 'skills', 'skiller', 'changing');
    expect(readFileSync(join(workdir, 'run.sh'), 'utf8')).toBe('echo one\n');

    const updated = await server.api.put('/api/agents/skiller/skills/changing', {
      description: 'Updated description', code: 'echo two\n', needs_network: true, version: '1.1.0',
    });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ description: 'Updated description', needs_network: true, version: '1.1.0', language: 'bash' });
    expect(Date.parse(updated.body.data.updated_at)).toBeGreaterThanOrEqual(Date.parse(updated.body.data.created_at));
    expect((await server.api.post('/api/agents/skiller/skills/changing/invoke', {})).body.data.output).toBe('two\n');

    const relanguaged = await server.api.put('/api/agents/skiller/skills/changing', { language: 'python', code: 'print("three")\n' });
    expect(relanguaged.body.data).toMatchObject({ language: 'python', run_command: 'python3', entrypoint: 'main.py' });
    expect((await server.api.post('/api/agents/skiller/skills/changing/invoke', {})).body.data.output).toBe('three\n');

    const deleted = await server.api.delete('/api/agents/skiller/skills/changing');
    expect(deleted.body.data).toEqual({ name: 'changing', status: 'deleted' });
    expect(existsSync(workdir)).toBe(false);
    expect((await server.api.get('/api/agents/skiller/skills/changing')).body.error.code).toBe('SKILL_NOT_FOUND');
    expect((await server.api.delete('/api/agents/skiller/skills/changing')).body.error.code).toBe('SKILL_NOT_FOUND');
    expect((await server.api.put('/api/agents/skiller/skills/changing', { description: 'x' })).body.error.code).toBe('SKILL_NOT_FOUND');
  });

  it('refuses to change or delete built-in skills with 403 FORBIDDEN', async () => {
    const put = await server.api.put('/api/agents/skiller/skills/host_shell', { code: 'echo pwned' });
    expect(put.status).toBe(403);
    expect(put.body.error).toMatchObject({ code: 'FORBIDDEN', message: "Skill 'host_shell' is built in and cannot be changed or deleted" });
    expect((await server.api.delete('/api/agents/skiller/skills/web_crawler')).body.error.code).toBe('FORBIDDEN');
  });

  it('rejects bad names with 400 and unknown agents or skills with 404', async () => {
    const traversal = await server.api.get('/api/agents/skiller/skills/..%2F..%2Fetc');
    expect(traversal.status).toBe(400);
    expect(traversal.body.error.code).toBe('VALIDATION_ERROR');
    const badCreate = await server.api.post('/api/agents/skiller/skills', { name: '../escape', code: 'echo', language: 'sh' });
    expect(badCreate.status).toBe(400);
    const badLanguage = await server.api.post('/api/agents/skiller/skills', { name: 'rusty', code: 'fn main(){}', language: 'rust' });
    expect(badLanguage.status).toBe(400);
    const badArgs = await server.api.post('/api/agents/skiller/skills/echoer/invoke', { args: 'ls' });
    expect(badArgs.status).toBe(400);
    expect((await server.api.get('/api/agents/ghost/skills')).body.error.code).toBe('AGENT_NOT_FOUND');
    expect((await server.api.post('/api/agents/ghost/skills', { name: 'x', code: 'echo', language: 'sh' })).body.error.code).toBe('AGENT_NOT_FOUND');
    expect((await server.api.post('/api/agents/ghost/skills/host_shell/invoke', {})).body.error.code).toBe('AGENT_NOT_FOUND');
    expect((await server.api.get('/api/agents/skiller/skills/nope/source')).body.error.code).toBe('SKILL_NOT_FOUND');
    expect((await server.api.post('/api/agents/skiller/skills/nope/invoke', {})).body.error.code).toBe('SKILL_NOT_FOUND');
  });

  it('pages the list', async () => {
    await server.api.post('/api/agents', { name: 'pager' });
    for (const name of ['a1', 'a2', 'a3']) await server.api.post('/api/agents/pager/skills', { name, code: 'echo', language: 'sh' });
    const page = (await server.api.get('/api/agents/pager/skills?limit=2&offset=2')).body.data;
    expect(page.skills.map((s: any) => s.name)).toEqual(['a1', 'a2']);
    expect(page.pagination).toEqual({ total: 5, limit: 2, offset: 2, next_offset: 4 });
  });

  it('serves tRPC callers the same skills, with Dates', async () => {
    const skill = await server.trpc.skills.get.query({ agent: 'skiller', skill: 'echoer' });
    expect(skill.created_at).toBeInstanceOf(Date);
    const result = await server.trpc.skills.invoke.mutate({ agent: 'skiller', skill: 'echoer', args: ['t'] });
    expect(result.output).toBe('Received: ["t"]\nargv: t\n');
    await expect(server.trpc.skills.invoke.mutate({ agent: 'skiller', skill: 'failing', args: [] })).rejects.toMatchObject({
      data: { code: 'SKILL_FAILED', httpStatus: 422 },
    });
  });
});

describe('host_shell', () => {
  it('answers 403 FORBIDDEN unless the agent names host_shell in allowed_tools', async () => {
    await server.api.post('/api/agents', { name: 'no-shell', allowed_tools: ['memory.*'] });
    const res = await server.api.post('/api/agents/no-shell/skills/host_shell/invoke', { args: ['echo hi'] });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect(res.body.error.message).toContain('add "host_shell" to its allowed_tools');
  });

  it.runIf(SANDBOX === 'bwrap' || process.env.CI)('runs sh -c with the arguments joined, sandboxed: it reads the host but writes only its working directory (skipped only outside CI without bwrap)', async () => {
    await server.api.post('/api/agents', { name: 'shelly', allowed_tools: ['host_shell'] });
    const res = await server.api.post('/api/agents/shelly/skills/host_shell/invoke', { args: ['echo', '"$((6 * 7))"', '&& pwd && echo made > file.txt && cat file.txt'] });
    expect(res.status).toBe(200);
    const workdir = join(server.home, 'skills', 'shelly', 'host_shell');
    expect(res.body.data).toMatchObject({ output: `42\n${workdir}\nmade\n`, exit_code: 0, sandbox: 'bwrap' });

    // Outside /tmp, which the sandbox replaces with its own tmpfs.
    const outside = join(process.cwd(), 'node_modules', `.skills-escape-${process.pid}`);
    const escape = await server.api.post('/api/agents/shelly/skills/host_shell/invoke', { args: [`test -f ${join(process.cwd(), 'package.json')} && echo can-read; echo x > ${outside}`] });
    expect(escape.status).toBe(422);
    expect(escape.body.error.details.output).toContain('can-read');
    expect(escape.body.error.details.output).toMatch(/Read-only file system/);
    const escaped = existsSync(outside);
    rmSync(outside, { force: true });
    expect(escaped).toBe(false);
  });
});

describe('skills as agent tools', () => {
  it('runs an allowed skill from a chat turn, recorded in the run steps and as skill events', async () => {
    await server.api.post('/api/agents', { name: 'tool-user', allowed_tools: ['my_skill'] });
    await server.api.post('/api/agents/tool-user/skills', { name: 'my_skill', description: 'Greets', language: 'bash', code: 'read -r args\necho "Hi $1 ($args)"\n' });
    await server.api.post('/api/agents/tool-user/skills', { name: 'other_skill', language: 'sh', code: 'echo nope\n' });

    const res = await server.api.post('/api/agents/tool-user/chat', { message: 'Say hi <invoke name="my_skill">["hello"]</invoke>' });
    expect(res.status).toBe(200);
    expect(res.body.data.content).toBe('my_skill: Hi hello (["hello"])\n');
    const run = (await server.api.get(`/api/runs/${res.body.data.run_id}`)).body.data;
    expect(run.steps.map((s: any) => s.type)).toEqual(['model', 'tool', 'model']);
    expect(run.steps[1]).toMatchObject({ name: 'my_skill', arguments: ['hello'], output: 'Hi hello (["hello"])\n', is_error: false });

    const events = await audit(`run_id=${run.id}`);
    expect(events.find((e) => e.event_type === 'skill.invoked')?.payload).toMatchObject({ name: 'my_skill', kind: 'skill', args: ['hello'] });
    expect(events.find((e) => e.event_type === 'skill.completed')?.payload).toMatchObject({ name: 'my_skill', kind: 'skill', is_error: false, output: 'Hi hello (["hello"])\n' });

    // Models are offered the invoke body as the tool's (object) schema; bare args work too, as above.
    const wrapped = await server.api.post('/api/agents/tool-user/chat', { message: '<invoke name="my_skill">{"args": ["world"]}</invoke>' });
    expect(wrapped.body.data.content).toBe('my_skill: Hi world (["world"])\n');

    const denied = await server.api.post('/api/agents/tool-user/chat', { message: '<invoke name="other_skill">[]</invoke>' });
    const deniedRun = (await server.api.get(`/api/runs/${denied.body.data.run_id}`)).body.data;
    expect(deniedRun.steps[1]).toMatchObject({ name: 'other_skill', is_error: true, output: "Tool 'other_skill' is not allowed: the agent 'tool-user' allow-list does not include it" });
  });

  it('hands a failed skill back to the model as an error with its output', async () => {
    await server.api.post('/api/agents', { name: 'tool-fail', allowed_tools: ['*'] });
    await server.api.post('/api/agents/tool-fail/skills', { name: 'broken', language: 'sh', code: 'echo "bad input: $1"\nexit 2\n' });
    const res = await server.api.post('/api/agents/tool-fail/chat', { message: '<invoke name="broken">["zz"]</invoke>' });
    const run = (await server.api.get(`/api/runs/${res.body.data.run_id}`)).body.data;
    expect(run.status).toBe('completed');
    expect(run.steps[1]).toMatchObject({ name: 'broken', is_error: true, output: 'bad input: zz\n\n[broken exited with code 2]' });
  });

  it('runs host_shell as a tool for an agent that allows it', async () => {
    await server.api.post('/api/agents', { name: 'tool-shell', allowed_tools: ['host_shell'] });
    const res = await server.api.post('/api/agents/tool-shell/chat', { message: '<invoke name="host_shell">["echo from-the-shell"]</invoke>' });
    const run = (await server.api.get(`/api/runs/${res.body.data.run_id}`)).body.data;
    expect(run.steps[1]).toMatchObject({ name: 'host_shell', is_error: false, output: 'from-the-shell\n' });
  });
});

describe('skills across a restart', () => {
  it('keeps skills in the database', async () => {
    const home = makeTempHome();
    const first = await startTestServer({ home });
    await first.api.post('/api/agents', { name: 'durable' });
    await first.api.post('/api/agents/durable/skills', { name: 'kept', language: 'sh', code: 'echo still here\n' });
    await first.close();
    const second = await startTestServer({ home });
    try {
      expect((await second.api.get('/api/agents/durable/skills/kept')).body.data.name).toBe('kept');
      expect((await second.api.post('/api/agents/durable/skills/kept/invoke', {})).body.data.output).toBe('still here\n');
    } finally {
      await second.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
