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
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';
import { BUILD_DIR, BUILD_ENTRY, CODE_CACHE_FILE } from './server-build-info.mjs';

/** Where the server finds the hook that writes a missing or rejected cache (src/cli/main.ts, once it listens). */
const CODE_CACHE_HOOK = Symbol.for('moxxy.codeCache');

/** The bundle compiled, with the code cache when there is one, and what V8 made of the cache. */
export function compileBuild() {
  let cachedData;
  try {
    cachedData = readFileSync(CODE_CACHE_FILE);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(readFileSync(BUILD_ENTRY, 'utf8')), { filename: BUILD_ENTRY, cachedData });
  return { script, cache: cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted' };
}

export function runBuild() {
  // Tells the bundle where its build lies (the OpenAPI document and schema compilers made with it).
  globalThis[Symbol.for('moxxy.serverBuild')] = BUILD_DIR;
  // A vm script's import() has no loader (but behind an experimental option, which code read from the cache loses):
  // the bundle imports what stays outside it (esbuild, configuration files: src/config/read-file.ts) through this.
  globalThis[Symbol.for('moxxy.import')] = (specifier) => import(specifier);
  const { script, cache } = compileBuild();
  // A cache made with node flags (--inspect, --cpu-prof, ...) would be rejected by every plain start: only a plain
  // node writes one.
  const plain = process.execArgv.length === 0 && !process.env.NODE_OPTIONS;
  if (cache !== 'accepted' && plain) {
    globalThis[CODE_CACHE_HOOK] = () => {
      try {
        const temporary = `${CODE_CACHE_FILE}.${process.pid}`;
        writeFileSync(temporary, script.createCachedData());
        renameSync(temporary, CODE_CACHE_FILE);
      } catch {
        // An installation the server cannot write to: it starts without the cache, as before it had one.
      }
    };
  }
  // Start-up leaves much short-lived garbage (module code, schemas): at V8's default growth factor the young
  // generation grows to hold it and keeps that memory, ~10 MB, while the server idles. `moxxy serve` restores the
  // default once it listens (src/cli/main.ts), so a busy server's young generation grows as before. Set after the
  // compile: V8 checks the cache against the flags in force, and the cache is written once the default is back.
  setFlagsFromString('--semi-space-growth-factor=1');
  const wrapper = script.runInThisContext();
  const module = { exports: {}, id: BUILD_ENTRY, filename: BUILD_ENTRY, loaded: false };
  wrapper.call(module.exports, module.exports, createRequire(BUILD_ENTRY), module, BUILD_ENTRY, dirname(BUILD_ENTRY));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runBuild();
