/** The generated Python client: committed output matches the generator, and its unittest suite passes against a live server. */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT_DIR = join(ROOT, 'clients', 'python');
const PACKAGE = 'moxxy_client';

/** Files under `dir` by relative path, leaving out Python's caches. */
function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '__pycache__' ? [] : listFiles(path, base);
    return entry.name.endsWith('.pyc') ? [] : [relative(base, path)];
  });
}

/**
 * How `clientDir` differs from the generator's output in `generatedDir`: generated files that are missing or
 * different, and files in the generated package directory that the generator no longer writes. Anything else beside
 * the package (the hand-written tests, what `pip install` leaves: build/, *.egg-info) is not the generator's.
 */
function driftFrom(generatedDir: string, clientDir: string): string[] {
  const generated = listFiles(generatedDir);
  const stale = generated.filter((file) => {
    try {
      return readFileSync(join(clientDir, file), 'utf8') !== readFileSync(join(generatedDir, file), 'utf8');
    } catch {
      return true;
    }
  });
  const leftOver = listFiles(join(clientDir, PACKAGE))
    .map((file) => join(PACKAGE, file))
    .filter((file) => !generated.includes(file));
  return [...stale, ...leftOver].sort();
}

async function generateInto(out: string): Promise<void> {
  await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'gen-python.ts'), '--out', out], { cwd: ROOT });
}

