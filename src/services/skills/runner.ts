/**
 * Runs one skill invocation in the sandbox: the entrypoint written to the skill's working directory, args as argv
 * and/or JSON on stdin, a scrubbed environment, a time limit that kills everything it started, and a cap on the output kept.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { SandboxStatus } from '../../domain/sandbox.ts';
import type { SkillArgs, SkillResult } from '../../domain/skills.ts';
import { SYSTEM_PATH, type Sandbox, type SandboxedProcess } from '../sandbox/index.ts';
import { interpreterFor } from './languages.ts';
import type { SkillRecord } from './builtins.ts';

/** The vault secrets named by `keys` that exist for `agent`; `skill` is who asks, for the audit log. */
export type ResolveSecrets = (agent: string, keys: string[], skill: string) => Promise<Record<string, string>>;

export interface RunnerSettings {
  home: string;
  timeoutMs: number;
  outputLimitBytes: number;
}

export function skillWorkdir(home: string, agent: string, skill: string): string {
  // Both names are slugs (validated at the API), so they cannot climb out of <home>/skills.
  return join(home, 'skills', agent, skill);
}

/** Every skill working directory of one agent. */
export function agentSkillsDir(home: string, agent: string): string {
  return join(home, 'skills', agent);
}

export class SkillRunner {
  constructor(
    private readonly settings: RunnerSettings,
    private readonly sandbox: Sandbox,
    private readonly resolveSecrets: ResolveSecrets,
  ) {}

  /** What the sandbox around skills is on this machine. */
  sandboxStatus(): Promise<SandboxStatus> {
    return this.sandbox.status();
  }

  async run(agent: string, { skill, code }: SkillRecord, args: SkillArgs, signal?: AbortSignal): Promise<SkillResult> {
    if (skill.language === 'builtin') throw new Error(`${skill.name} runs inside the server, not as a process`);
    const status = await this.sandbox.check({ network: skill.needs_network });
    const interpreter = interpreterFor(skill.language);
    if (!interpreter) {
      return { output: `${skill.run_command} is not installed on this server`, exit_code: 127, execution_time_ms: 0, truncated: false, timed_out: false, sandbox: status.kind };
    }
    const workdir = skillWorkdir(this.settings.home, agent, skill.name);
    const tmpdir = join(workdir, '.tmp');
    await mkdir(tmpdir, { recursive: true, mode: 0o700 });
    // Written on every run (the database is the source of truth) and renamed into place, so a concurrent run never reads half a file.
    const staging = join(workdir, `.${skill.entrypoint}.${randomUUID()}`);
    await writeFile(staging, code, { mode: 0o700 });
    await rename(staging, join(workdir, skill.entrypoint));

    const secrets = skill.needs_env && skill.env_keys.length ? await this.resolveSecrets(agent, skill.env_keys, skill.name) : {};
    const granted = Object.fromEntries(skill.env_keys.filter((key) => key in secrets).map((key) => [key, secrets[key]!]));
    // Never the server's environment (MOXXY_*, *_API_KEY ...): only these, and the base variables win over secrets.
    const env = { ...granted, PATH: SYSTEM_PATH, HOME: workdir, LANG: 'C.UTF-8', TMPDIR: tmpdir, PYTHONDONTWRITEBYTECODE: '1' };
    const started = performance.now();
    const running = await this.sandbox.spawn(
      [interpreter.path, join(workdir, skill.entrypoint), ...(Array.isArray(args) ? args : [])],
      {
        network: skill.needs_network,
        fsRead: skill.needs_fs_read,
        fsWrite: skill.needs_fs_write,
        workdir,
        tmpdir,
        readOnly: interpreter.prefix ? [interpreter.prefix] : [],
      },
      { cwd: workdir, env },
    );
    const outcome = await collectRun(running, {
      stdin: `${JSON.stringify(args)}\n`,
      timeoutMs: this.settings.timeoutMs,
      outputLimitBytes: this.settings.outputLimitBytes,
      signal,
    });
    return { ...outcome, execution_time_ms: Math.round(performance.now() - started), sandbox: running.kind };
  }
}

interface RunSpec {
  stdin: string;
  timeoutMs: number;
  outputLimitBytes: number;
  signal?: AbortSignal;
}

type RunOutcome = Omit<SkillResult, 'sandbox' | 'execution_time_ms'>;

/** Feeds the process its input, keeps its output up to the limit, and kills it at the time limit or on abort. */
async function collectRun(run: SandboxedProcess, spec: RunSpec): Promise<RunOutcome> {
  const { child } = run;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let truncated = false;
  const collect = (chunk: Buffer) => {
    const room = spec.outputLimitBytes - keptBytes;
    if (chunk.length > room) truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    kept.push(part);
    keptBytes += part.length;
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  // The skill may exit without reading its input.
  child.stdin.on('error', () => undefined);
  child.stdin.end(spec.stdin);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    run.kill();
  }, spec.timeoutMs);
  if (spec.signal?.aborted) run.kill();
  spec.signal?.addEventListener('abort', run.kill, { once: true });
  try {
    const { code, signal } = await run.exit;
    return {
      output: Buffer.concat(kept).toString('utf8'),
      exit_code: code ?? 128 + (signal ? constants.signals[signal] : 0),
      truncated,
      timed_out: timedOut,
    };
  } finally {
    clearTimeout(timer);
    spec.signal?.removeEventListener('abort', run.kill);
  }
}
