import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { describe, expect, it } from 'vitest';
import { makeTempHome, createApi } from './helpers/server.ts';
import { runCli, spawnServer } from './helpers/process.ts';

describe('the server process', () => {
  it('keeps data across a restart on the same database file', async () => {
    const home = makeTempHome();
    try {
      const first = await spawnServer({ MOXXY_HOME: home });
      const api = createApi(first.url);
      expect((await api.post('/api/agents', { name: 'survivor', system_prompt: 'Remember me.' })).status).toBe(201);
      expect(await first.stop()).toBe(0);

      const second = await spawnServer({ MOXXY_HOME: home });
      const again = createApi(second.url);
      const res = await again.get('/api/agents/survivor');
      expect(res.status).toBe(200);
      expect(res.body.data.system_prompt).toBe('Remember me.');
      expect((await again.get('/api/agents?limit=100')).body.data.pagination.total).toBe(2);
      await second.stop();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("applies the migrations a database made by an earlier version lacks, once", async () => {
    const home = makeTempHome();
    const folder = mkdtempSync(join(tmpdir(), 'moxxy-migrations-'));
    const file = `file:${join(home, 'moxxy.db')}`;
    const journal = JSON.parse(readFileSync(new URL('../drizzle/meta/_journal.json', import.meta.url), 'utf8')) as { entries: Array<{ tag: string }> };
    const appliedRows = async () => {
      const client = createClient({ url: file });
      try {
        return (await client.execute('SELECT hash, created_at FROM "__drizzle_migrations" ORDER BY created_at')).rows.map((row) => [row.hash, row.created_at]);
      } finally {
        client.close();
      }
    };
    try {
      // The database as the version before the last migration left it.
      cpSync(new URL('../drizzle', import.meta.url), folder, { recursive: true });
      writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, -1) }));
      const older = createClient({ url: file });
      await migrate(drizzle(older), { migrationsFolder: folder });
      older.close();
      expect(await appliedRows()).toHaveLength(journal.entries.length - 1);

      const server = await spawnServer({ MOXXY_HOME: home });
      const api = createApi(server.url);
      // The last migration's column (agents.subagents) is there.
      expect((await api.post('/api/agents', { name: 'helper', system_prompt: 'Help.' })).status).toBe(201);
      const created = await api.post('/api/agents', { name: 'lead', system_prompt: 'Lead.', subagents: ['helper'] });
      expect(created.status).toBe(201);
      expect(created.body.data.subagents).toEqual(['helper']);
      expect(await server.stop()).toBe(0);
      const applied = await appliedRows();
      expect(applied).toHaveLength(journal.entries.length);

      // A database with every migration is left as it is.
      const again = await spawnServer({ MOXXY_HOME: home });
      expect((await createApi(again.url).get('/api/agents/lead')).body.data.subagents).toEqual(['helper']);
      expect(await again.stop()).toBe(0);
      expect(await appliedRows()).toEqual(applied);
    } finally {
      rmSync(home, { recursive: true, force: true });
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('uses MOXXY_DATABASE_URL when given', async () => {
    const home = makeTempHome();
    try {
      const server = await spawnServer({ MOXXY_HOME: home, MOXXY_DATABASE_URL: `file:${join(home, 'elsewhere', 'custom.db')}` });
      const health = await createApi(server.url).get('/api/health');
      expect(health.body.data.database).toMatchObject({ status: 'ok', kind: 'file' });
      await server.stop();
      const { existsSync } = await import('node:fs');
      expect(existsSync(join(home, 'elsewhere', 'custom.db'))).toBe(true);
      expect(existsSync(join(home, 'moxxy.db'))).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('backups', () => {
  async function countMessages(file: string): Promise<number> {
    const { createClient } = await import('@libsql/client');
    const client = createClient({ url: `file:${file}` });
    try {
      return Number((await client.execute('SELECT count(*) AS n FROM messages')).rows[0]!.n);
    } finally {
      client.close();
    }
  }

  it('copies a running server\'s database with moxxy backup, and a clean stop leaves moxxy.db complete on its own', async () => {
    const home = makeTempHome();
    try {
      const server = await spawnServer({ MOXXY_HOME: home });
      const api = createApi(server.url);
      // Under the chat rate limit (10 a second).
      for (let turn = 0; turn < 8; turn++) {
        expect((await api.post('/api/agents/default/chat', { message: `turn ${turn}`, session_id: 'kept' })).status).toBe(200);
      }
      const backup = join(home, 'backups', 'while-running.db');
      const made = await runCli(['backup', backup], { MOXXY_HOME: home });
      expect(made.code).toBe(0);
      expect(made.stdout.trim()).toBe(backup);
      expect(await countMessages(backup)).toBe(16);
      const again = await runCli(['backup', backup], { MOXXY_HOME: home });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('exists already');

      expect(await server.stop()).toBe(0);
      // The file alone, without its -wal: a copy someone makes with cp after a clean stop.
      const copy = join(home, 'copied.db');
      copyFileSync(join(home, 'moxxy.db'), copy);
      expect(await countMessages(copy)).toBe(16);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
