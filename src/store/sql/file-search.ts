// Intelligence search over stored files (used by sql-store.ts): a SearchExpr as one WHERE clause
// on `files`, walked in the order's index ((column, sha256), migration 0017) from the page's
// position, so a page reads only as many rows as it takes to find `limit` matches. A `name:` or
// `magic:` value few files have is looked up in its trigram index first (trigram-index.ts).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Bound, FileSearchQuery, SearchExpr, SearchOrderField, SearchTerm } from '../../model/file-search.js';
import type { FileRecord } from '../../model/records.js';
import { toFile } from './rows.js';
import type { SqlDialect } from './dialect.js';
import { candidateRows, candidates, CommonValues, indexable, type IndexedTerm } from './trigram-index.js';
import type { Database } from './schema.js';

type DialectName = SqlDialect['name'];

/**
 * SQLite reads a `name:` or `magic:` value's candidates from its index when they are at most this many
 * (fetching and sorting 2,000 scattered rows: 10-15 ms on a busy host, 10,000: 65-100 ms); more,
 * and the order's walk usually finds a page of matches sooner (a value one file in 500 has: about
 * 5,500 rows, 5 ms). PostgreSQL's planner chooses itself, from its statistics.
 */
export const MAX_CANDIDATES = 2_000;

/** What a term's SQL depends on besides the term. */
interface Context {
  userId: number;
  order: SearchOrderField;
  dialect: DialectName;
  /** The values narrowed through a trigram index (SQLite), by narrowKey, with their candidates' rowids. */
  narrowed: ReadonlyMap<string, number[]>;
}

const BOUND_COLUMN = { size: 'size', fs: 'first_submission_date', ls: 'last_submission_date', submissions: 'times_submitted' } as const;
const OPS: Record<Bound['op'], string> = { '=': '=', '>=': '>=', '<=': '<=', '<': '<' };

