/**
 * WAL checkpoints off the event loop (src/db/checkpointer.ts): a serving process turns SQLite's automatic checkpoint
 * off and copies the log from a worker thread. Real libSQL files, a real `moxxy serve` killed with SIGKILL.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { describe, expect, it } from 'vitest';
import { Checkpointer } from '../src/db/checkpointer.ts';
import { spawnServer } from './helpers/process.ts';
import { createApi, makeTempHome } from './helpers/server.ts';

const size = (file: string) => (existsSync(file) ? statSync(file).size : 0);

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the checkpointer', () => {
  it('copies a log past its threshold into the database from a worker, and stops the worker when quiet', async () => {
    const home = makeTempHome();
    const file = join(home, 'wal.db');
    const client = createClient({ url: `file:${file}`, concurrency: 1 });
    const checkpointer = new Checkpointer(file, { thresholdPages: 256, checkEveryMs: 20, quietMs: 300 });
    try {
      await client.execute('PRAGMA journal_mode = WAL');
      await client.execute('PRAGMA wal_autocheckpoint = 0');
      await client.execute('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)');
      for (let i = 0; i < 40; i++) await client.execute({ sql: 'INSERT INTO blobs (body) VALUES (randomblob(65536))', args: [] });
      // Nothing has copied the log: the rows are all in it, the database file holds little.
      expect(size(`${file}-wal`)).toBeGreaterThan(40 * 65536);
      expect(size(file)).toBeLessThan(64 * 1024);

      checkpointer.start();
      await until('the checkpoint', () => size(file) >= 40 * 65536);
      expect(checkpointer.stats.workerRunning).toBe(true);
      // The copy is the database's: the rows are read from the file.
      expect(Number((await client.execute('SELECT count(*) AS n FROM blobs')).rows[0]!.n)).toBe(40);
      // Nothing written for a while: the log is truncated and the worker stops.
      await until('the worker to stop', () => !checkpointer.stats.workerRunning, 5_000);
      expect(size(`${file}-wal`)).toBe(0);
      const { checkpoints } = checkpointer.stats;
      // A log below the threshold is left alone, with no worker.
      await client.execute({ sql: 'INSERT INTO blobs (body) VALUES (randomblob(1024))', args: [] });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(checkpointer.stats).toEqual({ checkpoints, workerRunning: false });
        } finally {
      await checkpointer.stop();
      client.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('runs in a serving process: turns reach the database file, and SIGKILL loses none of the acknowledged ones', async () => {
    const home = makeTempHome();
    writeFileSync(join(home, 'moxxy.config.json'), JSON.stringify({ rateLimits: { enabled: false } }));
    const file = join(home, 'moxxy.db');
    try {
      const server = await spawnServer({ MOXXY_HOME: home });
      const api = createApi(server.url);
      const before = size(file);
      // Some 5 MB of log: past the threshold (1000 pages).
      let turns = 0;
      while (size(`${file}-wal`) < 5 * 1024 * 1024 && turns < 400) {
        const res = await api.post('/api/agents/default/chat', { message: `turn ${turns}: ${'x'.repeat(20_000)}` });
        expect(res.status).toBe(200);
        turns += 1;
      }
      // The turns' own text (20 kB each) is copied into the database file.
      await until('the database file to take the log', () => size(file) > before + turns * 20_000);
      server.child.kill('SIGKILL');
      await new Promise((resolve) => server.child.once('exit', resolve));

      const client = createClient({ url: `file:${file}` });
      try {
        const rows = await client.execute("SELECT count(*) AS n FROM messages WHERE role = 'user' AND content LIKE 'turn %'");
        expect(Number(rows.rows[0]!.n)).toBe(turns);
      } finally {
        client.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
