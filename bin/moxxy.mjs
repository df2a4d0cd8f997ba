#!/usr/bin/env node
// The `moxxy` command: the compiled server (dist/server, built by `npm install`) while it matches the sources,
// else the TypeScript sources through tsx's loader (a checkout without a build, sources edited since, MOXXY_NO_BUILD=1).
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_ENTRY, staleness } from '../scripts/server-build-info.mjs';

if (process.env.MOXXY_NO_BUILD !== '1' && staleness().length === 0) {
  // Tells the bundle where its build lies (the OpenAPI document made with it: src/http/openapi-document.ts).
  globalThis[Symbol.for('moxxy.serverBuild')] = dirname(BUILD_ENTRY);
  await import(pathToFileURL(BUILD_ENTRY).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
