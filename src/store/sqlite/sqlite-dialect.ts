// The SQLite-specific parts of the SQL store: write transactions, error mapping, claim locking.
import { sql, type Kysely } from 'kysely';
import { alreadyExists, insufficientStorage, transient, TrawlError } from '../../model/errors.js';
import type { SqlDialect, TransactionOptions } from '../sql/dialect.js';
import type { Database } from '../sql/schema.js';

/** Maps a better-sqlite3 error (or anything else) to a TrawlError, keeping it as `cause`. */
export function mapSqliteError(error: unknown): TrawlError {
  if (error instanceof TrawlError) return error;
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  let mapped: TrawlError;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    mapped = transient('database is locked, retry');
  } else if (code === 'SQLITE_FULL') {
    mapped = insufficientStorage('database storage is full');
  } else if (code.startsWith('SQLITE_READONLY')) {
    mapped = insufficientStorage('database storage is read-only');
  } else if (code.startsWith('SQLITE_IOERR')) {
    mapped = transient('database I/O error, retry');
  } else if (code.startsWith('SQLITE_CANTOPEN')) {
    mapped = insufficientStorage('database file cannot be opened');
  } else if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    mapped = alreadyExists('already exists');
  } else {
    mapped = new TrawlError('InternalError', 'internal database error');
  }
  mapped.cause = error;
  return mapped;
}

/** SQLite: one connection; writes take the database write lock up front. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  groupCommit: true,
  mapError: mapSqliteError,
  transaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>, opts?: TransactionOptions): Promise<T> {
    // BEGIN IMMEDIATE rather than Kysely's deferred BEGIN: a deferred transaction that reads and
    // then writes fails at once (SQLITE_BUSY_SNAPSHOT) when another process wrote in between,
    // while IMMEDIATE waits for the lock under busy_timeout.
    const relaxed = opts?.durable === false;
    return db.connection().execute(async (conn) => {
      // The connection is ours alone until execute() returns, so the setting covers this commit only.
      if (relaxed) await sql`pragma synchronous = NORMAL`.execute(conn);
      try {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await fn(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (e) {
          // SQLite may already have rolled back by itself (e.g. SQLITE_FULL); that is fine.
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw e;
        }
      } finally {
        if (relaxed) await sql`pragma synchronous = FULL`.execute(conn);
      }
    });
  },
  lockForClaim: (query) => query,
  lockRows: (query) => query,
  lockFileRow: (query) => query,
};
