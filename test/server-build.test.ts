/**
 * The compiled server (dist/server, made by `npm install`): the tests spawn bin/moxxy.mjs, which runs it while it
 * matches the sources, so this file checks that it does match, and that V8 takes its code cache from a plain node
 * (a rejected cache costs every start the compile it was made to save).
 */
import { spawnSync } from 'node:child_process';
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
});
