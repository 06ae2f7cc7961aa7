// The trigram indexes behind `name:` and `magic:` searches (file-search.ts), so that a value one
// file in a million has is found without reading every row. They only narrow the rows a search
// reads: the term's own LIKE still decides, so results are exactly those of a scan.
// - SQLite: one contentless FTS5 table per attribute with the trigram tokenizer, one row per file
//   (its rowid the file's), kept by triggers on `files` so that no write path (intake, analysis,
//   subfiles, re-submission with a new name, trawl migrate) can forget it. `detail=none` keeps
//   rowids only (names: 29 MB at 1M files instead of 68, magic: 36 instead of 130), so a value is
//   looked up as all of its trigrams, anywhere in the text: a few more candidates, which the LIKE
//   drops. Read first when a value has few candidates (see candidates()).
// - PostgreSQL: a GIN index of pg_trgm on the very expression each term filters: the planner
//   reads it for rare values and walks the order's index for common ones by itself. pg_trgm is an
//   extension: where it cannot be installed, searches scan as before (missingTrigramIndexes).
import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from './dialect.js';

type DialectName = SqlDialect['name'];

/** The searchable texts of a file with an index, by the search term that reads them. */
export type IndexedTerm = 'name' | 'magic';

interface TrigramIndex {
  /** The `files` column. */
  column: string;
  /** What the term's LIKE filters (file-search.ts), and PostgreSQL's index is built on. */
  expression: string;
  /** SQLite's FTS5 table; its shadow tables are named after it. */
  fts: string;
  /** PostgreSQL's index. */
  gin: string;
}

export const TRIGRAM_INDEXES: Record<IndexedTerm, TrigramIndex> = {
  name: { column: 'names', expression: 'lower(names)', fts: 'files_names_fts', gin: 'files_names_trgm_idx' },
  magic: { column: 'magic', expression: "lower(coalesce(magic, ''))", fts: 'files_magic_fts', gin: 'files_magic_trgm_idx' },
};
const ALL = Object.values(TRIGRAM_INDEXES);

/** The tables of SQLite's indexes, shadow tables included (trawl migrate does not copy them). */
export const FTS_TABLES = ALL.flatMap((i) => ['', '_data', '_idx', '_docsize', '_config'].map((s) => `${i.fts}${s}`));

/** Trigrams need three characters: a shorter value has none to look up, and scans. */
export const MIN_INDEXED_CHARS = 3;

const ginSql = (i: TrigramIndex) => `create index ${i.gin} on files using gin (${i.expression} gin_trgm_ops)`;

/**
 * Creates the indexes and fills them from the files stored already (migration 0021). On
 * PostgreSQL without pg_trgm, nor the right to create it, creates nothing: see missingTrigramIndexes.
 */
export async function addTrigramIndexes(db: Kysely<any>, dialect: DialectName): Promise<void> {
  if (dialect === 'postgres') {
    if (await installTrgm(db)) for (const i of ALL) await sql.raw(ginSql(i)).execute(db);
    return;
  }
  for (const { column, fts } of ALL) {
    // contentless_delete: a row is deleted by its rowid alone, without the text it was indexed with.
    await sql.raw(`create virtual table ${fts} using fts5(text, content='', contentless_delete=1, tokenize='trigram', detail=none)`).execute(db);
    // Only texts with something in them are indexed: a file is stored before its analysis gives it
    // a magic, and each delete leaves a tombstone for FTS5 to merge away.
    const add = `insert into ${fts}(rowid, text) select new.rowid, new.${column} where coalesce(new.${column}, '') <> ''`;
    const remove = `delete from ${fts} where rowid = old.rowid and coalesce(old.${column}, '') <> ''`;
    await sql.raw(`create trigger ${fts}_insert after insert on files begin ${add}; end`).execute(db);
    // A re-submission rewrites names, an analysis the magic, whether or not they changed: only a change is re-indexed.
    await sql.raw(`create trigger ${fts}_update after update of ${column} on files
      when new.${column} is not old.${column} begin ${remove}; ${add}; end`).execute(db);
    await sql.raw(`create trigger ${fts}_delete after delete on files begin ${remove}; end`).execute(db);
    await sql.raw(`insert into ${fts}(rowid, text) select rowid, ${column} from files where coalesce(${column}, '') <> ''`).execute(db);
  }
}

