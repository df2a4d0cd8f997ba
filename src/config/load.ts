/** Loads the configuration: file (cwd, then MOXXY_HOME), overridden by environment variables. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { readConfigFile } from './read-file.ts';
import { ConfigSchema, type MoxxyConfig } from './schema.ts';

export { ConfigError } from './errors.ts';

/** In this order of preference, in the working directory and then in MOXXY_HOME. */
export const CONFIG_FILE_NAMES = ['moxxy.config.ts', 'moxxy.config.mts', 'moxxy.config.js', 'moxxy.config.mjs', 'moxxy.config.json'];

type Env = Record<string, string | undefined>;

export interface LoadConfigOptions {
  cwd?: string;
  env?: Env;
  /** Values that win over the file and the environment (used by tests and the CLI). */
  overrides?: Record<string, unknown>;
}

export function defaultHome(env: Env): string {
  return env.MOXXY_HOME ? resolve(env.MOXXY_HOME) : join(homedir(), '.moxxy');
}

export function findConfigFile(cwd: string, env: Env): string | undefined {
  for (const dir of [cwd, defaultHome(env)]) {
    for (const name of CONFIG_FILE_NAMES) {
      const file = join(dir, name);
      if (existsSync(file)) return file;
    }
  }
  return undefined;
}

/** Environment variable -> config path. Numbers stay strings unless they look numeric, so zod names the field. */
const ENV_KEYS: Array<[string, string[], 'string' | 'number']> = [
  ['HOST', ['host'], 'string'],
  ['PORT', ['port'], 'number'],
  ['MOXXY_HOME', ['home'], 'string'],
  ['MOXXY_DATABASE_URL', ['database', 'url'], 'string'],
  ['MOXXY_DATABASE_AUTH_TOKEN', ['database', 'authToken'], 'string'],
  ['MOXXY_LOG_LEVEL', ['logLevel'], 'string'],
  ['OPENAI_API_KEY', ['providers', 'openai', 'apiKey'], 'string'],
  ['OPENAI_BASE_URL', ['providers', 'openai', 'baseUrl'], 'string'],
  ['ANTHROPIC_API_KEY', ['providers', 'anthropic', 'apiKey'], 'string'],
  ['ANTHROPIC_BASE_URL', ['providers', 'anthropic', 'baseUrl'], 'string'],
  ['MOXXY_HTTP_TOKEN', ['channels', 'http', 'authToken'], 'string'],
  ['MOXXY_INTERNAL_TOKEN', ['auth', 'internalToken'], 'string'],
  ['MOXXY_API_KEY', ['auth', 'apiKey'], 'string'],
  ['MOXXY_VAULT_KEY', ['vault', 'masterKey'], 'string'],
];

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = node[key] = typeof next === 'object' && next !== null ? { ...(next as object) } : {};
  }
  node[path[path.length - 1]!] = value;
}

function envLayer(env: Env): Array<[string[], unknown, string]> {
  const layer: Array<[string[], unknown, string]> = [];
  for (const [name, path, type] of ENV_KEYS) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = type === 'number' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    layer.push([path, value, name]);
  }
  return layer;
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<MoxxyConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = findConfigFile(cwd, env);
  const raw: Record<string, unknown> = file ? { ...(await readConfigFile(file)) } : {};
  const origins = new Map<string, string>();
  for (const [path, value, name] of envLayer(env)) {
    setPath(raw, path, value);
    origins.set(path.join('.'), name);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  raw.home ??= defaultHome(env);

  // Parsed once per process: zod's generated fast path for objects (code made and compiled on a schema's first parse)
  // would only cost the start its compile.
  const parsed = ConfigSchema.safeParse(raw, { jitless: true });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const field = issue.path.join('.') || '(root)';
      const origin = origins.get(field);
      const keys = 'keys' in issue && Array.isArray(issue.keys) ? ` ${issue.keys.join(', ')}` : '';
      return `  - ${field}${origin ? ` (from ${origin})` : ''}: ${issue.message}${keys}`;
    });
    throw new ConfigError(`Invalid configuration${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function databaseUrl(config: MoxxyConfig): string {
  return config.database.url ?? `file:${join(config.home, 'moxxy.db')}`;
}
