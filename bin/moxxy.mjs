#!/usr/bin/env node
// The `moxxy` command: the compiled server (dist/server, built by `npm install`) while it matches the sources,
// else the TypeScript sources through tsx's loader (a checkout without a build, sources edited since, MOXXY_NO_BUILD=1).
import { setFlagsFromString } from 'node:v8';
import { staleness } from '../scripts/server-build-info.mjs';

if (process.env.MOXXY_NO_BUILD !== '1' && staleness().length === 0) {
  const { runBuild } = await import('../scripts/server-build-run.mjs');
  runBuild();
} else {
  // As scripts/server-build-run.mjs does for the build: a young generation that does not grow while the server
  // starts; `moxxy serve` restores V8's default once it listens (src/cli/main.ts).
  setFlagsFromString('--semi-space-growth-factor=1');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