export async function dropTrigramIndexes(db: Kysely<any>, dialect: DialectName): Promise<void> {
  for (const { fts, gin } of ALL) {
    if (dialect === 'postgres') {
      await sql.raw(`drop index if exists ${gin}`).execute(db);
      continue;
    }
    for (const t of ['insert', 'update', 'delete']) await sql.raw(`drop trigger if exists ${fts}_${t}`).execute(db);
    await sql.raw(`drop table if exists ${fts}`).execute(db);
  }
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
 * Why `name:` and `magic:` searches read every file, with what an operator can do about it; null
 * when the indexes are there. Only PostgreSQL can lack them (SQLite's are built in).
 */
export async function missingTrigramIndexes(db: Kysely<any>, dialect: DialectName): Promise<string | null> {
  if (dialect !== 'postgres') return null;
  const { rows } = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'files'`.execute(db);
  const missing = ALL.filter((i) => !rows.some((r) => r.indexname === i.gin));
  if (missing.length === 0) return null;
  return `the trigram indexes of file names and magic (${missing.map((i) => i.gin).join(', ')}) are missing: pg_trgm could not be installed `
    + 'in this database, so name: and magic: searches read every file. As a role allowed to (a superuser, or one with CREATE on the database): '
    + `CREATE EXTENSION IF NOT EXISTS pg_trgm; ${missing.map((i) => `${ginSql(i)};`).join(' ')}`;
}

/**
 * The rowids of the files the index of `term` names as candidates for containing `pattern` (the
 * text as the term's LIKE matches it), or null when they are more than `max`: then the order's
 * walk finds a page of matches sooner than reading them all would. SQLite only. The candidates
 * are read once and handed to the page's statement (candidateRows), not looked up twice: 2 ms
 * instead of 4 for a name one file has, 8 instead of 21 for a thousand (measured with positions,
 * docs/notes/benchmarks.md).
 */
export async function candidates(db: Kysely<any>, term: IndexedTerm, pattern: string, max: number, mark = ''): Promise<number[] | null> {
  const fts = sql.table(TRIGRAM_INDEXES[term].fts);
  const { rows } = await sql<{ rowid: number }>`${sql.raw(mark)}select rowid from ${fts} where ${fts} match ${allTrigrams(pattern)} limit ${max + 1}`.execute(db);
  return rows.length > max ? null : rows.map((r) => r.rowid);
}

/**
 * Values known to have more candidates than a page reads from the index, so that their pages skip
 * the look (1-2 ms for a magic text a tenth of the files have, against 0.4 for the page: 282
 * pages/s at 8 connections instead of 1,800). Files are never deleted, so a value stays common
 * once it is. At most `size` values, the oldest forgotten first.
 */
export class CommonValues {
  private readonly values = new Set<string>();
  constructor(private readonly size = 10_000) {}

  has(key: string): boolean {
    return this.values.has(key);
  }

  add(key: string): void {
    if (this.values.size >= this.size) this.values.delete(this.values.values().next().value!);
    this.values.add(key);
  }
}

/** `f.rowid` is one of `ids` (candidates'), as one parameter: a statement's text stays the same whatever their number. */
export const candidateRows = (ids: number[]) => sql`f.rowid in (select value from json_each(${JSON.stringify(ids)}))`;

/** Trigrams of one value looked up at most: any of them narrow to a superset, and FTS5 nests each AND one level deeper (256 at most). */
const MAX_TRIGRAMS = 16;

/**
 * An FTS5 query for the texts holding the trigrams of `pattern` (detail=none has no positions
 * to match it as a phrase): all of them, or MAX_TRIGRAMS spread over a long value. Each is
 * quoted, `"` doubled; the tokenizer folds their case.
 */
function allTrigrams(pattern: string): string {
  const chars = [...pattern];
  const grams = [...new Set(chars.slice(2).map((_, i) => chars.slice(i, i + 3).join('')))];
  const step = Math.max(1, grams.length / MAX_TRIGRAMS);
  const chosen = new Set(Array.from({ length: Math.min(grams.length, MAX_TRIGRAMS) }, (_, k) => grams[Math.floor(k * step)]!));
  return [...chosen].map((g) => `"${g.replace(/"/g, '""')}"`).join(' AND ');
}

/** Whether the index can narrow a search for `pattern` (three characters or more). */
export const indexable = (pattern: string) => [...pattern].length >= MIN_INDEXED_CHARS;
