#!/usr/bin/env node
// The `moxxy` command: the compiled server (dist/server, built by `npm install`) while it matches the sources,
// else the TypeScript sources through tsx's loader (a checkout without a build, sources edited since, MOXXY_NO_BUILD=1).
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { BUILD_ENTRY, staleness } from '../scripts/server-build-info.mjs';

// Start-up leaves much short-lived garbage (module code, schemas): at V8's default growth factor the young generation
// grows to hold it and keeps that memory, ~10 MB, while the server idles. `moxxy serve` restores the default once it
// listens (src/cli/main.ts), so a busy server's young generation grows as before.
setFlagsFromString('--semi-space-growth-factor=1');

if (process.env.MOXXY_NO_BUILD !== '1' && staleness().length === 0) {
  // Tells the bundle where its build lies (the OpenAPI document made with it: src/http/openapi-document.ts).
  globalThis[Symbol.for('moxxy.serverBuild')] = dirname(BUILD_ENTRY);
  await import(pathToFileURL(BUILD_ENTRY).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
