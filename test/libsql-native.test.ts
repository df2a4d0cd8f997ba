/**
 * Prepared statements kept per libSQL connection (src/db/libsql-native.ts), on real database files: the embedded
 * client's answers are the same, each SQL text is prepared once per connection, and the cache is bounded.
 */
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createClient } from '@libsql/client/sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { keepPreparedStatements, libsqlModulePath } from '../src/db/libsql-native.ts';
import { makeTempHome } from './helpers/server.ts';

keepPreparedStatements();

interface NativeDatabase {
  prepare(sql: string): object;
  exec(sql: string): void;
  close(): void;
}
const Database = createRequire(import.meta.url)(libsqlModulePath()) as new (path: string) => NativeDatabase;

const homes: string[] = [];
const databaseFile = () => {
  const home = makeTempHome();
  homes.push(home);
  return join(home, 'kept.db');
};
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

describe('kept prepared statements', () => {
  it('give the embedded client the same answers: new values, a failed write, a rolled-back transaction', async () => {
    const client = createClient({ url: `file:${databaseFile()}`, concurrency: 1 });
    try {
      await client.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)');
      const insert = 'INSERT INTO notes (body) VALUES (?)';
      expect((await client.execute({ sql: insert, args: ['a'] })).lastInsertRowid).toBe(1n);
      expect((await client.execute({ sql: insert, args: ['b'] })).rowsAffected).toBe(1);
      await expect(client.execute({ sql: insert, args: ['a'] })).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' });
      expect((await client.execute({ sql: insert, args: ['c'] })).lastInsertRowid).toBe(3n);

      const select = 'SELECT id, body FROM notes WHERE id >= ? ORDER BY id';
      expect((await client.execute({ sql: select, args: [2] })).rows.map((row) => row.body)).toEqual(['b', 'c']);
      expect((await client.execute({ sql: select, args: [1] })).rows.map((row) => row.body)).toEqual(['a', 'b', 'c']);
      expect((await client.execute({ sql: select, args: [1] })).columns).toEqual(['id', 'body']);

      const tx = await client.transaction('write');
      await tx.execute({ sql: insert, args: ['d'] });
      await tx.rollback();
      await client.batch([{ sql: insert, args: ['e'] }, { sql: insert, args: ['f'] }], 'write');
      await expect(client.batch([{ sql: insert, args: ['g'] }, { sql: insert, args: ['a'] }], 'write')).rejects.toThrow();
      expect((await client.execute({ sql: select, args: [1] })).rows.map((row) => row.body)).toEqual(['a', 'b', 'c', 'e', 'f']);
    } finally {
      client.close();
    }
  });

  it('prepares each SQL text once per connection, keeping the 512 most recently used', () => {
    const file = databaseFile();
    const first = new Database(file);
    const second = new Database(file);
    try {
      first.exec('CREATE TABLE t (n INTEGER)');
      const statement = first.prepare('SELECT n FROM t');
      expect(first.prepare('SELECT n FROM t')).toBe(statement);
      // Another connection has statements of its own.
      expect(second.prepare('SELECT n FROM t')).not.toBe(statement);
      for (let i = 0; i < 512; i++) first.prepare(`SELECT n + ${i} FROM t`);
      // 513 texts: the least recently used one was let go, and is prepared anew.
      expect(first.prepare('SELECT n FROM t')).not.toBe(statement);
      const kept = first.prepare('SELECT n + 511 FROM t');
      expect(first.prepare('SELECT n + 511 FROM t')).toBe(kept);
    } finally {
      first.close();
      second.close();
    }
  });
});
