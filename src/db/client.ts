/** Opens the libSQL database (embedded file by default), tunes it and applies migrations. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import * as schema from './schema.ts';

export type Db = LibSQLDatabase<typeof schema>;
export type DatabaseKind = 'file' | 'memory' | 'remote';

export interface Database {
  db: Db;
  client: Client;
  kind: DatabaseKind;
  close(): void;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

export function databaseKind(url: string): DatabaseKind {
  if (url === ':memory:' || url === 'file::memory:') return 'memory';
  return url.startsWith('file:') ? 'file' : 'remote';
}

export async function openDatabase(url: string, authToken?: string): Promise<Database> {
  const kind = databaseKind(url);
  if (kind === 'file') {
    const path = url.slice('file:'.length).split('?')[0]!;
    mkdirSync(dirname(path), { recursive: true });
  }
  // The embedded client pools connections and PRAGMAs are per connection, so one connection keeps the
  // settings below in force for every statement (each call is synchronous underneath anyway).
  const client = createClient({ url, authToken, ...(kind === 'remote' ? {} : { concurrency: 1 }) });
  if (kind === 'file') {
    // WAL lets readers run beside the writer; the busy timeout rides out a concurrent writer.
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA busy_timeout = 5000');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  await client.execute('PRAGMA foreign_keys = ON').catch(() => undefined);
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db, client, kind, close: () => client.close() };
}
