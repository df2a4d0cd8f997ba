/** How the serving commands end on SIGTERM or SIGINT: the server drains within http.shutdownGraceMs, then the process exits. */
import type { RunningServer } from '../http/server.ts';

/** Past the grace period, what stopping the services (runs, MCP servers, the database) may take before the process exits anyway. */
const SERVICES_STOP_MS = 10_000;

export function exitOnSignals(server: RunningServer): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      process.stderr.write('Shutdown took too long: exiting without waiting further\n');
      process.exit(1);
    }, server.services.config.http.shutdownGraceMs + SERVICES_STOP_MS).unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Shutdown failed: ${(error as Error).stack ?? String(error)}\n`);
        process.exit(1);
      },
    );
  };
  // Once each: the same signal again (a second Ctrl-C) gets node's default, an immediate exit.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
