#!/usr/bin/env node
// The `moxxy` command: the compiled server (dist/server, built by `npm install`) while it matches the sources,
// else the TypeScript sources through tsx's loader (a checkout without a build, sources edited since, MOXXY_NO_BUILD=1).
import { setFlagsFromString } from 'node:v8';
import { staleness } from '../scripts/server-build-info.mjs';
import { prefetchBuild, runBuild } from '../scripts/server-build-run.mjs';

const useBuild = process.env.MOXXY_NO_BUILD !== '1';
// The bundle and its code cache are read on libuv's threads while the build is compared with the sources.
const read = useBuild ? prefetchBuild().catch(() => undefined) : undefined;
if (useBuild && staleness().length === 0) {
  runBuild(await read);
} else {
  // As scripts/server-build-run.mjs does for the build: a young generation that does not grow while the server
  // starts; `moxxy serve` restores V8's default once it listens (src/cli/main.ts).
  setFlagsFromString('--semi-space-growth-factor=1');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
