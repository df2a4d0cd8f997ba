/**
 * Builds the server into dist/server: src/cli/main.ts and everything it imports from src/ bundled by esbuild into one
 * CommonJS file, dist/server/moxxy.cjs (with the packages it uses, but for a few that must stay in node_modules; what
 * the code loads with import() is evaluated on first use), V8's code cache for it (dist/server/moxxy.cjs.cache, made by
 * starting the built server once: scripts/server-build-run.cjs), and dist/server/build.json recording the sources it
 * was made from (scripts/server-build-info.cjs).
 * `npm install` runs it (the prepare script); `npm run build:server` by hand. Without it, or with sources edited
 * since, bin/moxxy.cjs runs the TypeScript sources through tsx instead.
 *
 * Source files find their neighbours (migrations, package.json, the console's build) relative to their own
 * `import.meta.url`, so in the bundle each file's `import.meta.url` becomes the URL of its source file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { StandaloneSerializer } from '@fastify/fast-json-stringify-compiler';
import { build } from 'esbuild';
import { BUILD_DIR, BUILD_INFO_FILE, CODE_CACHE_FILE, describeSources, ROOT, SRC_DIR } from './server-build-info.cjs';

const RUN_BUILD = join(ROOT, 'scripts', 'server-build-run.cjs');

/** `import.meta.url` outside a string literal (src/config/read-file.ts names it in one, for config files). */
const IMPORT_META_URL = /(?<!['"`])\bimport\.meta\.url\b/g;

const sourceUrlOf = {
  name: 'source-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(SRC_DIR + sep)) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
      // The bundle sits in dist/server/, two levels below the root, as its source sits below src/'s parent.
      const fromBuild = relative(BUILD_DIR, args.path).split(sep).join('/');
      const url = `new URL(${JSON.stringify(fromBuild)}, require('node:url').pathToFileURL(__filename)).href`;
      return { contents: text.replace(IMPORT_META_URL, url), loader: 'ts' };
    });
  },
};

/**
 * Less source for node to read at every start (the bundle is read whole, and read time grows with it):
 * - zod's error messages in English only: `z.locales` is a namespace of some fifty languages, which keeps all of them
 *   in a bundle; zod itself configures English (zod/v4/classic/external.js imports locales/en.js directly), and the
 *   server sets no other.
 * - undici (used by the SSRF guard for its pinned connections, on the first outbound request) in a file of its own,
 *   required on first use rather than read with every start.
 */
const leaner = {
  name: 'leaner-bundle',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";',
      loader: 'js',
      resolveDir: join(ROOT, 'node_modules', 'zod', 'v4', 'locales'),
    }));
    builder.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', namespace: 'moxxy-undici' }));
    builder.onLoad({ filter: /.*/, namespace: 'moxxy-undici' }, () => ({
      contents: `module.exports = require(require('node:path').join(__dirname, ${JSON.stringify(UNDICI_FILE)}));`,
      loader: 'js',
    }));
  },
};
const UNDICI_FILE = 'undici.cjs';

/**
 * Less work for node at every start:
 * - Modules a package loads at start but uses only in cases this server rarely or never meets, loaded on first use
 *   instead, through a stand-in: fastify's server module loads node:https and node:http2 (with node:tls, ~20 ms) to
 *   make https or http2 servers, and its plugin checks load semver (~10 ms of regular expressions) for plugins that
 *   declare the fastify versions they need.
 * - libSQL's binding (the `libsql` package) is bundled but for its native code, and finds its native package without
 *   asking for a whole diagnostic report: @neon-rs/load tells glibc from musl with process.report.getReport() (~8 ms);
 *   here detect-libc does, as libsql itself does a few lines later (it reads /usr/bin/ldd).
 * - fastify's router (find-my-way) generates a function with `new Function` for every static node's prefix (again at
 *   each split) and for every route's parameters, as routes are added: V8 compiles each (~10 ms for this server's
 *   routes), and no code cache holds them. Only some are ever called (the prefix matchers by later insertions alone:
 *   fastify routes requests through whole route trees compiled into one function each), so here each is generated
 *   on its first call. The build fails if find-my-way's text changed.
 */
