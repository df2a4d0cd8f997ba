/**
 * The skill sandbox: bubblewrap (bwrap) arguments that enforce a manifest's needs_* flags, and the check
 * that bwrap can create namespaces here at all (it cannot in some containers, then skills run without it).
 */
import { spawn } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import type { SandboxKind } from '../../domain/skills.ts';

export interface SandboxPolicy {
  needs_network: boolean;
  needs_fs_read: boolean;
  needs_fs_write: boolean;
  workdir: string;
  /** TMPDIR, inside the working directory: a fresh tmpfs when the working directory is read-only. */
  tmpdir: string;
  /** Extra read-only directories, e.g. an interpreter installed under /opt. */
  readOnly: string[];
}

export interface SandboxStatus {
  kind: SandboxKind;
  /** Why there is no sandbox, when there is none. */
  reason?: string;
}

const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64'];
/** Only what programs need from /etc: the dynamic linker, users, name resolution, TLS roots, time zone. */
const ETC_ENTRIES = [
  'alternatives', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'passwd', 'group', 'nsswitch.conf', 'host.conf', 'hosts',
  'resolv.conf', 'gai.conf', 'protocols', 'services', 'ssl', 'ca-certificates', 'ca-certificates.conf', 'localtime', 'mime.types',
];

/** On merged-/usr systems /bin, /lib ... are symlinks into /usr: recreate the link rather than bind it twice. */
function systemDirArgs(dir: string): string[] {
  try {
    return lstatSync(dir).isSymbolicLink() ? ['--symlink', readlinkSync(dir), dir] : ['--ro-bind', dir, dir];
  } catch {
    return [];
  }
}

export function bwrapArgs(policy: SandboxPolicy): string[] {
  const args = ['--unshare-all', ...(policy.needs_network ? ['--share-net'] : []), '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  if (policy.needs_fs_read) {
    args.push('--ro-bind', '/', '/');
  } else {
    for (const dir of SYSTEM_DIRS) args.push(...systemDirArgs(dir));
    for (const entry of ETC_ENTRIES) args.push('--ro-bind-try', `/etc/${entry}`, `/etc/${entry}`);
    for (const dir of policy.readOnly) args.push('--ro-bind', dir, dir);
  }
  args.push('--proc', '/proc', '--dev', '/dev');
  // A private /tmp, except for skills allowed to read the host, which must see the host's /tmp too.
  if (!policy.needs_fs_read) args.push('--tmpfs', '/tmp');
  // Mounted after /tmp so a working directory under /tmp is not hidden by the tmpfs.
  args.push(policy.needs_fs_write ? '--bind' : '--ro-bind', policy.workdir, policy.workdir);
  if (!policy.needs_fs_write) args.push('--tmpfs', policy.tmpdir);
  args.push('--chdir', policy.workdir);
  return args;
}

const PROBE_TIMEOUT_MS = 10_000;

/** Runs `true` in the tightest sandbox once; the answer holds for the life of the process. */
function probe(bwrap: string): Promise<SandboxStatus> {
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(bwrap, ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '/bin/sh', '-c', 'exit 0'], {
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

export class Sandbox {
  private checked: Promise<SandboxStatus> | undefined;

  constructor(private readonly bwrap: string) {}

  status(): Promise<SandboxStatus> {
    this.checked ??= probe(this.bwrap);
    return this.checked;
  }

  /** The command that runs `command` under the policy. */
  wrap(command: string[], policy: SandboxPolicy): string[] {
    return [this.bwrap, ...bwrapArgs(policy), '--', ...command];
  }
}
