/**
 * What a build of the web console was made from, recorded in console/dist/build.json: every source file in the bundle
 * or in console/ (path -> SHA-256) and the version of every package bundled. A build is stale when any of them changed
 * or a file was added to console/; test/console.test.ts fails then, so a served console never lags its sources.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
export const CONSOLE_DIR = join(ROOT, 'console');
export const DIST_DIR = join(CONSOLE_DIR, 'dist');
export const BUILD_INFO_FILE = 'build.json';

export interface ConsoleBuildInfo {
  /** Repository-relative path -> SHA-256 of its content. */
  sources: Record<string, string>;
  /** Package name -> version, for every package with code in the bundle. */
  packages: Record<string, string>;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every file of console/ but the build and what only type-checks it. */
function consoleFiles(dir: string = CONSOLE_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === DIST_DIR || entry.name === 'node_modules' ? [] : consoleFiles(path);
    return entry.name === 'tsconfig.json' ? [] : [path];
  });
}

/** The package a file inside node_modules belongs to (`preact`, `@scope/name`), from its path. */
function packageOf(file: string): string | undefined {
  const parts = file.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at === -1) return undefined;
  const name = parts[at + 1];
  return name?.startsWith('@') ? `${name}/${parts[at + 2]}` : name;
}

const installedVersion = (name: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** What the bundle holds: `moduleIds` are the absolute paths Rollup bundled (virtual modules are left out). */
export function describeBuild(moduleIds: readonly string[]): ConsoleBuildInfo {
  const files = new Set(consoleFiles());
  const packages: Record<string, string> = {};
  for (const id of moduleIds) {
    const path = id.split('?')[0]!;
    if (!path.startsWith(ROOT) || !existsSync(path)) continue;
    const name = packageOf(path);
    if (name) packages[name] = installedVersion(name);
    else files.add(path);
  }
  const sources: Record<string, string> = {};
  for (const file of [...files].sort()) sources[relative(ROOT, file)] = sha256(file);
  return { sources, packages: Object.fromEntries(Object.entries(packages).sort()) };
}

/** Why the build in `dist` does not match the sources now, or [] when it does. */
export function staleness(dist: string = DIST_DIR): string[] {
  const infoFile = join(dist, BUILD_INFO_FILE);
  if (!existsSync(infoFile)) return [`${relative(ROOT, infoFile)} is missing: the console was never built`];
  const info = JSON.parse(readFileSync(infoFile, 'utf8')) as ConsoleBuildInfo;
  const reasons: string[] = [];
  for (const [path, hash] of Object.entries(info.sources)) {
    const file = join(ROOT, path);
    if (!existsSync(file)) reasons.push(`${path} was removed`);
    else if (sha256(file) !== hash) reasons.push(`${path} changed`);
  }
  for (const file of consoleFiles()) if (!(relative(ROOT, file) in info.sources)) reasons.push(`${relative(ROOT, file)} was added`);
  for (const [name, version] of Object.entries(info.packages)) {
    const now = existsSync(join(ROOT, 'node_modules', name, 'package.json')) ? installedVersion(name) : 'not installed';
    if (now !== version) reasons.push(`${name} is ${now}, the build has ${version}`);
  }
  return reasons;
}
