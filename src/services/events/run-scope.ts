/**
 * The run on whose behalf code is running, carried through every await of it (AsyncLocalStorage), so that what a
 * run causes deep in other services (a provider's `${vault:KEY}` resolved for its model call, a skill's env_keys)
 * is recorded with its run_id without each layer passing the run along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<string>();

/** Runs `work` (and everything it awaits or starts) as part of the run `runId`. */
export function withinRun<T>(runId: string, work: () => T): T {
  return scope.run(runId, work);
}

/** The run the current code belongs to; null outside any run (an API call, a channel's auth). */
export function currentRunId(): string | null {
  return scope.getStore() ?? null;
}
