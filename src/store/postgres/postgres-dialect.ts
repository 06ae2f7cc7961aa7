// The PostgreSQL-specific parts of the SQL store: transactions, error mapping, row locking.
import { sql, type Kysely } from 'kysely';
import { alreadyExists, insufficientStorage, transient, TrawlError } from '../../model/errors.js';
import type { SqlDialect, TransactionOptions } from '../sql/dialect.js';
import type { Database } from '../sql/schema.js';

/** Network errors of the client socket: the server is down or unreachable. */
const NET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'EAI_AGAIN', 'EPIPE', 'ENOENT',
]);
/** SQLSTATEs of a server shutting down or refusing connections (besides class 08). */
const DOWN_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** SQLSTATEs that mean "try again": out of memory, serialisation failure, deadlock, lock timeout. */
const RETRY_STATES = new Set(['53200', '40001', '40P01', '55P03']);
/** pg's own messages when a connection breaks or cannot be had. */
const NET_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection error|Client was closed/i;

/** Maps a pg error (or anything else) to a TrawlError, keeping it as `cause`. */
export function mapPostgresError(error: unknown): TrawlError {
  if (error instanceof TrawlError) return error;
  // A connect to a name with several addresses fails with an AggregateError of the attempts.
  const first = error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
  const code = String((first as { code?: unknown } | null)?.code ?? (error as { code?: unknown } | null)?.code ?? '');
  const message = String((first as { message?: unknown } | null)?.message ?? '');
  let mapped: TrawlError;
  if (NET_CODES.has(code) || DOWN_STATES.has(code) || code.startsWith('08') || NET_MESSAGES.test(message)) {
    mapped = transient('database unavailable');
  } else if (RETRY_STATES.has(code)) {
    mapped = transient('database busy, retry');
  } else if (code === '53100') {
    mapped = insufficientStorage('database storage is full');
  } else if (code === '25006') {
    mapped = insufficientStorage('database is read-only');
  } else if (code === '23505') {
    mapped = alreadyExists('already exists');
  } else if (code === '57014') {
    // statement_timeout (databaseStatementTimeout) cancelled it.
    mapped = new TrawlError('DeadlineExceededError', 'the database took too long to answer');
  } else {
    mapped = new TrawlError('InternalError', 'internal database error');
  }
  mapped.cause = error;
  return mapped;
}

/** PostgreSQL: a connection pool; concurrent writers are kept apart by row locks. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  // Concurrent transactions on separate pooled connections already share fsyncs server-side.
  groupCommit: false,
  mapError: mapPostgresError,
  transaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>, opts?: TransactionOptions): Promise<T> {
    if (opts?.durable !== false) return db.transaction().execute(fn);
    return db.transaction().execute(async (tx) => {
      await sql`set local synchronous_commit = off`.execute(tx);
      return fn(tx);
    });
  },
  lockForClaim: (query) => query.forUpdate().skipLocked(),
  lockRows: (query) => query.forUpdate(),
  lockFileRow: (query) => query.forUpdate(),
};
