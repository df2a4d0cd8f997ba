/**
 * @moxxy/client as a package: from this checkout (the root's workspace links it, as `npm install` does for a fresh
 * clone), and from another project that installs it by path. Plain Node runs the README's example against a live
 * server, and tsc checks that the types come along, the tRPC client's included.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT_DIR = join(ROOT, 'clients', 'typescript');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The README's TypeScript client example, pointed at `url`: it is plain JavaScript too. */
function readmeExample(url: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const example = /### TypeScript client[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!example?.includes("from '@moxxy/client'")) throw new Error('README.md has no TypeScript client example importing @moxxy/client');
  return example.replaceAll('http://127.0.0.1:17890', url);
}

/** Runs an ES module given as text with `cwd`'s node_modules, as `node script.mjs` there would. */
async function runModule(source: string, cwd: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', source], { cwd, timeout: 60_000 });
  return stdout;
}

let server: TestServer;
let project: string;
beforeAll(async () => {
  server = await startTestServer();
  project = mkdtempSync(join(tmpdir(), 'moxxy-client-consumer-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  // A path install links the package and runs its `prepare`, which builds dist/ from the sources as they are now.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', CLIENT_DIR], { cwd: project, timeout: 170_000 });
}, 180_000);
afterAll(async () => {
  await server?.close();
  rmSync(project, { recursive: true, force: true });
});

describe('@moxxy/client installed in another project with `npm install <checkout>/clients/typescript`', () => {
  it('runs the README example with plain Node against a live server, a failed lookup included', async () => {
    const stdout = await runModule(readmeExample(server.url), project);
    expect(stdout).toContain('Stream this');
    expect(stdout).toMatch(/\ncompleted, \d+ tokens\n/);
    expect(stdout).toMatch(/^run\.completed /m);
    expect(stdout).toContain("404 { name: 'unknown' }");
  }, 90_000);

  it('brings its REST, tRPC and msw entry points with nothing from the server checkout but their dependencies', async () => {
    const stdout = await runModule(
      [
        "import { createMoxxyClient } from '@moxxy/client';",
        "import { createMoxxyTrpcClient } from '@moxxy/client/trpc';",
        "import { createMoxxyHandlers } from '@moxxy/client/testing';",
        `const agent = await createMoxxyTrpcClient({ url: ${JSON.stringify(server.url)} }).agents.get.query({ name: 'default' });`,
        `const offline = await createMoxxyClient({ baseUrl: 'http://127.0.0.1:9', retry: 0 }).agents.list().catch((error) => error);`,
        "// It reads its own copy of openapi.json: this throws when the package lacks it.",
        "const handlers = createMoxxyHandlers({ baseUrl: 'http://moxxy.test', resolvers: {} });",
        'console.log(JSON.stringify({ date: agent.created_at instanceof Date, offline: [offline.code, offline.status], handlers: Array.isArray(handlers) }));',
      ].join('\n'),
      project,
    );
    expect(JSON.parse(stdout)).toEqual({ date: true, offline: ['CONNECTION_ERROR', 0], handlers: true });
  }, 60_000);

  it('type-checks a consumer with its own tsconfig: generated REST types and the tRPC client typed by AppRouter', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'], types: [], strict: true, skipLibCheck: true, noEmit: true }, include: ['check.ts'] }),
    );
    writeFileSync(
      join(project, 'check.ts'),
      [
        "import { createMoxxyClient, isMoxxyApiError, type Schema } from '@moxxy/client';",
        "import { createMoxxyTrpcClient } from '@moxxy/client/trpc';",
        "const trpc = createMoxxyTrpcClient({ url: 'http://127.0.0.1:17890' });",
        "const agent = await trpc.agents.get.query({ name: 'default' });",
        'export const created: Date = agent.created_at;',
        '// @ts-expect-error superjson keeps created_at a Date, not a string',
        'export const asText: string = agent.created_at;',
        "const rest = createMoxxyClient({ baseUrl: 'http://127.0.0.1:17890' });",
        "export const viaRest: Schema<'Agent'> = await rest.agents.get({ name: 'default' });",
        '// @ts-expect-error the input is checked: name is required',
        'await rest.agents.get({});',
        "export const typedCode = (error: unknown) => isMoxxyApiError(error, 'CONNECTION_ERROR') && error.status === 0;",
      ].join('\n'),
    );
    const result = await run(process.execPath, [TSC, '-p', project], { cwd: project, timeout: 120_000 }).catch((error: { stdout?: string; code?: number }) => error);
    expect(result.stdout ?? '').toBe('');
  }, 150_000);
});

describe('@moxxy/client in this checkout', () => {
  it('is what `import ... from "@moxxy/client"` finds after `npm install` (a workspace), running the README example', async () => {
    const stdout = await runModule(readmeExample(server.url), ROOT);
    expect(stdout).toMatch(/\ncompleted, \d+ tokens\n/);
    expect(stdout).toContain("404 { name: 'unknown' }");
  }, 90_000);
});
