/** How the `moxxy` command reports a failure: one line on stderr, exit status 1. */
export function fail(message: string): never {
  process.stderr.write(`moxxy: ${message}\n`);
  process.exit(1);
}

/** fail() for input a schema refused: each issue as `path: message`. */
export function failWithIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): never {
  fail(issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; '));
}

interface ListenError {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
}

/** A server that cannot listen, said in one line with what to do about it; undefined for any other failure. */
export function listenFailure(error: unknown): string | undefined {
  const { code, syscall, address, port } = (error ?? {}) as ListenError;
  if (syscall !== 'listen') return undefined;
  const where = `${address}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is in use (another moxxy?); stop what listens there or choose another port with --port`;
    case 'EACCES':
      return `cannot listen on ${where}: ports below 1024 need privileges; choose another port with --port`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${address} is not an address of this machine; choose another with --host`;
    default:
      return undefined;
  }
}