const FIND_MY_WAY_ON_FIRST_CALL = [
  {
    file: join('node_modules', 'find-my-way', 'lib', 'node.js'),
    edits: [
      ['function compilePrefixMatch (prefix) {', 'function compilePrefixMatchOnFirstCall (node, prefix) {\n  return function matchPrefix (path, i) {\n    node.matchPrefix = compilePrefixMatch(prefix)\n    return node.matchPrefix(path, i)\n  }\n}\n\nfunction compilePrefixMatch (prefix) {'],
      ['this.matchPrefix = kind === NODE_TYPES.STATIC ? compilePrefixMatch(prefix) : null', 'this.matchPrefix = kind === NODE_TYPES.STATIC ? compilePrefixMatchOnFirstCall(this, prefix) : null'],
      ['this.matchPrefix = compilePrefixMatch(childPrefix)', 'this.matchPrefix = compilePrefixMatchOnFirstCall(this, childPrefix)'],
    ],
  },
  {
    file: join('node_modules', 'find-my-way', 'lib', 'handler-storage.js'),
    edits: [
      [
        '      _createParamsObject: this._compileCreateParamsObject(params)\n    }\n',
        '      _createParamsObject: null\n    }\n    handlerObject._createParamsObject = (...values) => {\n      handlerObject._createParamsObject = this._compileCreateParamsObject(params)\n      return handlerObject._createParamsObject(...values)\n    }\n',
      ],
    ],
  },
];
const ON_FIRST_USE = [
  { importer: join('node_modules', 'fastify', 'lib', 'server.js'), specifiers: /^(node:)?(https|http2)$/ },
  { importer: join('node_modules', 'fastify', 'lib', 'plugin-utils.js'), specifiers: /^semver$/ },
];
const quickerStart = {
  name: 'quicker-start',
  setup(builder) {
    builder.onResolve({ filter: new RegExp(ON_FIRST_USE.map(({ specifiers }) => specifiers.source).join('|')) }, (args) => {
      if (!ON_FIRST_USE.some(({ importer, specifiers }) => args.importer.endsWith(importer) && specifiers.test(args.path))) return undefined;
      return { path: args.path, namespace: 'moxxy-on-first-use', pluginData: { resolveDir: args.resolveDir } };
    });
    builder.onLoad({ filter: /.*/, namespace: 'moxxy-on-first-use' }, (args) => ({
      contents: `let loaded; const load = () => (loaded ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });`,
      loader: 'js',
      resolveDir: args.pluginData.resolveDir,
    }));
    for (const { file, edits } of FIND_MY_WAY_ON_FIRST_CALL) {
      builder.onLoad({ filter: new RegExp(`${file.replaceAll(sep, '[\\\\/]').replaceAll('.', '\\.')}$`) }, async (args) => {
        let text = await readFile(args.path, 'utf8');
        for (const [from, to] of edits) {
          if (text.split(from).length !== 2) throw new Error(`build-server: ${file} no longer holds "${from.split('\n')[0]}" once; see FIND_MY_WAY_ON_FIRST_CALL`);
          text = text.replace(from, to);
        }
        return { contents: text, loader: 'js' };
      });
    }
    builder.onResolve({ filter: /^@neon-rs\/load$/ }, (args) =>
      args.importer.endsWith(join('node_modules', 'libsql', 'index.js')) ? { path: '@neon-rs/load', namespace: 'moxxy-libsql-target', pluginData: { resolveDir: args.resolveDir } } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'moxxy-libsql-target' }, (args) => ({
      contents: `const neon = require('@neon-rs/load');
const { familySync, GLIBC } = require('detect-libc');
exports.load = neon.load;
exports.currentTarget = () =>
  process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')
    ? \`linux-\${process.arch}-\${familySync() === GLIBC ? 'gnu' : 'musl'}\`
    : neon.currentTarget();`,
      loader: 'js',
      resolveDir: args.pluginData.resolveDir,
    }));
  },
};

/** fastify's schema compilers: src/http/schema-compilers.ts requires them from dist/server/schema-compilers.cjs. */
const SCHEMA_COMPILERS = ['@fastify/fast-json-stringify-compiler', '@fastify/ajv-compiler'];

/**
 * The two files scripts/server-build-run.cjs compiles itself (the bundle, the schema compilers) are written as node
 * wraps a CommonJS module, so that it compiles their text as read, without making a wrapped copy of it.
 */
