// Picks and opens the Store implementation a database URL names.
import { invalidArgument } from '../model/errors.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { openThreadedSqliteStore } from './sqlite/threaded-sqlite-store.js';
import type { CopyableStore, Store } from './store.js';

/** Options of openStore; each applies to one dialect and is ignored by the other. */
export interface OpenStoreOptions {
  /** PostgreSQL: maximum pooled connections (default 10). */
  poolSize?: number;
  /** SQLite: how long a write waits for another process's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** SQLite: write from a worker thread so commits never block the caller's event loop (default true). */
  writerThread?: boolean;
  /** PostgreSQL: how long to wait for a connection (default 10000 ms). */
  connectTimeoutMs?: number;
  /** PostgreSQL: prepare the queries of compiled shapes once per connection (default true). */
  preparedStatements?: boolean;
  /** Statements running longer are cancelled (PostgreSQL: statement_timeout; SQLite: list statements, row-guard.ts); 0: no bound. */
  statementTimeoutMs?: number;
  /** A second connection for reads only, beside a store opened already: no migrations (SQLite also refuses writes). */
  readOnly?: boolean;
}

/**
 * Opens the store at `url` and brings its schema up to date:
 * `sqlite:<path>` (parent directory created), `sqlite::memory:`, or `postgres://...` /
 * `postgresql://...`. Fails with a TrawlError (TransientError when the database is unreachable
 * or locked, InvalidArgumentError for an unknown URL).
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw invalidArgument('sqlite: URL needs a path, e.g. sqlite:data/trawl.db');
    const sqliteOpts = {
      ...(opts.busyTimeoutMs !== undefined && { busyTimeoutMs: opts.busyTimeoutMs }), ...(opts.readOnly && { readOnly: true }),
      ...(opts.statementTimeoutMs && { statementTimeoutMs: opts.statementTimeoutMs }),
    };
    // A file database writes from its own thread; ':memory:' cannot be shared between threads.
    return path === ':memory:' || opts.writerThread === false || opts.readOnly ? openSqliteStore(path, sqliteOpts) : openThreadedSqliteStore(path, sqliteOpts);
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    // Imported on demand so that SQLite-only installs never load pg.
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    return openPostgresStore(url, opts);
  }
  throw invalidArgument(`unsupported database URL "${url.replace(/\/\/[^@/]*@/, '//***@')}"`);
}

/**
 * Opens the store at `url` (as openStore, migrating it) for copying whole into another
 * (`trawl migrate`): SQLite without its writer thread, which only the service's own writes need.
 */
export async function openCopyableStore(url: string, opts: Pick<OpenStoreOptions, 'poolSize' | 'connectTimeoutMs'> = {}): Promise<CopyableStore> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '' || path === ':memory:') throw invalidArgument('trawl migrate needs a database file: sqlite:PATH');
    return openSqliteStore(path);
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    // Unnamed statements: the copy's queries are its own, each run once per page.
    return openPostgresStore(url, { ...opts, preparedStatements: false });
  }
  throw invalidArgument(`unsupported database URL "${url.replace(/\/\/[^@/]*@/, '//***@')}"`);
}
