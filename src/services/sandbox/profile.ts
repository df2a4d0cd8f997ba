/**
 * What a sandboxed process may see and do, and the bubblewrap arguments that enforce it: own namespaces (PID, network,
 * user ...), the host filesystem read-only or only system directories, its working directory, and the paths always hidden.
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';

export interface SandboxProfile {
  /** Outbound connections through a user-mode network stack; never the host's loopback. */
  network: boolean;
  /** The host filesystem, read-only (minus the hidden paths); otherwise system directories and the working directory only. */
  fsRead: boolean;
  /** The working directory is writable; otherwise read-only. */
  fsWrite: boolean;
  workdir: string;
  /** TMPDIR inside the working directory: a fresh tmpfs there when the working directory is read-only. */
  tmpdir?: string;
  /** Extra read-only directories, e.g. an interpreter installed under /opt (or under /tmp, which is private otherwise). */
  readOnly: string[];
}

/** The file descriptors through which the sandbox's network is set up before its command runs. */
export interface NetworkFds {
  /** bwrap writes `{"child-pid": N}` here once the namespaces exist. */
  info: number;
  /** bwrap waits for a byte here before it runs the command. */
  block: number;
  /** bwrap reads the sandbox's /etc/resolv.conf from here. */
  resolvConf: number;
}

export interface BwrapLayout {
  /** Never visible inside, whatever the profile asks (the server's data directory, the database's directory). */
  hidden: string[];
  /** Size of the private /tmp and of a TMPDIR tmpfs. */
  tmpBytes: number;
  network?: NetworkFds;
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

/** The real paths to hide (the host filesystem shows them through their real path) that exist, each as a directory or a file. */
function hiddenPaths(paths: string[]): Array<{ path: string; directory: boolean }> {
  return paths.flatMap((path) => {
    try {
      const real = realpathSync(path);
      return [{ path: real, directory: statSync(real).isDirectory() }];
    } catch {
      return [];
    }
  });
}

export function bwrapArgs(profile: SandboxProfile, layout: BwrapLayout): string[] {
  // --unshare-all: own user, PID, network, IPC, UTS and cgroup namespaces; the network stays unshared even with
  // profile.network, which gets a user-mode stack in its own namespace instead of the host's.
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  if (profile.fsRead) {
    args.push('--ro-bind', '/', '/');
  } else {
    for (const dir of SYSTEM_DIRS) args.push(...systemDirArgs(dir));
    for (const entry of ETC_ENTRIES) args.push('--ro-bind-try', `/etc/${entry}`, `/etc/${entry}`);
  }
  // A fresh /proc of its own PID namespace: neither the server's processes nor their environment.
  args.push('--proc', '/proc', '--dev', '/dev', '--size', String(layout.tmpBytes), '--tmpfs', '/tmp');
  // The installations its program needs, after the private /tmp so that one under the host's /tmp is not hidden by it
  // (with fsRead the host filesystem shows the others already).
  for (const dir of profile.readOnly) args.push('--ro-bind', dir, dir);
  if (layout.network) args.push('--ro-bind-data', String(layout.network.resolvConf), '/etc/resolv.conf');
  // After every bind that could show them, before the working directory, which lives under the data directory.
  const hidden = hiddenPaths(layout.hidden);
  for (const { path, directory } of hidden) args.push(...(directory ? ['--tmpfs', path] : ['--ro-bind', '/dev/null', path]));
  args.push(profile.fsWrite ? '--bind' : '--ro-bind', profile.workdir, profile.workdir);
  if (!profile.fsWrite && profile.tmpdir) args.push('--size', String(layout.tmpBytes), '--tmpfs', profile.tmpdir);
  // Read-only, so the empty directories standing in for hidden ones cannot be filled (the working directory is its own mount).
  for (const { path, directory } of hidden) if (directory) args.push('--remount-ro', path);
  args.push('--chdir', profile.workdir);
  if (layout.network) args.push('--info-fd', String(layout.network.info), '--block-fd', String(layout.network.block));
  return args;
}
