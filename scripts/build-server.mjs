/**
 * Builds the server into dist/server: src/cli/main.ts and everything it imports from src/ bundled by esbuild into ES
 * modules (with the packages it uses, but for a few that must stay in node_modules; what the code loads with import()
 * stays in chunks of its own, loaded on first use), and dist/server/build.json recording the sources it was made from
 * (scripts/server-build-info.mjs).
 * `npm install` runs it (the prepare script); `npm run build:server` by hand. Without it, or with sources edited
 * since, bin/moxxy.mjs runs the TypeScript sources through tsx instead.
 *
 * Source files find their neighbours (migrations, package.json, the console's build) relative to their own
 * `import.meta.url`, so in the bundle each file's `import.meta.url` stays the URL of its source file.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { build } from 'esbuild';
import { BUILD_DIR, BUILD_INFO_FILE, describeSources, ROOT, SRC_DIR } from './server-build-info.mjs';

/** `import.meta.url` outside a string literal (src/config/read-file.ts names it in one, for config files). */
const IMPORT_META_URL = /(?<!['"`])\bimport\.meta\.url\b/g;

const sourceUrlOf = {
  name: 'source-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(SRC_DIR + sep)) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
      // The chunk sits in dist/server/, two levels below the root, as its source sits below src/'s parent.
      const fromBuild = relative(BUILD_DIR, args.path).split(sep).join('/');
      return { contents: text.replace(IMPORT_META_URL, `new URL(${JSON.stringify(fromBuild)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

/** fastify's schema compilers: src/http/schema-compilers.ts requires them from dist/server/schema-compilers.cjs. */
const SCHEMA_COMPILERS = ['@fastify/fast-json-stringify-compiler', '@fastify/ajv-compiler'];

const before = describeSources();
await rm(BUILD_DIR, { recursive: true, force: true });
const started = performance.now();
const result = await build({
  entryPoints: { moxxy: join(ROOT, 'src', 'cli', 'main.ts') },
  outdir: BUILD_DIR,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // Packages are bundled too: loading them from node_modules file by file (resolution, package.json reads, a
  // compile per file, the CommonJS loader) was most of the start's CPU. These stay outside: native code (libSQL's
  // binding; its JavaScript client is bundled), binaries (esbuild), the TypeScript loader, and swagger-ui-dist, whose
  // assets are read beside its code. (pino is bundled: the server uses no pino transport, whose workers are files.)
  // fastify's schema compilers are not in it either: the server loads them on first use, from a bundle of their own
  // (below; src/http/schema-compilers.ts).
  external: ['libsql', 'esbuild', 'tsx', 'tsx/*', 'swagger-ui-dist', ...SCHEMA_COMPILERS],
  // Bundled CommonJS packages require node's built-ins (and the external packages) through this.
  banner: { js: "import { createRequire as __moxxyCreateRequire } from 'node:module'; const require = __moxxyCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  // Less for node to read and parse at every start; names are kept (no identifier renaming) for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  plugins: [sourceUrlOf],
  metafile: true,
});
// The compilers (with ajv and fast-json-stringify) in one CommonJS file: one file to read and compile on the first
// response instead of some sixty from node_modules.
await build({
  stdin: {
    contents: "module.exports = { serializers: require('@fastify/fast-json-stringify-compiler'), validators: require('@fastify/ajv-compiler') };",
    resolveDir: ROOT,
    loader: 'js',
  },
  outfile: join(BUILD_DIR, 'schema-compilers.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
// Whatever the bundle holds from outside src/ is recorded too, so editing it makes the build stale.
const outside = Object.keys(result.metafile.inputs)
  .map((input) => join(ROOT, input))
  .filter((file) => !file.startsWith(SRC_DIR + sep) && !file.split(sep).includes('node_modules'))
  // The packages' code is in the bundle: installing other versions makes the build stale.
  .concat(join(ROOT, 'package-lock.json'));
// The OpenAPI document, as the bundle itself renders it: the compiled server serves it (and builds its response
// serializers from it) without generating it at every start (src/http/openapi-document.ts).
const rendered = spawnSync(process.execPath, [join(BUILD_DIR, 'moxxy.mjs'), 'openapi'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (rendered.status !== 0) {
  process.stderr.write(`build-server: the bundle cannot render openapi.json, so it is not used:\n${rendered.stderr}`);
  process.exit(0);
}
await writeFile(join(BUILD_DIR, 'openapi.json'), rendered.stdout);
// Sources edited while the build ran would make a build that matches neither version: record nothing then.
if (JSON.stringify(describeSources()) !== JSON.stringify(before)) {
  // Not a failure of `npm install`: bin/moxxy.mjs runs the sources until the next build.
  process.stderr.write('build-server: sources changed during the build, so it is not used; run npm run build:server again\n');
  process.exit(0);
}
await writeFile(BUILD_INFO_FILE, `${JSON.stringify(describeSources(outside), null, 2)}\n`);
process.stdout.write(`server built into ${relative(ROOT, BUILD_DIR)} in ${Math.round(performance.now() - started)} ms\n`);
