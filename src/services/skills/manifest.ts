/**
 * Skill manifests: manifest.toml (TOML, read by smol-toml; flat: keys and values, no tables) or skill.json, validated
 * into the fields a skill is stored with; and the reverse, for GET .../source.
 */
import { parse as parseToml, TomlDate, TomlError } from 'smol-toml';
import { z } from 'zod';
import { Slug } from '../../domain/common.ts';
import { Entrypoint, EnvKey, SkillVersion, type Skill, type SkillLanguage } from '../../domain/skills.ts';
import { inferLanguage, LANGUAGES, runCommandMatches } from './languages.ts';

export class ManifestError extends Error {
  override name = 'ManifestError';
}

type TomlValue = string | number | boolean | string[];

/** Reads manifest.toml with a complete TOML parser; a manifest is flat, so a table is refused rather than ignored. */
function parseManifestTomlData(text: string): Record<string, unknown> {
  let data: Record<string, unknown>;
  try {
    data = parseToml(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    throw new ManifestError(`manifest.toml line ${error.line}: ${error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '')}`);
  }
  const table = Object.keys(data).find((key) => {
    const value = data[key];
    return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof TomlDate);
  });
  if (table !== undefined) {
    const line = text.split('\n').findIndex((row) => /^\s*\[/.test(row) || row.trimStart().startsWith(table)) + 1;
    throw new ManifestError(`manifest.toml line ${line}: tables are not supported`);
  }
  return data;
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
  return readManifest(parseManifestTomlData(text));
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

/** The stored fields a skill's manifest.toml holds, in the order it lists them. */
const MANIFEST_FIELDS = [
  'name', 'description', 'version', 'language', 'run_command', 'entrypoint',
  'needs_network', 'needs_fs_read', 'needs_fs_write', 'needs_env', 'env_keys', 'usage_example',
] as const satisfies ReadonlyArray<keyof Skill>;

/** manifest.toml for a skill's stored fields (JSON string escapes are valid TOML basic strings). */
export function renderManifestToml(skill: Skill): string {
  const entries = MANIFEST_FIELDS.map((key): [string, TomlValue | null] => [key, skill[key]]);
  return entries
    .filter((entry): entry is [string, TomlValue] => entry[1] !== null)
    .map(([key, value]) => `${key} = ${Array.isArray(value) ? `[${value.map((v) => JSON.stringify(v)).join(', ')}]` : JSON.stringify(value)}`)
    .join('\n')
    .concat('\n');
}
