/**
 * The compiled server (dist/server, made by `npm install`): the tests spawn bin/moxxy.cjs, which runs it while it
 * matches the sources, so this file checks that it does match, and that V8 takes its code cache from a plain node
 * (a rejected cache costs every start the compile it was made to save).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer } from './helpers/process.ts';

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
      const { staleness, BUILD_DIR } = await import('./scripts/server-build-info.cjs');
      const { compileBuild, compileCached } = await import('./scripts/server-build-run.cjs');
      const compilers = compileCached(BUILD_DIR + '/schema-compilers.cjs').cache;
      console.log(JSON.stringify({ stale: staleness(), cache: compileBuild().cache, compilers }));
    `);
    // The schema compilers' file, which the first answer whose serializer the build did not make loads, has a cache of its own.
    expect(report).toEqual({ stale: [], cache: 'accepted', compilers: 'accepted' });
  });

  it("starts with V8 settings of its own, gives V8 its defaults back once it listens (another command: before it acts), and leaves a user's flag as given", async () => {
    const home = mkdtempSync(join(tmpdir(), 'moxxy-v8-flags-'));
    try {
      // Records each flag the process gives V8 (a preload, as a user's NODE_OPTIONS would load one).
      const recorder = join(home, 'record-flags.cjs');
      writeFileSync(
        recorder,
        `const v8 = require('node:v8'); const set = v8.setFlagsFromString;
         v8.setFlagsFromString = (flags) => { require('node:fs').appendFileSync(process.env.FLAG_LOG, flags + '\\n'); set(flags); };`,
      );
      const flagsOf = async (name: string, run: (env: Record<string, string>) => Promise<unknown>, nodeOptions = '') => {
        const log = join(home, `${name}.log`);
        await run({ MOXXY_HOME: home, FLAG_LOG: log, NODE_OPTIONS: `--require ${recorder} ${nodeOptions}` });
        return readFileSync(log, 'utf8').trim().split('\n');
      };
      const started = ['--semi-space-growth-factor=1', '--no-opt'];
      const over = ['--semi-space-growth-factor=2', '--opt'];

      let server: Awaited<ReturnType<typeof spawnServer>> | undefined;
      // Read once `serve` says it listens: the defaults are back by then.
      const served = await flagsOf('serve', async (env) => (server = await spawnServer(env)));
      expect(served).toEqual([...started, ...over]);
      const health = await fetch(`${server!.url}/api/health`);
      expect(health.status).toBe(200);
      await server!.stop();

      const cli = await flagsOf('tokens-list', async (env) => expect((await runCli(['tokens', 'list'], env)).code).toBe(0));
      expect(cli).toEqual([...started, ...over]);

      const jitless = await flagsOf('jitless', async (env) => (server = await spawnServer(env)), '--jitless');
      expect(jitless).toEqual(['--semi-space-growth-factor=1', '--semi-space-growth-factor=2']);
      await server!.stop();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('has beside it the packages it requires on first use (undici, for the SSRF guard), loadable', () => {
    const report = inPlainNode(`
      import { createRequire } from 'node:module';
      const { BUILD_ENTRY } = await import('./scripts/server-build-info.cjs');
      const { readFileSync } = await import('node:fs');
      const bundle = readFileSync(BUILD_ENTRY, 'utf8');
      const files = [...bundle.matchAll(/join\\(__dirname,"([^"]+)"\\)/g)].map((m) => m[1]);
      const require = createRequire(BUILD_ENTRY);
      console.log(JSON.stringify(files.map((file) => [file, typeof require('./' + file).Agent])));
    `);
    expect(report).toEqual([['undici.cjs', 'function']]);
  });

  it('is stale once a source is added (in a new directory too), edited or removed, and not when only touched', async () => {
    // A checkout of its own: scripts/server-build-info.cjs judges the tree it sits in.
    const root = mkdtempSync(join(tmpdir(), 'moxxy-staleness-'));
    try {
      mkdirSync(join(root, 'scripts'));
      mkdirSync(join(root, 'src', 'db'), { recursive: true });
      mkdirSync(join(root, 'dist', 'server'), { recursive: true });
      copyFileSync(fileURLToPath(new URL('scripts/server-build-info.cjs', ROOT)), join(root, 'scripts', 'server-build-info.cjs'));
      writeFileSync(join(root, 'scripts', 'build-server.mjs'), '// the build\n');
      writeFileSync(join(root, 'src', 'main.ts'), 'export const a = 1;\n');
      writeFileSync(join(root, 'src', 'db', 'client.ts'), 'export const b = 2;\n');
      writeFileSync(join(root, 'dist', 'server', 'moxxy.cjs'), '');
      const info = await import(pathToFileURL(join(root, 'scripts', 'server-build-info.cjs')).href);
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
      writeFileSync(join(root, 'src', 'main.ts'), 'export const a = 1;\n');
      writeFileSync(join(root, 'src', 'db', 'client.ts'), 'export const b = 2;\n');
      expect(info.staleness()).toEqual([]);

      // The build script likewise: touched is not stale, edited is.
      utimesSync(join(root, 'scripts', 'build-server.mjs'), later, later);
      expect(info.staleness()).toEqual([]);
      writeFileSync(join(root, 'scripts', 'build-server.mjs'), '// the build, edited\n');
      expect(info.staleness()).toEqual(['scripts/build-server.mjs changed']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("serializes as fastify's compiler would with the serializers it was built with, for every operation it made one for", () => {
    // A value of each schema's shape (every property, one item per array, the first of each choice), serialized by
    // the build's file and by the compiler the server uses without it.
    const report = inPlainNode(`
      import { readFileSync } from 'node:fs';
      import { createRequire } from 'node:module';
      const { BUILD_DIR } = await import('./scripts/server-build-info.cjs');
      const require = createRequire(BUILD_DIR + '/');
      const { SerializerSelector } = require('@fastify/fast-json-stringify-compiler');
      const texts = JSON.parse(readFileSync(BUILD_DIR + '/response-schemas.json', 'utf8'));
      const index = JSON.parse(readFileSync(BUILD_DIR + '/serializers/index.json', 'utf8'));
      const sample = (schema, defs, depth = 0) => {
        if (schema.$ref) return sample(defs[decodeURIComponent(schema.$ref.slice('#/$defs/'.length))], defs, depth + 1);
        if (depth > 12) return null;
        const choice = schema.anyOf ?? schema.oneOf;
        if (choice) return sample(choice[0], defs, depth + 1);
        if ('const' in schema) return schema.const;
        if (schema.enum) return schema.enum[0];
        const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
        if (type === 'object' || schema.properties) {
          const value = {};
          for (const [key, property] of Object.entries(schema.properties ?? {})) value[key] = sample(property, defs, depth + 1);
          return value;
        }
        if (type === 'array') return schema.items ? [sample(schema.items, defs, depth + 1)] : [];
        if (type === 'string') return schema.format === 'date-time' ? '2026-12-07T12:00:00.000Z' : 'text "quoted" \\u00e9';
        if (type === 'integer') return 7;
        if (type === 'number') return 1.5;
        if (type === 'boolean') return true;
        if (type === 'null') return null;
        return { any: [1, 'two'] };
      };
      const compile = SerializerSelector()({}, undefined);
      const results = Object.entries(index).map(([key, file]) => {
        const schema = JSON.parse(texts[key]);
        const value = sample(schema, schema.$defs ?? {});
        const built = require('./serializers/' + file)(value);
        return { key, same: built === compile({ schema })(value), bytes: built.length };
      });
      console.log(JSON.stringify({ count: results.length, operations: Object.keys(texts).length, differing: results.filter((r) => !r.same).map((r) => r.key), empty: results.filter((r) => r.bytes < 2).map((r) => r.key) }));
    `) as { count: number; operations: number; differing: string[]; empty: string[] };
    expect(report.differing).toEqual([]);
    expect(report.empty).toEqual([]);
    // Most operations are served by a built serializer; the rest (ajv checks while serializing) compile on first use.
    expect(report.count).toBeGreaterThan(report.operations * 0.8);
  });
});
