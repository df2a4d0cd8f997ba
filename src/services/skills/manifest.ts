/**
 * Skill manifests: manifest.toml (a small TOML subset: `key = "string" | 'literal' | true | false | number | ["strings"]`,
 * comments, no tables) or skill.json, validated into the fields a skill is stored with; and the reverse, for GET .../source.
 */
import { z } from 'zod';
import { Slug } from '../../domain/common.ts';
import { Entrypoint, EnvKey, SkillVersion, type Skill, type SkillLanguage } from '../../domain/skills.ts';
import { inferLanguage, LANGUAGES, runCommandMatches } from './languages.ts';

export class ManifestError extends Error {
  override name = 'ManifestError';
}

type TomlValue = string | number | boolean | string[];

/** Parses the TOML subset skill manifests use. Anything outside it is an error, not a guess. */
export function parseTomlSubset(text: string): Record<string, TomlValue> {
  const result: Record<string, TomlValue> = {};
  let pos = 0;
  const line = () => text.slice(0, pos).split('\n').length;
  const fail = (message: string): never => {
    throw new ManifestError(`manifest.toml line ${line()}: ${message}`);
  };
  const skipBlank = (newlines: boolean) => {
    for (;;) {
      const char = text[pos];
      if (char === ' ' || char === '\t' || (newlines && (char === '\n' || char === '\r'))) pos += 1;
      else if (char === '#') while (pos < text.length && text[pos] !== '\n') pos += 1;
      else return;
    }
  };
  const basicString = (): string => {
    let value = '';
    for (pos += 1; ; pos += 1) {
      const char = text[pos];
      if (char === undefined || char === '\n') return fail('unterminated string');
      if (char === '"') break;
      if (char !== '\\') {
        value += char;
        continue;
      }
      const escape = text[++pos];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };
      if (escape && escape in simple) value += simple[escape];
      else if (escape === 'u' || escape === 'U') {
        const digits = escape === 'u' ? 4 : 8;
        const hex = text.slice(pos + 1, pos + 1 + digits);
        const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === digits ? parseInt(hex, 16) : Number.NaN;
        if (!(code <= 0x10ffff)) fail('bad unicode escape');
        value += String.fromCodePoint(code);
        pos += digits;
      } else fail(`unknown escape \\${escape ?? ''}`);
    }
    pos += 1;
    return value;
  };
  const literalString = (): string => {
    const end = text.indexOf("'", pos + 1);
    const value = end === -1 ? fail('unterminated string') : text.slice(pos + 1, end);
    if (value.includes('\n')) fail('unterminated string');
    pos = end + 1;
    return value;
  };
  const string = () => (text.startsWith('"""', pos) || text.startsWith("'''", pos) ? fail('multi-line strings are not supported') : text[pos] === '"' ? basicString() : literalString());
  const value = (): TomlValue => {
    const char = text[pos];
    if (char === '"' || char === "'") return string();
    if (char === '[') {
      const items: string[] = [];
      pos += 1;
      for (;;) {
        skipBlank(true);
        if (text[pos] === ']') break;
        if (text[pos] !== '"' && text[pos] !== "'") fail('arrays may hold only strings');
        items.push(string());
        skipBlank(true);
        if (text[pos] === ',') pos += 1;
        else if (text[pos] !== ']') fail('expected "," or "]" in array');
      }
      pos += 1;
      return items;
    }
    const word = /^[^\s#,\]]+/.exec(text.slice(pos))?.[0] ?? '';
    pos += word.length;
    if (word === 'true' || word === 'false') return word === 'true';
    if (/^[+-]?\d[\d_]*(\.\d+)?([eE][+-]?\d+)?$/.test(word)) return Number(word.replaceAll('_', ''));
    return fail(`unsupported value '${word}'`);
  };

  for (;;) {
    skipBlank(true);
    if (pos >= text.length) return result;
    if (text[pos] === '[') fail('tables are not supported');
    const key = /^[A-Za-z0-9_-]+/.exec(text.slice(pos))?.[0] ?? fail('expected a key');
    pos += key.length;
    skipBlank(false);
    if (text[pos] !== '=') fail(`expected "=" after ${key}`);
    pos += 1;
    skipBlank(false);
    if (Object.hasOwn(result, key)) fail(`duplicate key ${key}`);
    result[key] = value();
    skipBlank(false);
    if (pos < text.length && text[pos] !== '\n' && text[pos] !== '\r') fail('expected the end of the line');
  }
}

/** What a manifest may say; unknown keys (author, license, ...) are ignored. */
const ManifestFile = z.object({
  name: Slug.optional(),
  description: z.string().max(2000).default(''),
  version: SkillVersion.default('1.0.0'),
  language: z.string().optional(),
  run_command: z.string().optional(),
  entrypoint: Entrypoint.optional(),
  needs_network: z.boolean().default(false),
  needs_fs_read: z.boolean().default(false),
  needs_fs_write: z.boolean().default(false),
  needs_env: z.boolean().default(false),
  env_keys: z.array(EnvKey).max(64).default([]),
  usage_example: z.string().max(4000).optional(),
});

export type Manifest = Omit<z.infer<typeof ManifestFile>, 'language' | 'run_command' | 'entrypoint'> & {
  language: SkillLanguage;
  run_command: string;
  entrypoint: string;
};

/** Validates parsed manifest data and settles its language, run_command and entrypoint. */
export function readManifest(data: unknown): Manifest {
  const parsed = ManifestFile.safeParse(data);
  if (!parsed.success) throw new ManifestError(`invalid manifest: ${z.prettifyError(parsed.error).replaceAll('\n', ' ')}`);
  const fields = parsed.data;
  const language = inferLanguage(fields);
  if (!language) throw new ManifestError('the manifest must name a language (bash, sh, python, node) or a run_command or entrypoint that implies one');
  if (fields.run_command && !runCommandMatches(language, fields.run_command)) {
    throw new ManifestError(`run_command '${fields.run_command}' does not run ${language}; use ${LANGUAGES[language].runCommand}`);
  }
  return { ...fields, language, run_command: LANGUAGES[language].runCommand, entrypoint: fields.entrypoint ?? LANGUAGES[language].entrypoint };
}

export function parseManifestToml(text: string): Manifest {
  return readManifest(parseTomlSubset(text));
}

export function parseManifestJson(text: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ManifestError('skill.json is not valid JSON');
  }
  return readManifest(data);
}

/** manifest.toml for a skill's stored fields (JSON string escapes are valid TOML basic strings). */
export function renderManifestToml(skill: Skill): string {
  const entries: Array<[string, TomlValue | null]> = [
    ['name', skill.name],
    ['description', skill.description],
    ['version', skill.version],
    ['language', skill.language],
    ['run_command', skill.run_command],
    ['entrypoint', skill.entrypoint],
    ['needs_network', skill.needs_network],
    ['needs_fs_read', skill.needs_fs_read],
    ['needs_fs_write', skill.needs_fs_write],
    ['needs_env', skill.needs_env],
    ['env_keys', skill.env_keys],
    ['usage_example', skill.usage_example],
  ];
  return entries
    .filter((entry): entry is [string, TomlValue] => entry[1] !== null)
    .map(([key, value]) => `${key} = ${Array.isArray(value) ? `[${value.map((v) => JSON.stringify(v)).join(', ')}]` : JSON.stringify(value)}`)
    .join('\n')
    .concat('\n');
}
