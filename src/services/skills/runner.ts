/**
 * Runs one skill invocation as one process group: the entrypoint written to the skill's working directory,
 * args as argv and/or JSON on stdin, a scrubbed environment, the sandbox around it, a time limit that kills
 * the whole group, and a cap on the output kept.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../domain/errors.ts';
import type { SkillArgs, SkillResult } from '../../domain/skills.ts';
import { interpreterFor, SYSTEM_PATH } from './languages.ts';
import type { Sandbox } from './sandbox.ts';
import type { SkillRecord } from './builtins.ts';

/** The vault secrets named by `keys` that exist for `agent`; `skill` is who asks, for the audit log. */
export type ResolveSecrets = (agent: string, keys: string[], skill: string) => Promise<Record<string, string>>;

export interface RunnerSettings {
  home: string;
  timeoutMs: number;
  outputLimitBytes: number;
  requireSandbox: boolean;
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

  async run(agent: string, { skill, code }: SkillRecord, args: SkillArgs, signal?: AbortSignal): Promise<SkillResult> {
    if (skill.language === 'builtin') throw new Error(`${skill.name} runs inside the server, not as a process`);
    const status = await this.sandbox.status();
    if (status.kind === 'none' && this.settings.requireSandbox) {
      throw new AppError('SANDBOX_UNAVAILABLE', `Skills must run in a sandbox (skills.requireSandbox) and none is available: ${status.reason}`, {
        reason: status.reason,
      });
    }
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
    const command = [interpreter.path, join(workdir, skill.entrypoint), ...(Array.isArray(args) ? args : [])];
    const sandboxed =
      status.kind === 'bwrap'
        ? this.sandbox.wrap(command, { ...skill, workdir, tmpdir, readOnly: interpreter.prefix ? [interpreter.prefix] : [] })
        : command;
    const outcome = await runProcess({
      command: sandboxed,
      cwd: workdir,
      env,
      stdin: `${JSON.stringify(args)}\n`,
      timeoutMs: this.settings.timeoutMs,
      outputLimitBytes: this.settings.outputLimitBytes,
      signal,
    });
    return { ...outcome, sandbox: status.kind };
  }
}

export interface ProcessSpec {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  outputLimitBytes: number;
  signal?: AbortSignal;
}

export type ProcessOutcome = Omit<SkillResult, 'sandbox'>;

/** After the main process exits, how long to wait for its pipes before giving up on a descendant that escaped the group. */
const PIPE_GRACE_MS = 2000;

export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  const started = performance.now();
  const [file, ...argv] = spec.command;
  // detached: the child leads a new process group, so one kill reaches everything it started.
  const child = spawn(file!, argv, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };

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
    killGroup();
  }, spec.timeoutMs);
  spec.signal?.addEventListener('abort', killGroup, { once: true });

  return new Promise((resolve, reject) => {
    let exitCode = 0;
    let grace: NodeJS.Timeout | undefined;
    child.once('exit', (code, signal) => {
      exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
      // Whatever it left running in the background dies with it.
      killGroup();
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, PIPE_GRACE_MS);
    });
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(grace);
      spec.signal?.removeEventListener('abort', killGroup);
    };
    child.once('error', (error) => {
      finish();
      reject(error);
    });
    child.once('close', () => {
      finish();
      resolve({
        output: Buffer.concat(kept).toString('utf8'),
        exit_code: exitCode,
        execution_time_ms: Math.round(performance.now() - started),
        truncated,
        timed_out: timedOut,
      });
    });
  });
}
