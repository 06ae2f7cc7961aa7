// The trigram index behind `name:` searches (file-search.ts), so that a name one file in a
// million has is found without reading every row. It only narrows the rows a search reads: the
// term's own LIKE still decides, so results are exactly those of a scan.
// - SQLite: a contentless FTS5 table with the trigram tokenizer, one row per file (its rowid the
//   file's), kept by triggers on `files` so that no write path (intake, subfiles, re-submission
//   with a new name, trawl migrate) can forget it. Read first when a value has few candidates
//   (see nameCandidates).
// - PostgreSQL: a GIN index of pg_trgm on the very expression the term filters, lower(names):
//   the planner reads it for rare values and walks the order's index for common ones by itself.
//   pg_trgm is an extension: where it cannot be installed, searches scan as before (missingNameIndex).
import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from './dialect.js';

type DialectName = SqlDialect['name'];

export const NAME_FTS = 'files_names_fts';
export const NAME_TRGM_INDEX = 'files_names_trgm_idx';

/** Trigrams need three characters: a shorter value has none to look up, and scans. */
export const MIN_INDEXED_CHARS = 3;

const TRGM_SQL = `create index ${NAME_TRGM_INDEX} on files using gin (lower(names) gin_trgm_ops)`;

/**
 * Creates the index and fills it from the files stored already (migration 0021). On PostgreSQL
 * without pg_trgm, nor the right to create it, creates nothing: see missingNameIndex.
 */
export async function addNameIndex(db: Kysely<any>, dialect: DialectName): Promise<void> {
  if (dialect === 'postgres') {
    if (await installTrgm(db)) await sql.raw(TRGM_SQL).execute(db);
    return;
  }
  // contentless_delete: a row is deleted by its rowid alone, without the text it was indexed with.
  await sql.raw(`create virtual table ${NAME_FTS} using fts5(names, content='', contentless_delete=1, tokenize='trigram')`).execute(db);
  const add = `insert into ${NAME_FTS}(rowid, names) values (new.rowid, new.names)`;
  const remove = `delete from ${NAME_FTS} where rowid = old.rowid`;
  await sql.raw(`create trigger files_names_fts_insert after insert on files begin ${add}; end`).execute(db);
  // A re-submission rewrites names whether or not it brought a new one: only a change is re-indexed.
  await sql.raw(`create trigger files_names_fts_update after update of names on files
    when new.names is not old.names begin ${remove}; ${add}; end`).execute(db);
  await sql.raw(`create trigger files_names_fts_delete after delete on files begin ${remove}; end`).execute(db);
  await sql.raw(`insert into ${NAME_FTS}(rowid, names) select rowid, names from files`).execute(db);
}

export async function dropNameIndex(db: Kysely<any>, dialect: DialectName): Promise<void> {
  if (dialect === 'postgres') {
    await sql.raw(`drop index if exists ${NAME_TRGM_INDEX}`).execute(db);
    return;
  }
  for (const t of ['insert', 'update', 'delete']) await sql.raw(`drop trigger if exists files_names_fts_${t}`).execute(db);
  await sql.raw(`drop table if exists ${NAME_FTS}`).execute(db);
}

/**
 * Whether pg_trgm is installed, installing it if this role may (it is a trusted extension since
 * PostgreSQL 13: the database's CREATE privilege is enough). A refusal is rolled back to a
 * savepoint so that the migration's transaction goes on.
 */
async function installTrgm(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql`select 1 from pg_extension where extname = 'pg_trgm'`.execute(db);
  if (rows.length > 0) return true;
  const { rows: available } = await sql`select 1 from pg_available_extensions where name = 'pg_trgm'`.execute(db);
  if (available.length === 0) return false;
  await sql`savepoint trawl_pg_trgm`.execute(db);
  try {
    await sql`create extension if not exists pg_trgm`.execute(db);
    await sql`release savepoint trawl_pg_trgm`.execute(db);
    return true;
  } catch {
    await sql`rollback to savepoint trawl_pg_trgm`.execute(db);
    return false;
  }
}

/**
 * Why `name:` searches read every file, with what an operator can do about it; null when the
 * index is there. Only PostgreSQL can lack it (SQLite's is built in).
 */
export async function missingNameIndex(db: Kysely<any>, dialect: DialectName): Promise<string | null> {
  if (dialect !== 'postgres') return null;
  const { rows } = await sql`select 1 from pg_indexes where tablename = 'files' and indexname = ${NAME_TRGM_INDEX}`.execute(db);
  if (rows.length > 0) return null;
  return `the index of file names (${NAME_TRGM_INDEX}) is missing: pg_trgm could not be installed in this database, so name: searches read every file. `
    + `As a role allowed to (a superuser, or one with CREATE on the database): CREATE EXTENSION IF NOT EXISTS pg_trgm; ${TRGM_SQL};`;
}

/**
 * The rowids of the files the index names as candidates for containing `pattern` (the names' JSON
 * text, as the term matches it), or null when they are more than `max`: then the order's walk
 * finds a page of matches sooner than reading them all would. SQLite only. The candidates are
 * read once and handed to the page's statement (candidateRows), not looked up twice: 2 ms instead
 * of 4 for a name one file has, 8 instead of 21 for a thousand (docs/notes/benchmarks.md).
 */
export async function nameCandidates(db: Kysely<any>, pattern: string, max: number, mark = ''): Promise<number[] | null> {
  const { rows } = await sql<{ rowid: number }>`${sql.raw(mark)}select rowid from ${sql.table(NAME_FTS)}
    where ${sql.table(NAME_FTS)} match ${phrase(pattern)} limit ${max + 1}`.execute(db);
  return rows.length > max ? null : rows.map((r) => r.rowid);
}

/** `f.rowid` is one of `ids` (nameCandidates'), as one parameter: a statement's text stays the same whatever their number. */
export const candidateRows = (ids: number[]) => sql`f.rowid in (select value from json_each(${JSON.stringify(ids)}))`;

/** `pattern` as one FTS5 phrase: the trigram tokenizer matches it as a substring, case-insensitively. */
const phrase = (pattern: string) => `"${pattern.replace(/"/g, '""')}"`;

/** Whether the index can narrow a search for `pattern` (three characters or more). */
export const indexable = (pattern: string) => [...pattern].length >= MIN_INDEXED_CHARS;
