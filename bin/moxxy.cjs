#!/usr/bin/env node
// The `moxxy` command: the compiled server (dist/server, built by `npm install`) while it matches the sources,
// else the TypeScript sources through tsx's loader (a checkout without a build, sources edited since, MOXXY_NO_BUILD=1).
// CommonJS, as the scripts it loads: the compiled server starts without node's ES module loader (~10 ms).
'use strict';
const { staleness } = require('../scripts/server-build-info.cjs');
const { prefetchBuild, runBuild } = require('../scripts/server-build-run.cjs');
const { lowerForStart } = require('../scripts/v8-start.cjs');

const useBuild = process.env.MOXXY_NO_BUILD !== '1';
// The bundle and its code cache are read on libuv's threads while the build is compared with the sources.
const read = useBuild ? prefetchBuild().catch(() => undefined) : undefined;
if (useBuild && staleness().length === 0) {
  void read.then(runBuild);
} else {
  // As scripts/server-build-run.cjs does for the build: V8 settings for the start, undone once it is over.
  lowerForStart();
  void import('tsx/esm/api').then(({ register }) => {
    register();
    return import('../src/cli/main.ts');
  });
}
