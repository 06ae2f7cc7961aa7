// A bound on the time of list statements where the database cannot cancel one from outside.
// SQLite runs a statement on the thread that would have to cancel it, and better-sqlite3 exposes
// no sqlite3_interrupt; so a list statement there bounds itself: it calls trawl_in_time() on each
// row it examines, a function the SQLite store defines and which fails once the statement has run
// past databaseStatementTimeout (sqlite-store.ts). One crafted filter (a tag on every notification
// beside one on none) walked 1M rows for 1.3-1.8 s, holding the event loop all that time.
// PostgreSQL has statement_timeout and cancels from another connection: it needs no guard.
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';

const guarded = new WeakSet<Kysely<any>>();

/** The SQL function a guarded store's connection defines. */
export const GUARD_FUNCTION = 'trawl_in_time';

/** Marks `db`'s list statements as guarded: its connection defines GUARD_FUNCTION. */
export function guardRows(db: Kysely<any>): void {
  guarded.add(db);
}

/** The condition list statements on `db` add to each row they examine, if it is guarded. */
export function rowGuard(db: Kysely<any>): Expression<SqlBool> | null {
  return guarded.has(db) ? sql<SqlBool>`${sql.raw(GUARD_FUNCTION)}()` : null;
}
