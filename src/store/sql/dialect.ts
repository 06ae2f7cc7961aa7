// What differs between the SQL dialects, as a handful of small functions each adapter supplies
// (sqlite/, postgres/). Everything else in the SQL store is shared.
import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { TrawlError } from '../../model/errors.js';
import type { Database } from './schema.js';

export interface TransactionOptions {
  /** Default true: the commit is synced to disk before the promise resolves. */
  durable?: boolean;
}

/** The dialect-specific parts of the SQL store. */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** Turns any driver error into a TrawlError (TransientError, AlreadyExistsError, ...). */
  mapError(error: unknown): TrawlError;
  /**
   * Runs `fn` in a write transaction; commits when it resolves, rolls back when it throws.
   * `durable: false` skips the commit's fsync for writes a crash may undo harmlessly (job
   * bookkeeping that simply runs again): they survive a killed process, and a later durable
   * commit makes them power-safe too.
   */
  transaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** Locks the rows a claim selects so concurrent claimers skip them (a no-op where writes are serial). */
  lockForClaim<O>(
    query: SelectQueryBuilder<Database, 'jobs', O>,
  ): SelectQueryBuilder<Database, 'jobs', O>;
  /** Locks a file row for the rest of the transaction while it is read-modify-written. */
  lockFileRow<O>(
    query: SelectQueryBuilder<Database, 'files', O>,
  ): SelectQueryBuilder<Database, 'files', O>;
  /** Locks the rows a select reads for the rest of the transaction (FOR UPDATE; a no-op where writes are serial). */
  lockRows<TB extends keyof Database, O>(
    query: SelectQueryBuilder<Database, TB, O>,
  ): SelectQueryBuilder<Database, TB, O>;
  /**
   * Whether addSubmission and completeAnalysis batch concurrent calls into one transaction each
   * (see group-commit.ts): where writes are serial (SQLite), a transaction per call is the cost.
   */
  readonly groupCommit: boolean;
}