const AS_MODULE_FUNCTION = { banner: { js: '(function (exports, require, module, __filename, __dirname) { ' }, footer: { js: '\n});' } };

const before = describeSources();
await rm(BUILD_DIR, { recursive: true, force: true });
const started = performance.now();
const result = await build({
  entryPoints: { moxxy: join(ROOT, 'src', 'cli', 'main.ts') },
  outdir: BUILD_DIR,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  // CommonJS, not ES modules: node 20 has a code cache only for scripts (scripts/server-build-run.cjs). What the
  // sources import() stays unevaluated until first used, as esbuild wraps such modules in functions.
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  // Packages are bundled too: loading them from node_modules file by file (resolution, package.json reads, a
  // compile per file, the CommonJS loader) was most of the start's CPU. These stay outside: native code (libSQL's
  // @libsql/<platform> packages), binaries (esbuild), the TypeScript loader, and swagger-ui-dist, whose
  // assets are read beside its code. (pino is bundled: the server uses no pino transport, whose workers are files.)
  // fastify's schema compilers are not in it either: the server loads them on first use, from a bundle of their own
  // (below; src/http/schema-compilers.ts).
  external: ['esbuild', 'tsx', 'tsx/*', 'swagger-ui-dist', ...SCHEMA_COMPILERS],
  sourcemap: 'linked',
  // Less for node to read and parse at every start; names are kept (no identifier renaming) for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  // The packages' licence comments go to moxxy.cjs.LEGAL.txt: one of them was the bundle's only non-ASCII text, which
  // made node hold all of its source as a two-byte string (twice the memory).
  legalComments: 'external',
  logLevel: 'warning',
  plugins: [sourceUrlOf, leaner, quickerStart],
  ...AS_MODULE_FUNCTION,
  metafile: true,
});
/** The files the server requires beside the bundle on first use: one CommonJS file each. */
const besideTheBundle = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'external',
  logLevel: 'warning',
};
// The compilers (with ajv and fast-json-stringify) in one CommonJS file: one file to read and compile on the first
// response instead of some sixty from node_modules.
await build({
  ...besideTheBundle,
  stdin: {
    contents: "module.exports = { serializers: require('@fastify/fast-json-stringify-compiler'), validators: require('@fastify/ajv-compiler') };",
    resolveDir: ROOT,
    loader: 'js',
  },
  outfile: join(BUILD_DIR, 'schema-compilers.cjs'),
  ...AS_MODULE_FUNCTION,
});
await build({ ...besideTheBundle, entryPoints: [join(ROOT, 'node_modules', 'undici', 'index.js')], outfile: join(BUILD_DIR, UNDICI_FILE) });
// scripts/server-build-run.cjs reads the files it compiles as Latin-1, which is their text only while they are ASCII
// (esbuild escapes what is not, but for comments: the licence comments are kept apart above).
for (const name of ['moxxy.cjs', 'schema-compilers.cjs']) {
  const bytes = await readFile(join(BUILD_DIR, name));
  const at = bytes.findIndex((byte) => byte > 0x7f);
  if (at !== -1) throw new Error(`build-server: dist/server/${name} is not ASCII (byte ${at}); server-build-run.cjs reads it as Latin-1`);
}
// Whatever the bundle holds from outside src/ is recorded too, so editing it makes the build stale.
const outside = Object.keys(result.metafile.inputs)
  // (not the modules plugins made: `namespace:path`)
  .filter((input) => !/^[a-z-]+:/.test(input))
  .map((input) => join(ROOT, input))
  .filter((file) => !file.startsWith(SRC_DIR + sep) && !file.split(sep).includes('node_modules'))
  // The packages' code is in the bundle: installing other versions makes the build stale.
  .concat(join(ROOT, 'package-lock.json'));
