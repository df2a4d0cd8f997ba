/**
 * A pids cgroup per sandboxed process, under `<pids hierarchy>/<server's own cgroup>/moxxy-<server pid>-<sandbox>/`:
 * the process limit for a server running as root, which RLIMIT_NPROC does not bind (the kernel exempts uid 0).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PidsCgroup {
  /** The file a process writes its pid to, to enter the cgroup. */
  procs: string;
  /** Kills whatever is left in the cgroup and removes it. */
  release(): Promise<void>;
}

interface Hierarchy {
  /** The server's own cgroup in a hierarchy that has the pids controller. */
  dir: string;
  v2: boolean;
}

const PARENT_PREFIX = 'moxxy-';
const RELEASE_ATTEMPTS = 100;
const RELEASE_INTERVAL_MS = 20;

/** Where the server sits in each hierarchy offering pids: cgroup v2 first, then a v1 pids hierarchy. */
function hierarchies(): Hierarchy[] {
  // `<id>:<controllers>:<path>`; cgroup v2 is id 0 with no controllers listed.
  const own = readFileSync('/proc/self/cgroup', 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [id, controllers, ...path] = line.split(':');
      return { v2: id === '0', controllers: controllers!.split(','), path: path.join(':') };
    });
  const found: Hierarchy[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')) {
    const [mount, fs] = line.split(' - ');
    const [, , , root, mountpoint] = mount!.split(' ');
    const [fstype, , options] = fs!.split(' ');
    const v2 = fstype === 'cgroup2';
    if (!v2 && !(fstype === 'cgroup' && options!.split(',').includes('pids'))) continue;
    const path = own.find((cgroup) => (v2 ? cgroup.v2 : cgroup.controllers.includes('pids')))?.path;
    if (path === undefined) continue;
    const inMount = relative(root!, path);
    if (inMount.startsWith('..')) continue;
    const dir = join(mountpoint!, inMount);
    if (v2 && !controllersOf(dir).includes('pids')) continue;
    found.push({ dir, v2 });
  }
  return found.sort((a, b) => Number(b.v2) - Number(a.v2));
}

function controllersOf(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(' ');
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Parents left by servers that died; only empty cgroups can be removed, so a busy one stays. */
function removeStale(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = Number(name.slice(PARENT_PREFIX.length).split('-')[0]);
    if (!name.startsWith(PARENT_PREFIX) || !Number.isInteger(pid) || isAlive(pid)) continue;
    try {
      for (const child of readdirSync(join(dir, name), { withFileTypes: true })) if (child.isDirectory()) rmdirSync(join(dir, name, child.name));
      rmdirSync(join(dir, name));
    } catch {
      // still has processes
    }
  }
}

/** Creates the server's parent cgroup and a trial child with pids.max; throws when this hierarchy does not allow it. */
function prepare({ dir, v2 }: Hierarchy): string {
  removeStale(dir);
  // One parent per Sandbox: a process may hold several (tests do), each numbering its own children.
  const parent = join(dir, `${PARENT_PREFIX}${process.pid}-${randomUUID().slice(0, 8)}`);
  // cgroup v2 hands a controller down only when each level enables it for its children.
  if (v2) writeFileSync(join(dir, 'cgroup.subtree_control'), '+pids');
  mkdirSync(parent, { recursive: true });
  try {
    if (v2) writeFileSync(join(parent, 'cgroup.subtree_control'), '+pids');
    const trial = join(parent, 'trial');
    mkdirSync(trial, { recursive: true });
    try {
      writeFileSync(join(trial, 'pids.max'), '1');
    } finally {
      rmdirSync(trial);
    }
    return parent;
  } catch (error) {
    rmdirSync(parent);
    throw error;
  }
}

export class PidsCgroups {
  private next = 0;

  private constructor(
    private readonly parent: string,
    private readonly v2: boolean,
  ) {}

  /** The first hierarchy where the server may create pids cgroups, or why there is none (a clause: "the server <reason>"). */
  static open(): PidsCgroups | { reason: string } {
    const reasons: string[] = [];
    let found: Hierarchy[];
    try {
      found = hierarchies();
    } catch (error) {
      return { reason: `cannot read its cgroups: ${(error as Error).message}` };
    }
    for (const hierarchy of found) {
      try {
        return new PidsCgroups(prepare(hierarchy), hierarchy.v2);
      } catch (error) {
        reasons.push(`${hierarchy.dir}: ${(error as Error).message}`);
      }
    }
    return { reason: reasons.length ? `cannot create pids cgroups (${reasons.join('; ')})` : 'finds no cgroup hierarchy with the pids controller' };
  }

  async create(maxPids: number): Promise<PidsCgroup> {
    const dir = join(this.parent, String(++this.next));
    await mkdir(dir);
    await writeFile(join(dir, 'pids.max'), String(maxPids));
    return { procs: join(dir, 'cgroup.procs'), release: () => this.release(dir) };
  }

  /** Removes the parent; sandboxed processes are gone by then. */
  close(): void {
    try {
      rmdirSync(this.parent);
    } catch {
      // a process outlived the server's shutdown: removeStale() takes it at the next start
    }
  }

  private async release(dir: string): Promise<void> {
    const kill = join(dir, 'cgroup.kill');
    for (let attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++) {
      const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean).map(Number);
      if (pids.length === 0) {
        try {
          await rmdir(dir);
          return;
        } catch {
          // a process entered between the read and the removal
        }
      }
      // cgroup.kill (v2, Linux >= 5.14) kills atomically; otherwise one by one, racing forks that pids.max bounds.
      if (this.v2 && existsSync(kill)) await writeFile(kill, '1');
      else for (const pid of pids) killQuietly(pid);
      await sleep(RELEASE_INTERVAL_MS);
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs the command inside the cgroup: the shell enters it, then becomes the command, so nothing runs outside it. */
export function enterCgroup(cgroup: PidsCgroup, command: string[]): string[] {
  return ['/bin/sh', '-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', cgroup.procs, ...command];
}
