/**
 * The compiled server (dist/server, made by `npm install`): the tests spawn bin/moxxy.mjs, which runs it while it
 * matches the sources, so this file checks that it does match, and that V8 takes its code cache from a plain node
 * (a rejected cache costs every start the compile it was made to save).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url);

function inPlainNode(code: string): unknown {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

describe('the compiled server', () => {
  it('matches the sources, and a plain node accepts its code cache', () => {
    const report = inPlainNode(`
      const { staleness, BUILD_DIR } = await import('./scripts/server-build-info.mjs');
      const { compileBuild, compileCached } = await import('./scripts/server-build-run.mjs');
      const compilers = compileCached(BUILD_DIR + '/schema-compilers.cjs').cache;
      console.log(JSON.stringify({ stale: staleness(), cache: compileBuild().cache, compilers }));
    `);
    // The schema compilers' file, which the first REST answer loads, has a cache of its own.
    expect(report).toEqual({ stale: [], cache: 'accepted', compilers: 'accepted' });
  });

  it('has beside it the packages it requires on first use (undici, for the SSRF guard), loadable', () => {
    const report = inPlainNode(`
      import { createRequire } from 'node:module';
      const { BUILD_ENTRY } = await import('./scripts/server-build-info.mjs');
      const { readFileSync } = await import('node:fs');
      const bundle = readFileSync(BUILD_ENTRY, 'utf8');
      const files = [...bundle.matchAll(/join\\(__dirname,"([^"]+)"\\)/g)].map((m) => m[1]);
      const require = createRequire(BUILD_ENTRY);
      console.log(JSON.stringify(files.map((file) => [file, typeof require('./' + file).Agent])));
    `);
    expect(report).toEqual([['undici.cjs', 'function']]);
  });

  it('is stale once a source is added (in a new directory too), edited or removed, and not when only touched', async () => {
    // A checkout of its own: scripts/server-build-info.mjs judges the tree it sits in.
    const root = mkdtempSync(join(tmpdir(), 'moxxy-staleness-'));
    try {
      mkdirSync(join(root, 'scripts'));
      mkdirSync(join(root, 'src', 'db'), { recursive: true });
      mkdirSync(join(root, 'dist', 'server'), { recursive: true });
      copyFileSync(fileURLToPath(new URL('scripts/server-build-info.mjs', ROOT)), join(root, 'scripts', 'server-build-info.mjs'));
      writeFileSync(join(root, 'scripts', 'build-server.mjs'), '// the build\n');
      writeFileSync(join(root, 'src', 'main.ts'), 'export const a = 1;\n');
      writeFileSync(join(root, 'src', 'db', 'client.ts'), 'export const b = 2;\n');
      writeFileSync(join(root, 'dist', 'server', 'moxxy.cjs'), '');
      const info = await import(pathToFileURL(join(root, 'scripts', 'server-build-info.mjs')).href);
      writeFileSync(info.BUILD_INFO_FILE, JSON.stringify(info.describeSources()));
      expect(info.staleness()).toEqual([]);

      writeFileSync(join(root, 'src', 'db', 'pool.ts'), 'export const c = 3;\n');
      expect(info.staleness()).toEqual(['src/db/pool.ts was added']);
      rmSync(join(root, 'src', 'db', 'pool.ts'));
      mkdirSync(join(root, 'src', 'cli'));
      writeFileSync(join(root, 'src', 'cli', 'run.ts'), '');
      expect(info.staleness()).toEqual(['src/cli/run.ts was added']);
      rmSync(join(root, 'src', 'cli'), { recursive: true });

      // Touched (a new mtime) but the same text: not stale, as the hash decides.
      const later = new Date(Date.now() + 60_000);
      utimesSync(join(root, 'src', 'main.ts'), later, later);
      expect(info.staleness()).toEqual([]);
      writeFileSync(join(root, 'src', 'main.ts'), 'export const a = 10;\n');
      expect(info.staleness()).toEqual(['src/main.ts changed']);
      rmSync(join(root, 'src', 'db', 'client.ts'));
      expect(info.staleness()).toEqual(['src/db/client.ts was removed', 'src/main.ts changed']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
