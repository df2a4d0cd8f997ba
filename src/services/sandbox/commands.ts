/** Where sandboxed programs are found: the system PATH (never the server's own), and what of an installation outside it to bind. */
import { accessSync, constants, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/** The PATH sandboxed programs see. Version managers' shims on the server's own PATH do not work in a sandbox. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the sandbox binds without fsRead; a program installed elsewhere needs its installation bound too. */
const SYSTEM_PREFIXES = ['/usr/', '/bin/', '/sbin/', '/lib/', '/lib64/'];

export interface ResolvedCommand {
  path: string;
  /** Its installation directory when it lives outside the system directories (e.g. /opt/hostedtoolcache/node/20/x64). */
  prefix: string | null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnSystemPath(command: string): string | undefined {
  return SYSTEM_PATH.split(':')
    .map((dir) => join(dir, command))
    .find(isExecutable);
}

/** The directory two levels above the real binary (`<prefix>/bin/node`), unless it is a system directory. */
export function installPrefix(path: string): string | null {
  const real = realpathSync(path);
  return SYSTEM_PREFIXES.some((prefix) => real.startsWith(prefix)) ? null : dirname(dirname(real));
}

/** An absolute path to an executable, or a bare name found on SYSTEM_PATH; null for anything else. */
export function resolveCommand(command: string): ResolvedCommand | null {
  const path = isAbsolute(command) ? (isExecutable(command) ? command : undefined) : command.includes('/') ? undefined : findOnSystemPath(command);
  return path ? { path, prefix: installPrefix(path) } : null;
}