describe('clients/python generation', () => {
  it('matches what `npm run gen:python` writes from openapi/openapi.json (run it after changing routes)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'moxxy-python-client-'));
    try {
      await generateInto(out);
      expect(listFiles(out).sort()).toEqual(expect.arrayContaining(['moxxy_client/__init__.py', 'moxxy_client/client.py', 'moxxy_client/models.py', 'pyproject.toml']));
      expect(driftFrom(out, CLIENT_DIR), 'clients/python is stale: run npm run gen:python').toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('ignores what `pip install ./clients/python` leaves beside the package, and git does too', async () => {
    const out = mkdtempSync(join(tmpdir(), 'moxxy-python-client-'));
    const installed = mkdtempSync(join(tmpdir(), 'moxxy-python-installed-'));
    try {
      await generateInto(out);
      cpSync(CLIENT_DIR, installed, { recursive: true });
      const leftovers = ['build/lib/moxxy_client/client.py', 'moxxy_client.egg-info/PKG-INFO'];
      for (const file of leftovers) {
        mkdirSync(dirname(join(installed, file)), { recursive: true });
        writeFileSync(join(installed, file), 'left by pip\n');
      }
      expect(driftFrom(out, installed)).toEqual([]);
      writeFileSync(join(installed, PACKAGE, 'removed_module.py'), '');
      expect(driftFrom(out, installed)).toEqual([join(PACKAGE, 'removed_module.py')]);

      const ignored = await run('git', ['check-ignore', ...leftovers.map((file) => join('clients', 'python', file))], { cwd: ROOT });
      expect(ignored.stdout.trim().split('\n')).toHaveLength(leftovers.length);
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(installed, { recursive: true, force: true });
    }
  });

  it('generates working Python for schema features the API does not use yet (keywords, allOf, recursion, unnamed operations)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'moxxy-python-synthetic-'));
    try {
      const spec = join(ROOT, 'test', 'fixtures', 'python-client-synthetic.openapi.json');
      await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'gen-python.ts'), '--spec', spec, '--out', out], { cwd: ROOT });
      const script = [
        'import inspect, json',
        'from moxxy_client import MoxxyClient, models as m',
        'c = MoxxyClient()',
        'row = m.List_.from_dict({"from": "x", "camelCase": None, "str": "s"})',
        'derived = m.Derived.from_dict({"id": "1", "rows": [{"class": True}]})',
        'tree = m.Tree.from_dict({"children": [{"children": [], "label": "node"}]})',
        'print(json.dumps({',
        '  "row": [row.from_, row.camel_case, row.str, row.to_dict()],',
        '  "derived": [derived.rows[0].class_, derived.to_dict()],',
        '  "tree": type(tree.children[0]).__name__,',
        '  "methods": sorted(n for n in dir(c) if not n.startswith("_")) + sorted(n for n in dir(c.things) if not n.startswith("_")),',
        '  "signature": str(inspect.signature(c.get_things_thing_id)),',
        '}))',
      ].join('\n');
      const { stdout } = await run('python3', ['-c', script], { cwd: out, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
      expect(JSON.parse(stdout)).toEqual({
        row: ['x', null, 's', { from: 'x', camelCase: null, str: 's' }],
        derived: [true, { id: '1', rows: [{ class: true }] }],
        tree: 'Tree',
        methods: ['base_url', 'close', 'from_env', 'get_things_thing_id', 'import_', 'things', 'remove'],
        signature: "(*, thing_id: 'str', tags: 'Optional[List[str]]' = None, class_: 'Optional[bool]' = None, timeout: 'Optional[float]' = None) -> 'm.GetThingsThingIdResult'",
      });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('names one client method per operationId', () => {
    const spec = JSON.parse(readFileSync(join(ROOT, 'openapi', 'openapi.json'), 'utf8'));
    const client = readFileSync(join(CLIENT_DIR, 'moxxy_client', 'client.py'), 'utf8');
    const operationIds = Object.values<any>(spec.paths).flatMap((item) => Object.values<any>(item).map((op) => op.operationId).filter(Boolean));
    expect(operationIds.length).toBeGreaterThan(20);
    for (const id of operationIds) expect(client, id).toContain(`(operationId ${id})`);
    expect(client).toMatch(/class AgentsApi:[\s\S]*?def get\(\s+self,\s+\*,\s+name: str,/);
  });
});

describe('clients/python against a live server', () => {
  const internalToken = 'python-client-internal-token';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: internalToken });
  });
  afterAll(() => server?.close());

  it('passes its unittest suite (python3 -m unittest discover -s clients/python/tests)', { timeout: 180_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, MOXXY_BASE_URL: server.url, MOXXY_INTERNAL_TOKEN: internalToken, PYTHONDONTWRITEBYTECODE: '1' };
    delete env.MOXXY_TOKEN;
    const result = await run('python3', ['-m', 'unittest', 'discover', '-v', '-s', join(CLIENT_DIR, 'tests')], { cwd: ROOT, env, timeout: 170_000 }).catch(
      (error: any) => error,
    );
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    expect(result.code ?? 0, output).toBe(0);
    const ran = Number(/^Ran (\d+) tests? in/m.exec(output)?.[1] ?? 0);
    expect(ran, output).toBeGreaterThanOrEqual(20);
    expect(output).toMatch(/^OK$/m);
    expect(output).not.toMatch(/skipped/);
    expect(output).toMatch(/test_raises_agent_not_found_with_code_and_status .* ok/);
    expect(output).toMatch(/test_follows_the_live_event_stream_and_resumes_with_last_event_id .* ok/);
  });

  it('runs the README\'s Python example as written', { timeout: 60_000 }, async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = /### Python client[\s\S]*?```python\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toContain('MoxxyClient("http://127.0.0.1:17890")');
    const script = example!.replace('MoxxyClient("http://127.0.0.1:17890")', `MoxxyClient(${JSON.stringify(server.url)}, internal_token=${JSON.stringify(internalToken)})`);
    const { stdout } = await run('python3', ['-c', script], { cwd: CLIENT_DIR, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 50_000 });
    expect(stdout).toMatch(/^Hello run_/);
    expect(stdout).toContain("content='Stream this'");
    expect(stdout).toMatch(/ run\.completed\n/);
    expect(stdout).toContain("['Ana likes green tea']");
    expect(stdout.trim().endsWith('AGENT_NOT_FOUND 404')).toBe(true);
  });
});
