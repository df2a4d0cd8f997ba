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
 * `node scripts/server-build-run.mjs <moxxy arguments>` runs the build whatever its staleness (scripts/build-server.mjs
 * uses it before the build is recorded); bin/moxxy.mjs runs it only while it matches the sources.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';
import { BUILD_DIR, BUILD_ENTRY } from './server-build-info.mjs';

/** Where the server finds the hook that writes a missing or rejected cache (src/cli/main.ts, once it listens). */
const CODE_CACHE_HOOK = Symbol.for('moxxy.codeCache');
/** Where the bundle finds requireBuilt (src/http/schema-compilers.ts: fastify's schema compilers, on first use). */
const REQUIRE_BUILT = Symbol.for('moxxy.requireBuilt');

/** A CommonJS file compiled, with its code cache (`<file>.cache`) when there is one, and what V8 made of the cache. */
export function compileCached(file) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    cachedData = undefined;
  }
  // The build's files are ASCII (scripts/build-server.mjs checks), so read as Latin-1 they are the same text, without
  // node's UTF-8 decoding (~18 ms for the bundle).
  const script = new vm.Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file, cachedData });
  return { file, script, cache: cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted' };
}

/** The bundle compiled with its code cache. */
export function compileBuild() {
  return compileCached(BUILD_ENTRY);
}

/** Runs a compiled CommonJS file as node would, and returns its exports. */
function evaluate({ file, script }) {
  const wrapper = script.runInThisContext();
  const module = { exports: {}, id: file, filename: file, loaded: false };
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  return module.exports;
}

export function runBuild() {
  // Tells the bundle where its build lies (the OpenAPI document made with it).
  globalThis[Symbol.for('moxxy.serverBuild')] = BUILD_DIR;
  // A vm script's import() has no loader (but behind an experimental option, which code read from the cache loses):
  // the bundle imports what stays outside it (esbuild, configuration files: src/config/read-file.ts) through this.
  globalThis[Symbol.for('moxxy.import')] = (specifier) => import(specifier);
  /** Every file compiled here, for the hook. */
  const compiled = [compileBuild()];
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
  // Start-up leaves much short-lived garbage (module code, schemas): at V8's default growth factor the young
  // generation grows to hold it and keeps that memory, ~10 MB, while the server idles. `moxxy serve` restores the
  // default once it listens (src/cli/main.ts), so a busy server's young generation grows as before.
  setFlagsFromString('--semi-space-growth-factor=1');
  evaluate(compiled[0]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runBuild();