/** `v` as a LIKE pattern matching itself anywhere (`\` escapes). */
const containing = (v: string) => `%${v.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
/** A JSON array (text) holding the string `v`: its JSON form, quotes included. */
const jsonElement = (v: string) => containing(JSON.stringify(v));

/** A `name:` value as the names' JSON array holds it, quotes left off: a substring of one name is one of the array's text. */
const namePattern = (value: string) => JSON.stringify(value).slice(1, -1);

/** What an indexed term's LIKE looks for in its text. */
const patternOf = (t: Extract<SearchTerm, { kind: IndexedTerm }>) => (t.kind === 'name' ? namePattern(t.value) : t.value);
const narrowKey = (term: IndexedTerm, pattern: string) => `${term}:${pattern}`;

/** `like`, narrowed to the candidates of `term`'s index when they were read (the LIKE still decides: the index finds a superset). */
function narrowedSql(like: RawBuilder<unknown>, term: IndexedTerm, pattern: string, narrowed: Context['narrowed']): RawBuilder<unknown> {
  const ids = narrowed.get(narrowKey(term, pattern));
  return ids ? sql`(${candidateRows(ids)} and ${like})` : like;
}

function termSql(t: SearchTerm, { userId, order, dialect, narrowed }: Context): RawBuilder<unknown> {
  const col = (name: string) => sql.ref(`f.${name}`);
  switch (t.kind) {
    case 'hash': return sql`${col(t.column)} = ${t.value}`;
    case 'type':
      return sql`(coalesce(f.type_tag, '') = ${t.value} or coalesce(f.type_extension, '') = ${t.value} or coalesce(f.type_tags, '') like ${jsonElement(t.value)} escape '\\')`;
    case 'size': case 'fs': case 'ls': case 'submissions': {
      // A range on another column than the order's is written `+column`, which keeps SQLite from
      // reading the range's index and sorting all it holds: the order's walk filters it instead.
      const column = BOUND_COLUMN[t.kind];
      const ref = column === order ? col(column) : sql`+${col(column)}`;
      return sql`${ref} ${sql.raw(OPS[t.bound.op])} ${t.bound.value}`;
    }
    case 'name': {
      const pattern = patternOf(t);
      return narrowedSql(sql`lower(f.names) like ${containing(pattern)} escape '\\'`, 'name', pattern, narrowed);
    }
    case 'magic':
      return narrowedSql(sql`lower(coalesce(f.magic, '')) like ${containing(t.value)} escape '\\'`, 'magic', t.value, narrowed);
    // Not coalesce(): PostgreSQL estimates a LIKE on the bare column from its statistics, and
    // walks the order's index for a common tag instead of reading every row (2% of 1M: 1 ms, not 100).
    case 'tag': return sql`(f.tags is not null and f.tags like ${jsonElement(t.value)} escape '\\')`;
    case 'bundled':
      return t.value
        ? sql`exists (select 1 from file_children c where c.child_sha256 = f.sha256)`
        : sql`not exists (select 1 from file_children c where c.child_sha256 = f.sha256)`;
    case 'parent': {
      const parents = t.column === 'sha256' ? sql`${t.value}` : sql`(select p.sha256 from files p where ${sql.ref(`p.${t.column}`)} = ${t.value})`;
      return sql`f.sha256 in (select c.child_sha256 from file_children c where c.parent_sha256 in (${parents}))`;
    }
    case 'rule': {
      const notified = sql`select n.sha256 from hunting_notifications n where n.owner_id = ${userId} and n.rule_name = ${t.value}`;
      // PostgreSQL would walk the order's index probing the notifications for each file (64 ms
      // for 1,000 of 1M files); an array read first makes it fetch those files and sort them (19 ms).
      return dialect === 'postgres' ? sql`f.sha256 = any(array(${notified}))` : sql`f.sha256 in (${notified})`;
    }
  }
}

function exprSql(e: SearchExpr, c: Context): RawBuilder<unknown> {
  switch (e.kind) {
    case 'term': return termSql(e.term, c);
    case 'not': return sql`not (${exprSql(e.item, c)})`;
    case 'and': case 'or':
      return sql`(${sql.join(e.items.map((i) => exprSql(i, c)), sql.raw(` ${e.kind} `))})`;
  }
}

/** The `name:` and `magic:` terms of `e`. */
function indexedTerms(e: SearchExpr): Extract<SearchTerm, { kind: IndexedTerm }>[] {
  switch (e.kind) {
    case 'term': return e.term.kind === 'name' || e.term.kind === 'magic' ? [e.term] : [];
    case 'not': return indexedTerms(e.item);
    case 'and': case 'or': return e.items.flatMap(indexedTerms);
  }
}

/** The values worth reading from their index (SQLite): long enough, and with few candidates. */
async function narrowedValues(db: Kysely<Database>, dialect: DialectName, e: SearchExpr, common: CommonValues, mark: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (dialect !== 'sqlite') return out;
  for (const t of indexedTerms(e)) {
    const pattern = patternOf(t);
    const key = narrowKey(t.kind, pattern);
    if (out.has(key) || common.has(key) || !indexable(pattern)) continue;
    const ids = await candidates(db, t.kind, pattern, MAX_CANDIDATES, mark);
    if (ids) out.set(key, ids);
    else common.add(key);
  }
  return out;
}

/**
 * A page of the files `q.expr` matches, in `q.order` (ties by sha256), after `q.after`. `common`:
 * the store's memory of values too common to read from an index. `mark` leads the statement (query-signal.ts).
 */
export async function search(db: Kysely<Database>, dialect: DialectName, q: FileSearchQuery, common: CommonValues, mark = ''): Promise<FileRecord[]> {
  const column = sql.ref(`f.${q.order.field}`);
  const dir = sql.raw(q.order.dir);
  const cmp = sql.raw(q.order.dir === 'desc' ? '<' : '>');
  const after = q.after ? sql` and (${column}, f.sha256) ${cmp} (${q.after.value}, ${q.after.sha256})` : sql``;
  const narrowed = await narrowedValues(db, dialect, q.expr, common, mark);
  const where = exprSql(q.expr, { userId: q.userId, order: q.order.field, dialect, narrowed });
  const { rows } = await sql<Parameters<typeof toFile>[0]>`${sql.raw(mark)}select f.* from files f
    where ${where}${after}
    order by ${column} ${dir}, f.sha256 ${dir} limit ${q.limit}`.execute(db);
  return rows.map(toFile);
}
