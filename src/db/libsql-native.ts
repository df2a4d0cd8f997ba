/**
 * libSQL's native binding (the `libsql` package, which @libsql/client's embedded client drives), and the one thing
 * this server changes about how it is used: prepared statements are kept.
 *
 * The embedded client prepares every statement it runs anew (`db.prepare(sql)` for each execute and each statement
 * of a batch), and asks every statement that returns no rows whether it does by catching the error `raw()` throws.
 * In a chat turn that was a third of the time spent in libSQL. Kept per connection, by SQL text (the server's
 * statements are drizzle's, a few hundred shapes with their values bound), a statement is prepared once: SQLite resets
 * a statement whenever it runs again, re-prepares it itself after a schema change, and the client runs each to its end
 * before the next (the binding is synchronous), so sharing one per SQL text changes no result.
 */
import { createRequire } from 'node:module';
import Database from 'libsql';

/** Statements kept per connection; the least recently used goes first. */
const MAX_STATEMENTS = 512;

interface NativeStatement {
  readonly reader: boolean;
  raw(toggle?: boolean): NativeStatement;
}

interface NativeDatabaseClass {
  prototype: {
    prepare(sql: string): NativeStatement;
    close(): void;
    [KEPT]?: true;
  };
}

const KEPT = Symbol('moxxy.statementsKept');

let libsqlModule: string | undefined;

/**
 * Where the `libsql` package is, for a worker thread to load it (src/db/checkpointer.ts). It is a dependency of its
 * own, at @libsql/client's version, so that this module's `libsql` is the one the client drives (in the compiled
 * server, both are the bundle's). Found when a worker first needs it: node's resolution from the bundle's directory
 * was ~8 ms of every start.
 */
export function libsqlModulePath(): string {
  return (libsqlModule ??= createRequire(import.meta.url).resolve('libsql'));
}

/** From now on, connections of this process keep their prepared statements (at most MAX_STATEMENTS each). */
export function keepPreparedStatements(): void {
  const proto = (Database as unknown as NativeDatabaseClass).prototype;
  if (proto[KEPT]) return;
  proto[KEPT] = true;
  const caches = new WeakMap<object, Map<string, NativeStatement>>();
  const prepare = proto.prepare;
  const close = proto.close;
  proto.prepare = function (this: object, sql: string): NativeStatement {
    let cache = caches.get(this);
    if (!cache) caches.set(this, (cache = new Map()));
    const kept = cache.get(sql);
    if (kept) {
      cache.delete(sql);
      cache.set(sql, kept);
      return kept;
    }
    const statement = prepare.call(this, sql);
    if (!statement.reader) {
      // The client's question (raw() throws for a statement without rows), answered without making an error each time.
      let answer: unknown;
      try {
        statement.raw(true);
      } catch (error) {
        answer = error;
      }
      if (answer !== undefined) {
        Object.defineProperty(statement, 'raw', {
          value: () => {
            throw answer;
          },
        });
      }
    }
    cache.set(sql, statement);
    if (cache.size > MAX_STATEMENTS) cache.delete(cache.keys().next().value!);
    return statement;
  };
  proto.close = function (this: object) {
    caches.delete(this);
    return close.call(this);
  };
}
