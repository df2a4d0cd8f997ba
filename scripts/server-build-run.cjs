/**
 * Runs the compiled server (dist/server/moxxy.cjs, made by scripts/build-server.mjs) with V8's code cache.
 *
 * Node 20 gives ES modules no code cache, and parsing and compiling the bundle was a sixth of the server's start, so
 * the bundle is one CommonJS file compiled here as a vm.Script with `cachedData`: dist/server/moxxy.cjs.cache holds
 * the bytecode of every function the server ran while starting and answering its first requests, which V8 then reads
 * instead of compiling. The build makes that cache (it starts the server once); a cache V8 rejects (another Node,
 * other V8 flags) or lacks is written again by the next `moxxy serve`, a second after it listens, when it can write
 * there. V8 checks the cache against the source and its own version and flags, so a wrong cache only costs the
 * compile it would have saved.
 *
 * `node scripts/server-build-run.cjs <moxxy arguments>` runs the build whatever its staleness (scripts/build-server.mjs
 * uses it before the build is recorded); bin/moxxy.cjs runs it only while it matches the sources.
 */
'use strict';
const { closeSync, fstatSync, openSync, read, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');
const { BUILD_DIR, BUILD_ENTRY } = require('./server-build-info.cjs');
const { lowerForStart } = require('./v8-start.cjs');

/** Where the server finds the hook that writes a missing or rejected cache (src/cli/main.ts, once it listens). */
const CODE_CACHE_HOOK = Symbol.for('moxxy.codeCache');
/** Where the bundle finds requireBuilt (src/http/schema-compilers.ts: fastify's schema compilers, on first use). */
const REQUIRE_BUILT = Symbol.for('moxxy.requireBuilt');

/** A file's bytes, and its code cache's (`<file>.cache`, undefined when there is none). */
function readCompiled(file) {
  let cache;
  try {
    cache = readFileSync(`${file}.cache`);
  } catch {
    cache = undefined;
  }
  return { source: readFileSync(file), cache };
}

/**
 * readCompiled() for the server's bundle on libuv's threads, while bin/moxxy.cjs compares the build with the sources:
 * each file in one read, which needs nothing of the main thread until it is done (fs.readFile reads in chunks, each
 * asked for by the main thread).
 */
async function prefetchBuild() {
  const [source, cache] = await Promise.all([readWhole(BUILD_ENTRY), readWhole(`${BUILD_ENTRY}.cache`).catch(() => undefined)]);
  return { source, cache };
}

function readWhole(file) {
  return new Promise((resolve, reject) => {
    const fd = openSync(file, 'r');
    const buffer = Buffer.allocUnsafeSlow(fstatSync(fd).size);
    const readFrom = (offset) =>
      read(fd, buffer, offset, buffer.length - offset, offset, (error, bytes) => {
        if (!error && bytes > 0 && offset + bytes < buffer.length) return readFrom(offset + bytes);
        closeSync(fd);
        if (error || offset + bytes < buffer.length) reject(error ?? new Error(`${file} was cut short while read`));
        else resolve(buffer);
      });
    readFrom(0);
  });
}

/**
 * A file of the build compiled, with its code cache when there is one, and what V8 made of the cache. The build wrote
 * the file as node wraps a CommonJS module, `(function (exports, require, module, __filename, __dirname) { ... })`
 * (scripts/build-server.mjs), so its text is compiled as it is read: wrapping it here made V8 copy the bundle into
 * one more string. It is ASCII (the build checks), so read as Latin-1 it is the same text without node's UTF-8
 * decoding (~18 ms for the bundle).
 */
function compileCached(file, { source, cache } = readCompiled(file)) {
  const script = new vm.Script(source.latin1Slice(), { filename: file, cachedData: cache });
  return { file, script, cache: cache === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted' };
}

/** The bundle compiled with its code cache (read here, unless read already). */
function compileBuild(read = undefined) {
  return compileCached(BUILD_ENTRY, read);
}

/** Runs a compiled file of the build as node would run a CommonJS module, and returns its exports. */
function evaluate({ file, script }) {
  const wrapper = script.runInThisContext();
  const module = { exports: {}, id: file, filename: file, loaded: false };
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  return module.exports;
}

/** Runs the server's bundle; `read` is prefetchBuild()'s result, when bin/moxxy.cjs has it. */
function runBuild(read = undefined) {
  // Tells the bundle where its build lies (the OpenAPI document made with it).
  globalThis[Symbol.for('moxxy.serverBuild')] = BUILD_DIR;
  // A vm script's import() has no loader (but behind an experimental option, which code read from the cache loses):
  // the bundle imports what stays outside it (esbuild, configuration files: src/config/read-file.ts) through this.
  globalThis[Symbol.for('moxxy.import')] = (specifier) => import(specifier);
  /** Every file compiled here, for the hook. */
  const compiled = [compileBuild(read)];
  const required = new Map();
  // The other files of the build the server requires (once each), with code caches of their own.
  globalThis[REQUIRE_BUILT] = (name) => {
    if (!required.has(name)) {
      const file = compileCached(join(BUILD_DIR, name));
      compiled.push(file);
      required.set(name, evaluate(file));
    }
    return required.get(name);
  };
  // A cache made with node flags (--inspect, --cpu-prof, ...) would be rejected by every plain start: only a plain
  // node writes one. (Flags V8 is given at run time, as the one below, do not count.)
  const plain = process.execArgv.length === 0 && !process.env.NODE_OPTIONS;
  if (plain) {
    globalThis[CODE_CACHE_HOOK] = () => {
      // The bundle's own cache last: the build waits for it (scripts/build-server.mjs).
      for (const { file, script, cache } of compiled.slice(1).concat(compiled[0])) {
        if (cache === 'accepted') continue;
        try {
          const temporary = `${file}.cache.${process.pid}`;
          writeFileSync(temporary, script.createCachedData());
          renameSync(temporary, `${file}.cache`);
        } catch {
          // An installation the server cannot write to: it starts without the cache, as before it had one.
        }
      }
    };
  }
  // After the compile, which checks the code cache against V8's flags: settings for the start, undone once it is over.
  lowerForStart();
  evaluate(compiled[0]);
}

module.exports = { prefetchBuild, compileCached, compileBuild, runBuild };

if (require.main === module) runBuild();
