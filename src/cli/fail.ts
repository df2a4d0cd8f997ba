/** How the `moxxy` command reports a failure: one line on stderr, exit status 1. */
export function fail(message: string): never {
  process.stderr.write(`moxxy: ${message}\n`);
  process.exit(1);
}
