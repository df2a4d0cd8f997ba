/**
 * What a build of the server (dist/server, made by scripts/build-server.mjs) was made from: every file under src/
 * (path -> SHA-256) and the build script's own hash, recorded in dist/server/build.json. bin/moxxy.cjs runs the build
 * only while it matches the sources, so an edited tree (or a test) never runs stale code; otherwise the sources run
 * through tsx. Plain CommonJS, as bin/moxxy.cjs reads it before any TypeScript loader exists (and without starting
 * node's ES module loader, ~10 ms of every start).
 */
'use strict';
const { existsSync, readdirSync, readFileSync, statSync } = require('node:fs');
const { join, relative, sep } = require('node:path');

const ROOT = join(__dirname, '..') + sep;
const SRC_DIR = join(ROOT, 'src');
const BUILD_DIR = join(ROOT, 'dist', 'server');
const BUILD_INFO_FILE = join(BUILD_DIR, 'build.json');
/** The bundle: the `moxxy` command, one CommonJS file (scripts/server-build-run.cjs runs it). */
const BUILD_ENTRY = join(BUILD_DIR, 'moxxy.cjs');
/** V8's code cache for the bundle (scripts/server-build-run.cjs). */
const CODE_CACHE_FILE = `${BUILD_ENTRY}.cache`;
const BUILD_SCRIPT = join(ROOT, 'scripts', 'build-server.mjs');

// Only a file whose stamp moved is hashed: bin/moxxy.cjs then has no need of node:crypto (some twenty modules, ~6 ms).
const sha256 = (file) => require('node:crypto').createHash('sha256').update(readFileSync(file)).digest('hex');
const toKey = (file) => relative(ROOT, file).split(sep).join('/');
// A recorded key's file: ROOT ends with a separator and keys are normalized relative paths, so path.join's
// normalizing (~15 µs a call while node's code is cold, ~3 ms for the ~200 keys of a start) has nothing to do.
const fileOf = (key) => ROOT + key;

/** Every file under src/, sorted; and every directory (src/ included) into `dirs` when given. */
function sourceFiles(dir = SRC_DIR, dirs = undefined) {
  dirs?.push(dir);
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name), dirs) : [join(dir, entry.name)]))
    .sort();
}

/**
 * What the sources are now: { sources: { 'src/x.ts': sha256, ... }, script: sha256 of the build script, scriptStamp, stamps:
 * { 'src/x.ts': [size, mtime], ... }, dirs: { 'src/db': mtime, ... } }. `extra` adds files from outside src/ that the
 * bundle holds (what esbuild read from outside src/, and package-lock.json: scripts/build-server.mjs). A file whose
 * size and mtime are still its stamp's is not hashed again at every start, and while no directory's mtime moved (it
 * does when an entry is added, removed or renamed) src/ is not walked again for added files (staleness).
 */
function describeSources(extra = []) {
  const sources = {};
  const stamps = {};
  const directories = [];
  for (const file of [...sourceFiles(SRC_DIR, directories), ...extra].sort()) {
    sources[toKey(file)] = sha256(file);
    stamps[toKey(file)] = stampOf(file);
  }
  const dirs = Object.fromEntries(directories.map((dir) => [toKey(dir), statSync(dir).mtimeMs]));
  return { sources, script: sha256(BUILD_SCRIPT), scriptStamp: stampOf(BUILD_SCRIPT), stamps, dirs };
}

function stampOf(file) {
  const { size, mtimeMs } = statSync(file);
  return [size, mtimeMs];
}

/** Same size and mtime as when it was built: unchanged, as make would judge it, without reading it. */
function unchanged(file, stamp, stat = statSync(file, { throwIfNoEntry: false })) {
  return Array.isArray(stamp) && stat !== undefined && stamp[0] === stat.size && stamp[1] === stat.mtimeMs;
}

/** Whether some directory under src/ gained or lost an entry since the build (or the build recorded none). */
function directoriesMoved(dirs) {
  const recorded = Object.entries(dirs ?? {});
  return recorded.length === 0 || recorded.some(([path, mtime]) => statSync(fileOf(path), { throwIfNoEntry: false })?.mtimeMs !== mtime);
}

/** Why the build in dist/server does not match the sources, or [] when it does. */
function staleness() {
  if (!existsSync(BUILD_INFO_FILE) || !existsSync(BUILD_ENTRY)) return ['dist/server was never built (npm run build:server)'];
  let info;
  try {
    info = JSON.parse(readFileSync(BUILD_INFO_FILE, 'utf8'));
  } catch {
    return ['dist/server/build.json cannot be read'];
  }
  const recorded = info.sources ?? {};
  const stamps = info.stamps ?? {};
  const reasons = [];
  if (!unchanged(BUILD_SCRIPT, info.scriptStamp) && info.script !== sha256(BUILD_SCRIPT)) reasons.push('scripts/build-server.mjs changed');
  for (const [path, hash] of Object.entries(recorded)) {
    const file = fileOf(path);
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) {
      reasons.push(`${path} was removed`);
      continue;
    }
    if (!unchanged(file, stamps[path], stat) && sha256(file) !== hash) reasons.push(`${path} changed`);
  }
  // A file added anywhere under src/ moved its directory's mtime (a new directory, its parent's).
  if (directoriesMoved(info.dirs)) {
    for (const file of sourceFiles()) if (!(toKey(file) in recorded)) reasons.push(`${toKey(file)} was added`);
  }
  return reasons;
}

module.exports = { ROOT, SRC_DIR, BUILD_DIR, BUILD_INFO_FILE, BUILD_ENTRY, CODE_CACHE_FILE, describeSources, staleness };
