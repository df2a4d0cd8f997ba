/**
 * V8 settings for the few hundred milliseconds of a start, and V8's defaults back once it is over.
 *
 * - `--semi-space-growth-factor=1`: start-up leaves much short-lived garbage (module code, schemas); at V8's default
 *   growth factor the young generation grows to hold it and keeps that memory, ~10 MB, while the server idles.
 * - `--no-opt`: nothing a start runs is run often enough to repay TurboFan, yet V8 optimizes a dozen of its functions
 *   on the way (13, by --trace-opt), each compile in megabytes of fresh zone memory and on the other core: ~700 page
 *   faults and ~30 ms of CPU a start (A/B loops of alternated starts, bench/RESULTS.md).
 *
 * Both are set with v8.setFlagsFromString() after the bundle is compiled from its code cache (which V8 checks against
 * its flags) and undone by startupOver(): `moxxy serve` once it listens, other commands before their action runs
 * (src/cli/main.ts, through the global below as src/http/server-build.ts reads it: the bundle needs nothing from
 * here). A flag the user gave node (on the command line or in NODE_OPTIONS) is left as given.
 */
'use strict';
const { setFlagsFromString } = require('node:v8');

/** [the flag's name as the user would give it, its value for the start, V8's default]. */
const START_FLAGS = [
  [/semi-space-growth-factor/, '--semi-space-growth-factor=1', '--semi-space-growth-factor=2'],
  [/--(no-)?(opt|turbofan)\b|--jitless/, '--no-opt', '--opt'],
];

/** Where the bundle finds startupOver() (src/http/server-build.ts). */
const STARTUP_OVER = Symbol.for('moxxy.startupOver');

/** Sets the start's flags (those the user did not set) until startupOver(). */
function lowerForStart() {
  const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  const lowered = START_FLAGS.filter(([name]) => !name.test(given));
  for (const [, start] of lowered) setFlagsFromString(start);
  globalThis[STARTUP_OVER] = () => {
    delete globalThis[STARTUP_OVER];
    for (const [, , fallback] of lowered) setFlagsFromString(fallback);
  };
}

module.exports = { lowerForStart };
