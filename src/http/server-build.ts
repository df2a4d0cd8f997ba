/**
 * What the compiled server's loader (scripts/server-build-run.cjs) hands the bundle: the build's directory, with the
 * files made beside the bundle (the OpenAPI document, the response schemas, the serializers), requireBuilt for the
 * files it compiles with code caches of their own, and the hook that writes a missing code cache. Without a build
 * (the sources through tsx, the tests) there is none of these, and each caller makes what it needs itself. Both
 * launchers (bin/moxxy.cjs for the sources too) hand over the end of the start's V8 settings (scripts/v8-start.cjs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const loaderGlobals = globalThis as { [key: symbol]: unknown };

/** The compiled server's build directory (dist/server), or undefined when the sources run. */
export function serverBuildDir(): string | undefined {
  const dir = loaderGlobals[Symbol.for('moxxy.serverBuild')];
  return typeof dir === 'string' ? dir : undefined;
}

/** A JSON file of the build, parsed; undefined without a build, or without the file. */
export function readBuildJson<T>(...path: string[]): T | undefined {
  const dir = serverBuildDir();
  if (dir === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(join(dir, ...path), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A CommonJS file of the build compiled with its code cache and run (once), or undefined without a build. */
export function requireBuilt(name: string): unknown {
  const require = loaderGlobals[Symbol.for('moxxy.requireBuilt')];
  return typeof require === 'function' ? (require as (name: string) => unknown)(name) : undefined;
}

/** The hook that writes the build's code cache when V8 had none it accepted; undefined otherwise, or without a build. */
export function codeCacheWriter(): (() => void) | undefined {
  const write = loaderGlobals[Symbol.for('moxxy.codeCache')];
  return typeof write === 'function' ? (write as () => void) : undefined;
}

/** V8's defaults again, after the settings the launcher gave the start; once, and only when it gave any. */
export function startupOver(): void {
  const over = loaderGlobals[Symbol.for('moxxy.startupOver')];
  if (typeof over === 'function') over();
}
