/**
 * Whether bubblewrap can create namespaces here at all (it cannot in some containers, then nothing is sandboxed), and
 * that answer remembered between starts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { SandboxKind } from '../../domain/skills.ts';
import { findOnSystemPath } from './commands.ts';

const PROBE_TIMEOUT_MS = 10_000;

export interface ProbeOutcome {
  kind: SandboxKind;
  reason?: string;
}

/** Runs `true` in the tightest sandbox, with the options every sandbox uses (--size needs bubblewrap >= 0.5). */
export function probeBwrap(bwrap: string): Promise<ProbeOutcome> {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev'];
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(bwrap, [...args, '--size', '1048576', '--tmpfs', '/tmp', '/bin/sh', '-c', 'exit 0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: '/usr/bin:/bin' },
      timeout: PROBE_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => resolve({ kind: 'none', reason: `${bwrap} cannot run: ${error.message}` }));
    child.once('close', (code) =>
      resolve(code === 0 ? { kind: 'bwrap' } : { kind: 'none', reason: `${bwrap} cannot create a sandbox here: ${stderr.trim() || `exit ${code}`}` }),
    );
  });
}

/** The kernel's settings that decide whether an unprivileged user may create namespaces. */
const NAMESPACE_SETTINGS = [
  '/proc/sys/kernel/random/boot_id',
  '/proc/sys/kernel/unprivileged_userns_clone',
  '/proc/sys/user/max_user_namespaces',
  '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
];

const contentOf = (file: string) => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
};

/**
 * What the probe's outcome depends on, as text: the bubblewrap binary (where it is, its size, mtime and inode, or that
 * there is none), the user, this boot, and the kernel's settings for user namespaces.
 */
export function probeInputs(bwrap: string): string {
  const path = bwrap.includes('/') ? bwrap : findOnSystemPath(bwrap);
  const stat = path === undefined ? undefined : statSync(path, { throwIfNoEntry: false });
  const binary = stat ? [stat.size, stat.mtimeMs, stat.ino] : null;
  return JSON.stringify([bwrap, path ?? null, binary, process.getuid?.() ?? null, ...NAMESPACE_SETTINGS.map(contentOf)]);
}

/**
 * The outcome of the probe as a previous start found it, kept in `file` (the data directory's sandbox-probe.json) with
 * what it depended on, when that is still the same: starting bubblewrap from a server that has loaded its code costs
 * ~10 ms of the start (forking a process of that size). Else the probe runs, and its outcome is kept.
 */
export async function rememberedProbe(bwrap: string, file: string): Promise<{ outcome: ProbeOutcome; remembered: boolean }> {
  const inputs = probeInputs(bwrap);
  try {
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { inputs?: unknown; outcome?: { kind?: unknown; reason?: unknown } };
    const { kind, reason } = kept.outcome ?? {};
    if (kept.inputs === inputs && (kind === 'bwrap' || kind === 'none') && (reason === undefined || typeof reason === 'string')) {
      return { outcome: reason === undefined ? { kind } : { kind, reason }, remembered: true };
    }
  } catch {
    // none kept yet, or unreadable: probed below
  }
  const outcome = await probeBwrap(bwrap);
  rememberProbe(bwrap, file, outcome, inputs);
  return { outcome, remembered: false };
}

/** Keeps a probe's outcome for the next start, with what it depended on (read again unless given). */
export function rememberProbe(bwrap: string, file: string, outcome: ProbeOutcome, inputs = probeInputs(bwrap)): void {
  try {
    const temporary = `${file}.${process.pid}`;
    writeFileSync(temporary, `${JSON.stringify({ inputs, outcome })}\n`, { mode: 0o600 });
    renameSync(temporary, file);
  } catch {
    // A data directory the server cannot write: it probes at every start.
  }
}
