/** The languages a skill can be written in: the interpreter that runs each, and its default entrypoint. */
import { accessSync, constants, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SkillLanguage } from '../../domain/skills.ts';

export const LANGUAGES: Record<SkillLanguage, { runCommand: string; entrypoint: string }> = {
  bash: { runCommand: 'bash', entrypoint: 'run.sh' },
  sh: { runCommand: 'sh', entrypoint: 'run.sh' },
  python: { runCommand: 'python3', entrypoint: 'main.py' },
  node: { runCommand: 'node', entrypoint: 'index.js' },
};

/** The PATH a skill sees. Interpreters are looked up here too, never on the server's own PATH (version managers' shims do not work in a sandbox). */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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

export interface Interpreter {
  path: string;
  /** Its installation directory when it lives outside the system directories the sandbox binds (e.g. /opt/hostedtoolcache/node/20/x64). */
  prefix: string | null;
}

const SYSTEM_PREFIXES = ['/usr/', '/bin/', '/sbin/', '/lib/', '/lib64/'];
const cache = new Map<SkillLanguage, Interpreter | null>();

function findOnSystemPath(command: string): string | undefined {
  for (const dir of SYSTEM_PATH.split(':')) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The interpreter binary for a language; node skills run on the server's own node. Null when it is not installed. */
export function interpreterFor(language: SkillLanguage): Interpreter | null {
  if (!cache.has(language)) {
    const found = language === 'node' ? process.execPath : findOnSystemPath(LANGUAGES[language].runCommand);
    const real = found ? realpathSync(found) : undefined;
    cache.set(
      language,
      found && real ? { path: found, prefix: SYSTEM_PREFIXES.some((p) => real.startsWith(p)) ? null : dirname(dirname(real)) } : null,
    );
  }
  return cache.get(language) ?? null;
}
