/**
 * WAL checkpoints off the event loop.
 *
 * SQLite copies the write-ahead log back into the database file inside whichever commit takes the log past its
 * threshold (1000 pages), on the thread that commits: on the server's event loop one chat turn in ~25 paid 8–10 ms
 * for it. A serving process turns that automatic checkpoint off on its connection (Database.checkpointOffLoop) and
 * copies the log from a worker thread with a connection of its own instead, once the log has grown past the same
 * threshold. The checkpoint is PASSIVE — readers and writers carry on while it copies — and durability is unchanged:
 * a commit is in the log, synced as before, when it returns; a checkpoint only moves it into the database file.
 *
 * The worker (a V8 isolate, ~18 MB) starts once the log holds that much and stops after a minute of little writing,
 * so an idle server does not keep it; the log's size is read every half second (one stat).
 */
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { libsqlModulePath } from './libsql-native.ts';

/** The threshold SQLite's own automatic checkpoint uses: 1000 pages of 4 KiB. */
const THRESHOLD_PAGES = 1000;
const PAGE_BYTES = 4096;
const CHECK_EVERY_MS = 500;
const QUIET_MS = 60_000;

type Mode = 'PASSIVE' | 'TRUNCATE';

/** The worker: a libSQL connection of its own, one checkpoint per message (busy: skipped, the next one copies). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.libsql);
const db = new Database(workerData.path);
db.exec('PRAGMA busy_timeout = 0');
const statements = { PASSIVE: db.prepare('PRAGMA wal_checkpoint(PASSIVE)'), TRUNCATE: db.prepare('PRAGMA wal_checkpoint(TRUNCATE)') };
parentPort.on('message', (mode) => {
  try {
    const { busy, log, checkpointed } = statements[mode].get();
    parentPort.postMessage({ busy, log, checkpointed });
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
});
`;

export interface CheckpointResult {
  /** 1 when the checkpoint could not finish (a writer or reader in the way): the next one carries on. */
  busy?: number;
  /** Frames in the log when it ran. */
  log?: number;
  checkpointed?: number;
  error?: string;
}

export interface CheckpointerOptions {
  /** The log's size, in pages, that starts the worker (and, written within `quietMs`, keeps it). */
  thresholdPages?: number;
  checkEveryMs?: number;
  quietMs?: number;
  onError?: (message: string) => void;
}

/**
 * Starts its worker once the log holds `thresholdPages`; then copies the log whenever it has changed (every
 * `checkEveryMs`), until less than `thresholdPages` was written in `quietMs`: then the log is truncated and the worker
 * stops, so a server that writes little (lease renewals) keeps no worker.
 */
export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private worker: Worker | undefined;
  private workerStarted = 0;
  private pending: ((result: CheckpointResult) => void) | undefined;
  private lastChange = -1;
  /** Frames each checkpoint found in the log, with when: what was written lately. */
  private recent: { at: number; frames: number }[] = [];
  private checkpoints = 0;

  constructor(
    private readonly path: string,
    private readonly options: CheckpointerOptions = {},
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.options.checkEveryMs ?? CHECK_EVERY_MS).unref();
  }

  /** How many checkpoints the worker has run, and whether it is running now. */
  get stats(): { checkpoints: number; workerRunning: boolean } {
    return { checkpoints: this.checkpoints, workerRunning: this.worker !== undefined };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.stopWorker();
  }

  private async tick(): Promise<void> {
    if (this.pending) return;
    let wal: { size: number; mtimeMs: number };
    try {
      wal = statSync(`${this.path}-wal`);
    } catch {
      return; // no log yet
    }
    const threshold = this.options.thresholdPages ?? THRESHOLD_PAGES;
    if (!this.worker) {
      if (wal.size < threshold * PAGE_BYTES) return;
      this.worker = this.spawn();
      this.workerStarted = Date.now();
      this.recent = [];
    }
    const now = Date.now();
    if (wal.mtimeMs !== this.lastChange) {
      this.lastChange = wal.mtimeMs;
      const result = await this.checkpoint('PASSIVE');
      this.recent.push({ at: now, frames: result.log ?? 0 });
    }
    const quietMs = this.options.quietMs ?? QUIET_MS;
    this.recent = this.recent.filter((entry) => now - entry.at <= quietMs);
    const written = this.recent.reduce((sum, entry) => sum + entry.frames, 0);
    if (this.worker && now - this.workerStarted >= quietMs && written < threshold) {
      // The log back to nothing, so it takes `thresholdPages` of writing to start the worker again.
      const result = await this.checkpoint('TRUNCATE');
      if (!result.busy && !result.error) await this.stopWorker();
    }
  }

  private checkpoint(mode: Mode): Promise<CheckpointResult> {
    const worker = this.worker;
    if (!worker) return Promise.resolve({ error: 'no worker' });
    return new Promise((resolve) => {
      this.pending = (result) => {
        this.pending = undefined;
        this.checkpoints += 1;
        if (result.error) this.options.onError?.(result.error);
        resolve(result);
      };
      worker.postMessage(mode);
    });
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.pending?.({ error: 'stopped' });
    await worker?.terminate();
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: this.path, libsql: libsqlModulePath() },
      // Its own small heap: it holds a connection and two statements.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    worker.unref();
    worker.on('message', (result: CheckpointResult) => this.pending?.(result));
    worker.on('error', (error) => this.pending?.({ error: error.message }));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.pending?.({ error: 'the checkpoint worker exited' });
    });
    return worker;
  }
}
