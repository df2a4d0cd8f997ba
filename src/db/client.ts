/** Opens the libSQL database (embedded file by default), tunes it and applies migrations. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client, Config } from '@libsql/client';
import { createClient as createEmbeddedClient } from '@libsql/client/sqlite3';
import type { LibSQLDatabase } from 'drizzle-orm/libsql';
// drizzle's sqlite3 entry: the client it would make itself is the embedded one, so its module does not bring the
// remote clients (WebSockets, tls, zlib) into every start.
import { drizzle } from 'drizzle-orm/libsql/sqlite3';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { Checkpointer } from './checkpointer.ts';
import { keepPreparedStatements } from './libsql-native.ts';
import * as schema from './schema.ts';

/** The drizzle database, with its libSQL client (`$client`) for the few statements drizzle cannot build. */
export type Db = LibSQLDatabase<typeof schema> & { $client: Client };
export type DatabaseKind = 'file' | 'memory' | 'remote';

export interface Database {
  db: Db;
  client: Client;
  kind: DatabaseKind;
  /**
   * A consistent single-file copy of the database as it is now, taken while others read and write it
   * (`VACUUM INTO`); the target must not exist yet. Embedded files only.
   */
  backup(target: string): Promise<void>;
  /**
   * For a serving process: the write-ahead log copied into the database by a worker thread rather than inside the
   * commit that fills it (src/db/checkpointer.ts). Embedded files only; a no-op for others.
   */
  checkpointOffLoop(onError: (message: string) => void): Promise<void>;
  /** Closes the client; an embedded file is checkpointed first, so `moxxy.db` alone is then the whole database. */
  close(): Promise<void>;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Whether the database has every migration already, as drizzle's migrate() judges it (it applies each migration of
 * the journal made after the last one the database records). migrate() also reads and hashes every migration's SQL
 * and runs a transaction, each time: a start with nothing to apply asks this one question instead.
 */
async function migrated(client: Client): Promise<boolean> {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ when: number }> };
  let last: number;
  try {
    const result = await client.execute('SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1');
    last = Number(result.rows[0]?.[0]);
  } catch {
    return false; // a new database: no table yet
  }
  return Number.isFinite(last) && journal.entries.every((entry) => entry.when <= last);
}

export function databaseKind(url: string): DatabaseKind {
  if (url === ':memory:' || url === 'file::memory:') return 'memory';
  return url.startsWith('file:') ? 'file' : 'remote';
}

/**
 * A client for a libSQL server (sqld, Turso), over HTTP or WebSockets: its module (with the WebSocket client, tls and
 * zlib) is loaded only for such a database, not for the embedded file most servers use.
 */
async function createRemoteClient(config: Config): Promise<Client> {
  const { createClient } = await import('@libsql/client');
  return createClient(config);
}

export async function openDatabase(url: string, authToken?: string): Promise<Database> {
  const kind = databaseKind(url);
  const path = kind === 'file' ? url.slice('file:'.length).split('?')[0]! : undefined;
  if (path) mkdirSync(dirname(path), { recursive: true });
  let checkpointer: Checkpointer | undefined;
  // The embedded client pools connections and PRAGMAs are per connection, so one connection keeps the
  // settings below in force for every statement (each call is synchronous underneath anyway).
  if (kind !== 'remote') keepPreparedStatements();
  const client = kind === 'remote' ? await createRemoteClient({ url, authToken }) : createEmbeddedClient({ url, authToken, concurrency: 1 });
  if (kind === 'file') {
    // WAL lets readers run beside the writer; the busy timeout rides out a concurrent writer.
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA busy_timeout = 5000');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  // drizzle's migrate() leaves foreign keys enforced on the connection it used; a start that does not run it says so
  // itself.
  if (kind !== 'remote') await client.execute('PRAGMA foreign_keys = ON');
  const db = drizzle(client, { schema });
  if (!(await migrated(client))) await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    db,
    client,
    kind,
    async backup(target) {
      if (kind !== 'file') throw new Error(`Backups are made of embedded database files; back up a ${kind} database with its own tools`);
      if (existsSync(target)) throw new Error(`${target} exists already; choose a new file`);
      mkdirSync(dirname(target), { recursive: true });
      await client.execute({ sql: 'VACUUM INTO ?', args: [target] });
    },
    async checkpointOffLoop(onError) {
      if (!path || checkpointer) return;
      await client.execute('PRAGMA wal_autocheckpoint = 0');
      checkpointer = new Checkpointer(path, { onError });
      checkpointer.start();
    },
    async close() {
      await checkpointer?.stop();
      // Another process may be using the file; then the checkpoint does what it can and the WAL stays theirs.
      if (kind === 'file') await client.execute('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => undefined);
      client.close();
    },
  };
}
