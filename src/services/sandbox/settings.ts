/** The sandbox's settings from the configuration, with the data paths it must never show. */
import { dirname, join, resolve } from 'node:path';
import type { MoxxyConfig } from '../../config/schema.ts';
import { databaseUrl } from '../../config/load.ts';
import type { SandboxSettings } from './sandbox.ts';

/** The directory of a local database file, when it is one (`file:/var/lib/moxxy/moxxy.db`); not `:memory:` nor a remote URL. */
function databaseDirectory(url: string): string[] {
  if (!url.startsWith('file:')) return [];
  const path = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '').split('?')[0]!;
  return path === '' || path === ':memory:' ? [] : [dirname(resolve(path))];
}

export function sandboxSettings(config: MoxxyConfig): SandboxSettings {
  const { bwrap, slirp4netns, requireSandbox, limits } = config.skills;
  // pasta is the fallback from Debian's passt, found on the system PATH.
  return {
    bwrap,
    slirp4netns,
    pasta: 'pasta',
    requireSandbox,
    limits,
    hidden: [config.home, ...databaseDirectory(databaseUrl(config))],
    probeFile: join(config.home, 'sandbox-probe.json'),
  };
}
