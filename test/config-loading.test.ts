/**
 * Config files load through the real `moxxy` command started in a project outside the checkout, where neither
 * `@moxxy/config` (seed 001's import name) nor `moxxy-server/config` (README's) is installed and no package.json says
 * "type": "module". A setting from the file shows over HTTP: `rateLimits.read` is the X-RateLimit-Limit of a read.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, spawnServer, type ServerProcess } from './helpers/process.ts';

const dirs: string[] = [];
const servers: ServerProcess[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A project directory holding only the given files, and a data directory of its own. */
function project(files: Record<string, string>): { cwd: string; home: string } {
  const cwd = tempDir('moxxy-project-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text);
  return { cwd, home: tempDir('moxxy-home-') };
}

async function serve(cwd: string, home: string, args?: string[]): Promise<ServerProcess> {
  const server = await spawnServer({ MOXXY_HOME: home }, cwd, args);
  servers.push(server);
  return server;
}

async function readLimit(server: ServerProcess): Promise<string | null> {
  const response = await fetch(`${server.url}/api/agents`);
  expect(response.status).toBe(200);
  return response.headers.get('x-ratelimit-limit');
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const SEED_IMPORT = '@moxxy/config';
const PACKAGE_IMPORT = 'moxxy-server/config';

/** Each ES module file name with one of the import names (both for .ts); the TypeScript ones only load compiled. */
const ESM_FILES: Array<[file: string, importName: string, read: number, text: string]> = [
  ['moxxy.config.ts', SEED_IMPORT, 61, `import { defineConfig } from '${SEED_IMPORT}';\nconst read: number = 61;\nexport default defineConfig({ rateLimits: { read } });\n`],
  ['moxxy.config.ts', PACKAGE_IMPORT, 62, `import { defineConfig } from '${PACKAGE_IMPORT}';\nconst read: number = 62;\nexport default defineConfig({ rateLimits: { read } });\n`],
  ['moxxy.config.mts', PACKAGE_IMPORT, 63, `import { defineConfig } from '${PACKAGE_IMPORT}';\nexport default defineConfig({ rateLimits: { read: 63 as number } });\n`],
  ['moxxy.config.js', SEED_IMPORT, 64, `import { defineConfig } from '${SEED_IMPORT}';\nexport default defineConfig({ rateLimits: { read: 64 } });\n`],
  ['moxxy.config.mjs', PACKAGE_IMPORT, 65, `import { defineConfig } from '${PACKAGE_IMPORT}';\nexport default defineConfig({ rateLimits: { read: 65 } });\n`],
];

describe('config files through `moxxy serve`', () => {
  it.each(ESM_FILES)('loads %s importing defineConfig from %s, and says which file it read', async (file, _importName, read, text) => {
    const { cwd, home } = project({ [file]: text });
    const server = await serve(cwd, home);
    expect(await readLimit(server)).toBe(String(read));
    expect(server.output()).toContain(`Configuration file: ${join(cwd, file)}\n`);
  });

  it('loads moxxy.config.json', async () => {
    const { cwd, home } = project({ 'moxxy.config.json': JSON.stringify({ rateLimits: { read: 81 } }) });
    expect(await readLimit(await serve(cwd, home))).toBe('81');
  });

  it('loads a CommonJS moxxy.config.js (module.exports, require) even beside a package.json saying "type": "commonjs"', async () => {
    const { cwd, home } = project({
      'package.json': JSON.stringify({ name: 'ops', type: 'commonjs' }),
      'moxxy.config.js': "const { defineConfig } = require('@moxxy/config');\nmodule.exports = defineConfig({ rateLimits: { read: 82 } });\n",
    });
    expect(await readLimit(await serve(cwd, home))).toBe('82');
  });

  it('finds the file in MOXXY_HOME when the working directory has none', async () => {
    const { cwd, home } = project({});
    writeFileSync(join(home, 'moxxy.config.ts'), `import { defineConfig } from '${SEED_IMPORT}';\nexport default defineConfig({ rateLimits: { read: 83 } });\n`);
    const server = await serve(cwd, home);
    expect(await readLimit(server)).toBe('83');
    expect(server.output()).toContain(`Configuration file: ${join(home, 'moxxy.config.ts')}\n`);
  });

  it('resolves packages and relative files a TypeScript config imports from where the file is', async () => {
    const { cwd, home } = project({
      'moxxy.config.ts': [
        "import { defineConfig } from 'moxxy-server/config';",
        "import { readLimit } from 'ops-limits';",
        "import { writeLimit } from './limits.ts';",
        'export default defineConfig({ rateLimits: { read: readLimit, write: writeLimit } });',
        '',
      ].join('\n'),
      'limits.ts': 'export const writeLimit: number = 7;\n',
    });
    mkdirSync(join(cwd, 'node_modules', 'ops-limits'), { recursive: true });
    writeFileSync(join(cwd, 'node_modules', 'ops-limits', 'package.json'), JSON.stringify({ name: 'ops-limits', type: 'module', exports: './index.js' }));
    writeFileSync(join(cwd, 'node_modules', 'ops-limits', 'index.js'), 'export const readLimit = 84;\n');
    expect(await readLimit(await serve(cwd, home))).toBe('84');
  });

  it('reports when no file was found', async () => {
    const { cwd, home } = project({});
    expect((await serve(cwd, home)).output()).toContain('Configuration file: none (defaults and environment variables)\n');
  });
});

describe('config files through `moxxy channels http`', () => {
  it('serves the channel a moxxy.config.ts configures', async () => {
    const { cwd, home } = project({
      'moxxy.config.ts': `import { defineConfig } from '${PACKAGE_IMPORT}';\nexport default defineConfig({ channels: { http: { authToken: 'channel-token-from-file', allowedTools: [] } } });\n`,
    });
    const server = await serve(cwd, home, ['channels', 'http', '--port', '0']);
    expect(server.output()).toContain('tools: none');
    const turn = await fetch(`${server.url}/v1/turn`, {
      method: 'POST',
      headers: { authorization: 'Bearer channel-token-from-file', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'configured by file' }),
    });
    expect(turn.status).toBe(200);
    expect(((await turn.json()) as { assistant: string }).assistant).toBe('configured by file');
  });
});

describe('a config file that cannot be used', () => {
  const broken: Array<[string, string, string, RegExp]> = [
    ['a syntax error', 'moxxy.config.ts', 'export default { port: 1,, };\n', /^moxxy: Cannot load (\S+moxxy\.config\.ts): .*\(moxxy\.config\.ts:1:\d+\)\n$/],
    ['an error thrown while it runs', 'moxxy.config.mjs', "throw new Error('no settings today');\n", /^moxxy: Cannot load (\S+moxxy\.config\.mjs): no settings today\n$/],
    ['no default export', 'moxxy.config.ts', 'export const port = 1;\n', /^moxxy: (\S+moxxy\.config\.ts) must export the configuration object as its default export/],
    ['malformed JSON', 'moxxy.config.json', '{"port": 1,}', /^moxxy: Cannot load (\S+moxxy\.config\.json): /],
  ];

  it.each(broken)('stops `moxxy serve` with one line naming the file on %s', async (_case, file, text, message) => {
    const { cwd, home } = project({ [file]: text });
    const result = await runCli(['serve'], { MOXXY_HOME: home, PORT: '0' }, cwd);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(message.exec(result.stderr)![1]).toBe(join(cwd, file));
  });

  it('names the file and the field for an invalid value', async () => {
    const { cwd, home } = project({ 'moxxy.config.ts': `import { defineConfig } from '${SEED_IMPORT}';\nexport default defineConfig({ rateLimits: { read: 0 } });\n` });
    const result = await runCli(['serve'], { MOXXY_HOME: home, PORT: '0' }, cwd);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Invalid configuration in ${join(cwd, 'moxxy.config.ts')}:\n  - rateLimits.read: Too small`);
  });
});

describe('moxxy config path', () => {
  it('prints the file the commands read, the working directory first', async () => {
    const { cwd, home } = project({ 'moxxy.config.mjs': 'export default {};\n' });
    writeFileSync(join(home, 'moxxy.config.json'), '{}');
    expect(await runCli(['config', 'path'], { MOXXY_HOME: home }, cwd)).toEqual({ code: 0, stdout: `${join(cwd, 'moxxy.config.mjs')}\n`, stderr: '' });
    const elsewhere = tempDir('moxxy-elsewhere-');
    expect((await runCli(['config', 'path'], { MOXXY_HOME: home }, elsewhere)).stdout).toBe(`${join(home, 'moxxy.config.json')}\n`);
  });

  it('exits 1 saying where it looked when there is no file', async () => {
    const { cwd, home } = project({});
    const result = await runCli(['config', 'path'], { MOXXY_HOME: home }, cwd);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`moxxy: no configuration file: none of moxxy.config.ts, moxxy.config.mts, moxxy.config.js, moxxy.config.mjs, moxxy.config.json in ${cwd} or ${home}\n`);
  });
});
