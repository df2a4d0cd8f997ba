/**
 * The one sandbox skills and stdio MCP servers run in: what this machine offers (probed once), and starting a command
 * under a profile with resource limits, as a process group that one kill ends.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { AppError } from '../../domain/errors.ts';
import type { ProcessLimit, SandboxStatus } from '../../domain/sandbox.ts';
import type { SandboxKind } from '../../domain/skills.ts';
import { probeBwrap, rememberedProbe, rememberProbe, type ProbeOutcome } from './bwrap-probe.ts';
import { findOnSystemPath } from './commands.ts';
import { prlimitArgs, type SandboxLimits } from './limits.ts';
import { enterCgroup, PidsCgroups, type PidsCgroup } from './pids-cgroup.ts';
import { bwrapArgs, type NetworkFds, type SandboxProfile } from './profile.ts';
import { attachUserNetwork, findUserNetwork, SANDBOX_DNS, type AttachedNetwork, type UserNetwork } from './user-network.ts';

export interface SandboxSettings {
  bwrap: string;
  /** The user-mode network stacks, slirp4netns preferred. */
  slirp4netns: string;
  pasta: string;
  /** Refuse to start anything when bubblewrap cannot sandbox it. */
  requireSandbox: boolean;
  limits: SandboxLimits;
  /** Never visible inside, whatever a profile asks: the server's data directory, the database's directory. */
  hidden: string[];
  /**
   * Where the probe's outcome is kept between starts (src/services/sandbox/bwrap-probe.ts); without it, bubblewrap is
   * probed at every start.
   */
  probeFile?: string;
  /** How long after a start that used a kept outcome bubblewrap is probed again, in case the machine changed (10 s). */
  reprobeAfterMs?: number;
}

export interface SpawnOptions {
  cwd: string;
  /** The whole environment: nothing of the server's own is added. */
  env: Record<string, string>;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SandboxedProcess {
  /** stdin, stdout and stderr are pipes. */
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  kind: SandboxKind;
  /** Settles once the process has exited, its pipes are closed and what the sandbox set up for it is gone; rejects when it could not start. */
  exit: Promise<ProcessExit>;
  /** SIGKILL to its process group; in bubblewrap that ends its PID namespace, so every descendant too. */
  kill(): void;
}

/** What this machine offers, found once. */
interface Machine {
  status: SandboxStatus;
  cgroups: PidsCgroups | null;
  network: UserNetwork | null;
  prlimit: string | null;
}

const NETWORK_FDS: NetworkFds = { info: 3, block: 4, resolvConf: 5 };
/** After the main process exits, how long to wait for its pipes before giving up on a descendant that escaped the group. */
const PIPE_GRACE_MS = 2000;

/** How long after a start that used a kept probe outcome bubblewrap is probed again. */
const REPROBE_AFTER_MS = 10_000;

export class Sandbox {
  private machine: Promise<Machine> | undefined;
  private reprobe: NodeJS.Timeout | undefined;

  constructor(private readonly settings: SandboxSettings) {}

  async status(): Promise<SandboxStatus> {
    return (await this.probe()).status;
  }

  /** The status, or SANDBOX_UNAVAILABLE when a process with this profile may not run here. */
  async check(profile: Pick<SandboxProfile, 'network'>): Promise<SandboxStatus> {
    const { status } = await this.probe();
    if (status.kind === 'none' && this.settings.requireSandbox) {
      throw new AppError(
        'SANDBOX_UNAVAILABLE',
        `Skills and stdio MCP servers must run in a sandbox (skills.requireSandbox) and none is available: ${status.reason}`,
        { reason: status.reason },
      );
    }
    if (status.kind === 'bwrap' && profile.network && status.network === 'none') {
      const reason = 'neither slirp4netns nor pasta is installed';
      throw new AppError('SANDBOX_UNAVAILABLE', `This needs the network, which the sandbox gives only through a user-mode stack, and ${reason}`, { reason });
    }
    return status;
  }

  /** Starts `command` under the profile; the network, when the profile has it, is up before the command runs. */
  async spawn(command: string[], profile: SandboxProfile, options: SpawnOptions): Promise<SandboxedProcess> {
    const status = await this.check(profile);
    const { cgroups, network, prlimit } = await this.probe();
    const { limits, hidden, bwrap } = this.settings;
    const sandboxed = status.kind === 'bwrap';
    const networked = sandboxed && profile.network;
    // prlimit runs inside bubblewrap, so RLIMIT_NPROC counts the sandbox's user namespace only.
    const limited = prlimit ? [prlimit, ...prlimitArgs(limits, { nproc: sandboxed }), '--', ...command] : command;
    const boxed = sandboxed
      ? [bwrap, ...bwrapArgs(profile, { hidden, tmpBytes: limits.tmpBytes, ...(networked ? { network: NETWORK_FDS } : {}) }), '--', ...limited]
      : limited;
    const cgroup = cgroups ? await cgroups.create(limits.processes) : undefined;
    const [file, ...args] = cgroup ? enterCgroup(cgroup, boxed) : boxed;
    // detached: the process leads a new process group, so one kill reaches everything it started.
    const child = spawn(file!, args, { cwd: options.cwd, env: options.env, detached: true, stdio: Array(networked ? 6 : 3).fill('pipe') });
    let attached: AttachedNetwork | undefined;
    const started = track(child as ChildProcessByStdio<Writable, Readable, Readable>, status.kind, async () => {
      attached?.stop();
      await cgroup?.release();
    });
    if (!networked) return started;
    try {
      attached = await connectNetwork(child, network!);
    } catch (error) {
      started.kill();
      await started.exit.catch(() => undefined);
      const reason = (error as Error).message;
      throw new AppError('SANDBOX_UNAVAILABLE', `The sandbox's network could not be set up: ${reason}`, { reason });
    }
    return started;
  }

