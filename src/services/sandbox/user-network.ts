/**
 * The network of sandboxes that need one: a user-mode stack (slirp4netns, else pasta) attached to the sandbox's own
 * network namespace. Connections leave as the server's ordinary sockets, and the host's loopback is out of reach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import type { SandboxNetwork } from '../../domain/sandbox.ts';
import { resolveCommand } from './commands.ts';

export interface UserNetwork {
  kind: Exclude<SandboxNetwork, 'none'>;
  path: string;
}

/** slirp4netns's built-in DNS forwarder, which pasta is told to answer on too. */
export const SANDBOX_DNS = '10.0.2.3';

const READY_TIMEOUT_MS = 10_000;
const ROUTE_POLL_MS = 10;
const LOOPBACK_WAIT_MS = 2_000;
const LOOPBACK_POLL_MS = 2;

/** slirp4netns when it is installed, else pasta: each a path, or a name on the system PATH. */
export function findUserNetwork(binaries: { slirp4netns: string; pasta: string }): UserNetwork | null {
  const slirp = resolveCommand(binaries.slirp4netns);
  if (slirp) return { kind: 'slirp4netns', path: slirp.path };
  const pasta = resolveCommand(binaries.pasta);
  return pasta ? { kind: 'pasta', path: pasta.path } : null;
}

export interface AttachedNetwork {
  stop(): void;
}

/** Gives the network namespace of `pid` an interface with a default route; resolves once it is up. */
export async function attachUserNetwork(network: UserNetwork, pid: number): Promise<AttachedNetwork> {
  await loopbackConfigured(pid);
  const stack = network.kind === 'slirp4netns' ? startSlirp4netns(network.path, pid) : startPasta(network.path, pid);
  const stop = () => stack.kill('SIGKILL');
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stack.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => settle(new Error(`${network.kind} did not set up the network within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        settle(new Error(`${network.kind} exited (${signal ?? `code ${code}`}) before the network was up`));
      stack.once('exit', onExit);
      stack.once('error', settle);
      if (network.kind === 'slirp4netns') (stack.stdio[3] as Readable).once('data', () => settle());
      else defaultRoute(pid, () => settled).then(() => settle(), settle);
    });
  } catch (error) {
    stop();
    throw error;
  }
  return { stop };
}

function startSlirp4netns(path: string, pid: number): ChildProcess {
  // --disable-host-loopback: 10.0.2.2 would otherwise be the host's 127.0.0.1. --enable-sandbox and --enable-seccomp
  // confine slirp4netns itself. It says it is ready on fd 3, and exits when fd 4 closes, with the server if need be.
  return spawn(
    path,
    ['--configure', '--mtu=65520', '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp', '--ready-fd=3', '--exit-fd=4', String(pid), 'tap0'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
  );
}

function startPasta(path: string, pid: number): ChildProcess {
  // No port forwarding either way (-T auto would carry the sandbox's loopback to the host's), no gateway mapped to the
  // host, and DNS answered at the address slirp4netns uses. pasta refuses root unless told whom to run as.
  const user = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
  return spawn(
    path,
    ['--config-net', '--foreground', '--quiet', '--ipv4-only', '-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none', '--no-map-gw', '--dns-forward', SANDBOX_DNS, '--runas', user, String(pid)],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
}

/**
 * bubblewrap names the sandbox's pid as soon as it has made the namespaces, and then, in the sandbox, gives its
 * loopback 127.0.0.1 and brings it up; pasta brings the loopback up too (which gives it 127.0.0.1), and when it came
 * first bubblewrap failed ("loopback: Failed RTM_NEWADDR"). The stack starts once the address is there: the
 * namespace's local routing table holds it. Where that table cannot be read it starts at once, as before; without the address, after 2 s.
 */
async function loopbackConfigured(pid: number): Promise<void> {
  const deadline = Date.now() + LOOPBACK_WAIT_MS;
  while (Date.now() < deadline) {
    const table = await readFile(`/proc/${pid}/net/fib_trie`, 'utf8').catch(() => undefined);
    if (table === undefined || table.includes('127.0.0.1')) return;
    await sleep(LOOPBACK_POLL_MS);
  }
}

/** pasta has no readiness signal: the namespace's default route appears once it has configured the interface. */
async function defaultRoute(pid: number, abandoned: () => boolean): Promise<void> {
  while (!abandoned()) {
    const routes = await readFile(`/proc/${pid}/net/route`, 'utf8');
    if (routes.split('\n').slice(1).some((line) => line.split('\t')[1] === '00000000')) return;
    await sleep(ROUTE_POLL_MS);
  }
}
