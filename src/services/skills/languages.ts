/** The languages a skill can be written in: the interpreter that runs each, and its default entrypoint. */
import type { SkillLanguage } from '../../domain/skills.ts';
import { findOnSystemPath, installPrefix, type ResolvedCommand } from '../sandbox/commands.ts';

export const LANGUAGES: Record<SkillLanguage, { runCommand: string; entrypoint: string }> = {
  bash: { runCommand: 'bash', entrypoint: 'run.sh' },
  sh: { runCommand: 'sh', entrypoint: 'run.sh' },
  python: { runCommand: 'python3', entrypoint: 'main.py' },
  node: { runCommand: 'node', entrypoint: 'index.js' },
};

const RUN_COMMANDS: Record<string, SkillLanguage> = { bash: 'bash', sh: 'sh', python: 'python', python3: 'python', node: 'node', nodejs: 'node' };
const EXTENSIONS: Record<string, SkillLanguage> = { sh: 'sh', bash: 'bash', py: 'python', js: 'node', mjs: 'node', cjs: 'node' };

/** A manifest names its language directly, or through its run_command or its entrypoint's extension. */
export function inferLanguage(fields: { language?: string; run_command?: string; entrypoint?: string }): SkillLanguage | undefined {
  if (fields.language) return RUN_COMMANDS[fields.language];
  if (fields.run_command) return RUN_COMMANDS[fields.run_command];
  const extension = fields.entrypoint?.split('.').at(-1);
  return extension ? EXTENSIONS[extension] : undefined;
}

export function runCommandMatches(language: SkillLanguage, runCommand: string): boolean {
  return RUN_COMMANDS[runCommand] === language;
}

const cache = new Map<SkillLanguage, ResolvedCommand | null>();

/** The interpreter binary for a language, and its installation when the sandbox must bind it; node skills run on the server's own node. Null when it is not installed. */
export function interpreterFor(language: SkillLanguage): ResolvedCommand | null {
  if (!cache.has(language)) {
    const path = language === 'node' ? process.execPath : findOnSystemPath(LANGUAGES[language].runCommand);
    cache.set(language, path ? { path, prefix: installPrefix(path) } : null);
  }
  return cache.get(language) ?? null;
}