  /** Removes what the sandbox keeps for the life of the server (its parent pids cgroup). */
  async close(): Promise<void> {
    clearTimeout(this.reprobe);
    (await this.machine)?.cgroups?.close();
  }

  private probe(): Promise<Machine> {
    this.machine ??= this.detect();
    return this.machine;
  }

  private async detect(): Promise<Machine> {
    const { bwrap, probeFile } = this.settings;
    const opened = PidsCgroups.open();
    if (!probeFile) return machineOf(this.settings, await probeBwrap(bwrap), opened);
    const { outcome, remembered } = await rememberedProbe(bwrap, probeFile);
    // A kept outcome is checked again soon after: what it depends on is most, not all, of what decides it (a container's
    // seccomp profile is not in it). Should it have changed, the status changes with it.
    if (remembered) {
      this.reprobe = setTimeout(() => {
        void probeBwrap(bwrap).then((fresh) => {
          rememberProbe(bwrap, probeFile, fresh);
          if (fresh.kind !== outcome.kind || fresh.reason !== outcome.reason) this.machine = Promise.resolve(machineOf(this.settings, fresh, opened));
        });
      }, this.settings.reprobeAfterMs ?? REPROBE_AFTER_MS);
      this.reprobe.unref();
    }
    return machineOf(this.settings, outcome, opened);
  }
}

/** What the machine offers, given the probe's outcome and the pids cgroup opened for the server (or why none was). */
function machineOf(settings: SandboxSettings, { kind, reason }: ProbeOutcome, opened: PidsCgroups | { reason: string }): Machine {
  const prlimit = findOnSystemPath('prlimit') ?? null;
  const network = kind === 'bwrap' ? findUserNetwork(settings) : null;
  const [cgroups, cgroupsMissing] = opened instanceof PidsCgroups ? [opened, ''] : [null, opened.reason];
  const root = process.getuid?.() === 0;
  const processLimit: ProcessLimit = cgroups ? 'cgroup' : kind === 'bwrap' && prlimit && !root ? 'rlimit' : 'none';
  const warnings: string[] = [];
  if (kind === 'none') {
    warnings.push(`No sandbox (${reason}): skills and stdio MCP servers run as the server's user, seeing its files, network and processes.`);
  } else if (!network) {
    warnings.push('Neither slirp4netns nor pasta is installed: skills and stdio MCP servers that need the network are refused.');
  }
  if (!prlimit) warnings.push('prlimit (util-linux) is not installed: memory, CPU time, open files and file size are not limited.');
  if (processLimit === 'none') {
    const why = root ? 'RLIMIT_NPROC does not bind root' : kind === 'none' ? 'RLIMIT_NPROC needs the sandbox\'s user namespace' : 'prlimit is not installed';
    warnings.push(`The number of processes is not limited: ${why}, and the server ${cgroupsMissing}.`);
  }
  const status: SandboxStatus = {
    kind,
    ...(reason ? { reason } : {}),
    network: network?.kind ?? 'none',
    processLimit,
    warnings,
  };
  return { status, cgroups, network, prlimit };
}

function track(child: ChildProcessByStdio<Writable, Readable, Readable>, kind: SandboxKind, cleanup: () => Promise<void>): SandboxedProcess {
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const exit = new Promise<ProcessExit>((resolve, reject) => {
    child.on('error', (error) => {
      if (child.pid === undefined) void cleanup().finally(() => reject(error));
    });
    child.once('exit', (code, signal) => {
      // Whatever it left running in its process group dies with it.
      kill();
      const grace = setTimeout(() => {
        for (const stream of child.stdio) stream?.destroy();
      }, PIPE_GRACE_MS);
      child.once('close', () => {
        clearTimeout(grace);
        void cleanup().finally(() => resolve({ code, signal }));
      });
    });
  });
  return { child, kind, exit, kill };
}

/** Learns the sandbox's PID from bubblewrap, attaches the network stack to its namespace, then lets the command run. */
async function connectNetwork(child: ChildProcess, network: UserNetwork): Promise<AttachedNetwork> {
  const [info, block, resolvConf] = child.stdio.slice(NETWORK_FDS.info) as [Readable, Writable, Writable];
  // bubblewrap may already be gone (its exit says why): writes to it must not throw.
  for (const stream of [info, block, resolvConf]) stream.on('error', () => undefined);
  resolvConf.end(`nameserver ${SANDBOX_DNS}\n`);
  const attached = await attachUserNetwork(network, await sandboxPid(info));
  block.end('1');
  return attached;
}

function sandboxPid(info: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    info.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      try {
        const pid = (JSON.parse(text) as { 'child-pid'?: unknown })['child-pid'];
        if (typeof pid === 'number') resolve(pid);
      } catch {
        // not all of it yet
      }
    });
    info.once('close', () => reject(new Error('bubblewrap exited before it created the sandbox')));
  });
}
