/**
 * Reads a configuration file. JSON is parsed; .ts, .mts, .js and .mjs files (ES modules or CommonJS) are compiled and
 * bundled by esbuild, then imported from memory. So a config file loads the same wherever it sits: with or without a
 * package.json saying "type": "module" beside it, and with `@moxxy/config` (seed 001's name) and `moxxy-server/config`
 * (this package's) meaning this server's own defineConfig, installed next to the file or not.
 */
import { readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message, Plugin } from 'esbuild';
import { ConfigError } from './errors.ts';

const DEFINE_CONFIG = fileURLToPath(new URL('./define-config.ts', import.meta.url));
/** The import names of defineConfig a config file may use. */
const DEFINE_CONFIG_IMPORTS = /^(@moxxy\/config|moxxy-server\/config)$/;
/** Marks the plugin's own call to esbuild's resolver, which must not come back to the plugin. */
const NESTED = 'moxxy-config-nested-resolve';

export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const json = file.endsWith('.json');
  let exported: unknown;
  try {
    exported = json ? JSON.parse(await readFile(file, 'utf8')) : await importCompiled(file);
  } catch (error) {
    throw new ConfigError(`Cannot load ${file}: ${reason(error)}`);
  }
  if (typeof exported !== 'object' || exported === null || Array.isArray(exported)) {
    throw new ConfigError(
      json ? `${file} must hold a JSON object` : `${file} must export the configuration object as its default export: export default defineConfig({ ... })`,
    );
  }
  return exported as Record<string, unknown>;
}

/**
 * import(). The compiled server runs as a script compiled by node:vm (scripts/server-build-run.cjs), where import()
 * has no loader but behind an experimental option, so its loader lends one of its own; the sources use theirs.
 */
const importModule = ((globalThis as { [key: symbol]: unknown })[Symbol.for('moxxy.import')] ??
  ((specifier: string) => import(specifier))) as (specifier: string) => Promise<unknown>;

async function importCompiled(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  // Loaded here, on first use: most servers have a JSON configuration or none.
  const { build } = (await importModule('esbuild')) as typeof import('esbuild');
  const result = await build({
    entryPoints: [file],
    absWorkingDir: dirname(file),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    // The module runs from memory: where it is comes from here (a file it imports sees the config file's values).
    define: {
      'import.meta.url': JSON.stringify(url),
      'import.meta.filename': JSON.stringify(file),
      'import.meta.dirname': JSON.stringify(dirname(file)),
      __filename: JSON.stringify(file),
      __dirname: JSON.stringify(dirname(file)),
    },
    plugins: [configImports()],
  });
  const code = result.outputFiles[0]!.text;
  const module = (await importModule(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as { default?: unknown };
  return module.default;
}

/** defineConfig is this server's; packages stay outside the bundle, imported from where the config file finds them. */
function configImports(): Plugin {
  return {
    name: 'moxxy-config-imports',
    setup(esbuild) {
      esbuild.onResolve({ filter: DEFINE_CONFIG_IMPORTS }, () => ({ path: DEFINE_CONFIG }));
      esbuild.onResolve({ filter: /^[^./]/ }, async ({ path, kind, resolveDir, pluginData }) => {
        if (kind === 'entry-point' || pluginData === NESTED || isBuiltin(path)) return undefined;
        const found = await esbuild.resolve(path, { kind, resolveDir, pluginData: NESTED });
        if (found.errors.length > 0) return { errors: found.errors };
        return { path: pathToFileURL(found.path).href, external: true };
      });
    },
  };
}

/** One line: esbuild's first error with where it is, or the error's first line. */
function reason(error: unknown): string {
  const messages = (error as { errors?: Message[] }).errors;
  const first = messages?.[0];
  if (first) return first.location ? `${first.text} (${first.location.file}:${first.location.line}:${first.location.column + 1})` : first.text;
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
