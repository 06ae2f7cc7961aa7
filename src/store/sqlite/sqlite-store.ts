// Opens the embedded SQLite store: better-sqlite3 in WAL mode with full fsync on commit.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { Database } from '../sql/schema.js';
import { SqlStore } from '../sql/sql-store.js';
import { mapSqliteError, sqliteDialect } from './sqlite-dialect.js';
import { GUARD_FUNCTION, guardRows } from '../sql/row-guard.js';
import { TrawlError } from '../../model/errors.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** How long a write waits for another process's lock before failing with TransientError. */
  busyTimeoutMs?: number;
  /** A connection that only reads: no migrations, and writes are refused (query_only). */
  readOnly?: boolean;
  /** List statements running longer fail with DeadlineExceededError (row-guard.ts); 0 or absent: no bound. */
  statementTimeoutMs?: number;
}

/**
 * Address space SQLite may map from the database file. Without a mapping every page a query
 * touches is a read() into SQLite's small page cache: a page of 40 notifications with their files
 * cost ~0.8 ms at 1M notifications, ~0.35 ms mapped. It is address space, not memory: the OS
 * page cache backs it and shares it between connections. SQLite caps it at its compile-time
 * SQLITE_MAX_MMAP_SIZE (2 GB unless built as scripts/install-deps.sh builds it).
 */
const MMAP_BYTES = 64 * 1024 ** 3;

/** Prepared statements kept per SQL text; Kysely would otherwise prepare on every query. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Opens (creating if needed) the SQLite database at `path`, or an in-memory one for ':memory:',
 * and migrates it. Fails with a TrawlError. Open each file once per process: better-sqlite3 waits
 * for locks synchronously, so a second connection in the same thread waiting on the first would
 * block the very thread that must release the lock (it fails with TransientError after the busy
 * timeout). Several processes on one file are fine.
 */
export async function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Promise<SqlStore> {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  let raw: BetterSqlite3.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    raw = new BetterSqlite3(path, { timeout: busyTimeoutMs });
    raw.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced on every commit, so an acknowledged write survives power loss.
    raw.pragma('synchronous = FULL');
    raw.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    if (path !== ':memory:') raw.pragma(`mmap_size = ${MMAP_BYTES}`);
    if (opts.readOnly) raw.pragma('query_only = 1');
  } catch (e) {
    raw?.close();
    throw mapSqliteError(e);
  }
  const bound = opts.statementTimeoutMs && opts.statementTimeoutMs > 0 ? deadlines(raw, opts.statementTimeoutMs) : undefined;
  const waits = opts.readOnly ? undefined : lockWaits(raw, busyTimeoutMs);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw, bound, waits) }) });
  if (bound) guardRows(db);
  return SqlStore.open(db, sqliteDialect, { migrate: !opts.readOnly });
}

/**
 * Defines GUARD_FUNCTION on `raw`: true until the statement running has taken `timeoutMs`, then
 * a DeadlineExceededError that ends the statement. Returns what starts a statement's clock.
 * Statements of one connection run one at a time, to completion, on one thread: one clock will do.
 */
function deadlines(raw: BetterSqlite3.Database, timeoutMs: number): () => void {
  let deadline = Infinity;
  let calls = 0;
  raw.function(GUARD_FUNCTION, { deterministic: false }, () => {
    // The clock is read every 256 rows: a call costs ~0.1 µs, a clock reading more.
    if ((++calls & 255) === 0 && performance.now() > deadline) {
      throw new TrawlError('DeadlineExceededError', 'the database took too long to answer');
    }
    return 1;
  });
  return () => {
    deadline = performance.now() + timeoutMs;
  };
}

/** How long a write waits for a lock once a write before it waited the whole busy timeout in vain. */
const LOCKED_WAIT_MS = 100;

/** What a write connection does after each write statement: see lockWaits(). */
interface LockWaits {
  ran(): void;
  busy(): void;
}