// The OpenAPI document, as the bundle itself renders it: the compiled server serves it (and builds its response
// serializers from it) without generating it at every start (src/http/openapi-document.ts).
const rendered = spawnSync(process.execPath, [RUN_BUILD, 'openapi'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (rendered.status !== 0) {
  process.stderr.write(`build-server: the bundle cannot render openapi.json, so it is not used:\n${rendered.stderr}`);
  process.exit(0);
}
await writeFile(join(BUILD_DIR, 'openapi.json'), rendered.stdout);
// Each REST success schema as its serializer compiles it: a small file the server reads at start, not the document.
const responses = spawnSync(process.execPath, [RUN_BUILD, 'openapi', '--response-schemas'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (responses.status !== 0) {
  process.stderr.write(`build-server: the bundle cannot render its response schemas, so it is not used:\n${responses.stderr}`);
  process.exit(0);
}
await writeFile(join(BUILD_DIR, 'response-schemas.json'), responses.stdout);
await writeSerializers(JSON.parse(responses.stdout));
await makeCodeCache();
// Sources edited while the build ran would make a build that matches neither version: record nothing then.
if (JSON.stringify(describeSources()) !== JSON.stringify(before)) {
  // Not a failure of `npm install`: bin/moxxy.cjs runs the sources until the next build.
  process.stderr.write('build-server: sources changed during the build, so it is not used; run npm run build:server again\n');
  process.exit(0);
}
await writeFile(BUILD_INFO_FILE, `${JSON.stringify(describeSources(outside), null, 2)}\n`);
process.stdout.write(`server built into ${relative(ROOT, BUILD_DIR)} in ${Math.round(performance.now() - started)} ms\n`);

/**
 * V8's code cache for the bundle: the built server started once (on a database of its own, in a directory of its
 * own) and asked a few things, then left to write the cache a second after it listens (src/cli/main.ts). Without it
 * the build still works; the first `moxxy serve` writes the cache instead.
 */
async function makeCodeCache() {
  const home = mkdtempSync(join(tmpdir(), 'moxxy-build-'));
  const port = await freePort();
  const child = spawn(process.execPath, [RUN_BUILD, 'serve'], {
    cwd: home,
    // Nothing from the caller's environment (NODE_OPTIONS would make a cache plain starts reject; MOXXY_* a server
    // that is not the default one).
    env: { PATH: process.env.PATH ?? '', HOME: home, MOXXY_HOME: home, PORT: String(port), MOXXY_LOG_LEVEL: 'error' },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 30_000;
    while (!(await fetch(`${base}/api/health`).then((r) => r.ok, () => false))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the built server did not start');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // What most clients do first: the REST read and the typed client's read; and a list of runs, whose serializer
    // (one of the few the build does not make: it checks alternatives with ajv) loads the schema compilers' file.
    await fetch(`${base}/api/agents`);
    await fetch(`${base}/trpc/agents.list`);
    await fetch(`${base}/api/agents/default/runs`);
    while (!existsSync(CODE_CACHE_FILE)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the built server wrote no code cache');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    process.stderr.write(`build-server: no code cache (${error.message}); the first \`moxxy serve\` writes it\n`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Each REST success's serializer as fastify's own compiler would make it on the route's first response, made here
 * instead: fast-json-stringify's standalone code (through @fastify/fast-json-stringify-compiler's StandaloneSerializer,
 * with the options the server's compiler passes), one small file per operation in dist/server/serializers/ that
 * src/http/schema-compilers.ts requires on first use, sharing fast-json-stringify's runtime (runtime.cjs). The few
 * that check data with ajv while serializing (alternatives between objects) are left to be compiled on first use.
 */
async function writeSerializers(schemaTexts) {
  const dir = join(BUILD_DIR, 'serializers');
  await mkdir(dir);
  const RUNTIME = "require('fast-json-stringify/lib/serializer')";
  const generated = new Map();
  const compile = StandaloneSerializer({ readMode: false, storeFunction: (route, code) => generated.set(route.key, code) })({});
  for (const [key, text] of Object.entries(schemaTexts)) compile({ key, schema: JSON.parse(text) });
  /** key (`${operationId} ${status}`) -> file */
  const index = {};
  for (const [key, code] of generated) {
    if (code.includes('fast-json-stringify/lib/validator') || !code.includes(RUNTIME)) continue;
    index[key] = `${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.cjs`;
    await writeFile(join(dir, index[key]), code.replace(RUNTIME, "require('./runtime.cjs')"));
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  await build({ ...besideTheBundle, entryPoints: [join(ROOT, 'node_modules', 'fast-json-stringify', 'lib', 'serializer.js')], outfile: join(dir, 'runtime.cjs') });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