/**
 * Writes run one after the other on the write connection, each waiting up to the busy timeout
 * for a lock another process holds. While one holds it for long (a backup's BEGIN EXCLUSIVE, a
 * stuck tool), every queued write would wait its whole timeout in turn: an upload behind 24 of
 * them waited two minutes for its TransientError. Once a write has waited the whole timeout in
 * vain, the next ones wait LOCKED_WAIT_MS, until one gets through and the full timeout is back.
 */
function lockWaits(raw: BetterSqlite3.Database, busyTimeoutMs: number): LockWaits {
  let locked = false;
  return {
    ran() {
      if (!locked) return;
      locked = false;
      raw.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    },
    busy() {
      if (locked) return;
      locked = true;
      raw.pragma(`busy_timeout = ${Math.min(LOCKED_WAIT_MS, Math.max(0, Math.floor(busyTimeoutMs)))}`);
    },
  };
}

/** `stmt` (a BEGIN) reporting to `waits` whether it got the lock. */
function watched(stmt: SqliteStatement, waits: LockWaits): SqliteStatement {
  return {
    reader: stmt.reader,
    all: (params) => stmt.all(params),
    iterate: (params) => stmt.iterate(params),
    run: (params) => {
      try {
        const r = stmt.run(params);
        waits.ran();
        return r;
      } catch (e) {
        if (/^SQLITE_(BUSY|LOCKED)/.test(String((e as { code?: unknown }).code ?? ''))) waits.busy();
        throw e;
      }
    },
  };
}

/**
 * Wraps the connection so that each distinct SQL text is prepared once; `start`, if given, is
 * called as each statement that reads starts (the clock of deadlines()); `waits` hears whether
 * each write transaction got its lock.
 */
function withStatementCache(raw: BetterSqlite3.Database, start?: () => void, waits?: LockWaits): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => raw.close(),
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (!stmt) {
        // Queries are built from a fixed set of shapes; a full cache means something unusual
        // (e.g. variable-length IN lists), so start over rather than track recency.
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
        stmt = arrayRows(raw.prepare(sqlText));
        if (start && stmt.reader) stmt = timed(stmt, start);
        // A write transaction takes the lock at its BEGIN (IMMEDIATE: sqlite-dialect.ts).
        if (waits && /^\s*begin\b/i.test(sqlText)) stmt = watched(stmt, waits);
        cache.set(sqlText, stmt);
      }
      return stmt;
    },
  };
}

/**
 * A statement whose rows better-sqlite3 returns as arrays, made into objects here by a function
 * compiled for its columns. better-sqlite3 builds each row object property by property through
 * V8's API; a literal of a fixed shape is JIT-compiled: a page of 41 notifications with 16
 * columns read ~40% faster (bench/probes/page-query-cost.ts). Duplicate column names keep the last
 * value, as better-sqlite3 does.
 */
export function arrayRows(stmt: BetterSqlite3.Statement): SqliteStatement {
  if (!stmt.reader) return stmt;
  const names = stmt.columns().map((c) => c.name);
  // `__proto__` in a literal would set the prototype: leave such (hypothetical) statements alone.
  if (names.includes('__proto__')) return stmt;
  stmt.raw(true);
  // The names are quoted with JSON.stringify: any column name makes a valid property key.
  const row = new Function('r', `return {${names.map((n, i) => `${JSON.stringify(n)}: r[${i}]`).join(', ')}};`) as (r: unknown[]) => unknown;
  return {
    reader: true,
    all: (params) => (stmt.all(params) as unknown[][]).map(row),
    run: (params) => stmt.run(params),
    *iterate(params) {
      for (const r of stmt.iterate(params) as IterableIterator<unknown[]>) yield row(r);
    },
  };
}

/** `stmt` with `start` called before each run. */
function timed(stmt: SqliteStatement, start: () => void): SqliteStatement {
  return {
    reader: stmt.reader,
    all: (params) => (start(), stmt.all(params)),
    run: (params) => stmt.run(params),
    iterate: (params) => (start(), stmt.iterate(params)),
  };
}
