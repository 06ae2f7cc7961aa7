// Intelligence search over stored files (used by sql-store.ts): a SearchExpr as one WHERE clause
// on `files`, walked in the order's index ((column, sha256), migration 0017) from the page's
// position, so a page reads only as many rows as it takes to find `limit` matches.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Bound, FileSearchQuery, SearchExpr, SearchOrderField, SearchTerm } from '../../model/file-search.js';
import type { FileRecord } from '../../model/records.js';
import { toFile } from './rows.js';
import type { SqlDialect } from './dialect.js';
import type { Database } from './schema.js';

type DialectName = SqlDialect['name'];

const BOUND_COLUMN = { size: 'size', fs: 'first_submission_date', ls: 'last_submission_date', submissions: 'times_submitted' } as const;
const OPS: Record<Bound['op'], string> = { '=': '=', '>=': '>=', '<=': '<=', '<': '<' };

/** `v` as a LIKE pattern matching itself anywhere (`\` escapes). */
const containing = (v: string) => `%${v.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
/** A JSON array (text) holding the string `v`: its JSON form, quotes included. */
const jsonElement = (v: string) => containing(JSON.stringify(v));

function termSql(t: SearchTerm, userId: number, order: SearchOrderField, dialect: DialectName): RawBuilder<unknown> {
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
    // Names are kept as a JSON array: a substring of one name is one of the array's text.
    case 'name': return sql`lower(f.names) like ${containing(JSON.stringify(t.value).slice(1, -1))} escape '\\'`;
    case 'magic': return sql`lower(coalesce(f.magic, '')) like ${containing(t.value)} escape '\\'`;
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

function exprSql(e: SearchExpr, userId: number, order: SearchOrderField, dialect: DialectName): RawBuilder<unknown> {
  switch (e.kind) {
    case 'term': return termSql(e.term, userId, order, dialect);
    case 'not': return sql`not (${exprSql(e.item, userId, order, dialect)})`;
    case 'and': case 'or':
      return sql`(${sql.join(e.items.map((i) => exprSql(i, userId, order, dialect)), sql.raw(` ${e.kind} `))})`;
  }
}

/** A page of the files `q.expr` matches, in `q.order` (ties by sha256), after `q.after`. `mark` leads the statement (query-signal.ts). */
export async function search(db: Kysely<Database>, dialect: DialectName, q: FileSearchQuery, mark = ''): Promise<FileRecord[]> {
  const column = sql.ref(`f.${q.order.field}`);
  const dir = sql.raw(q.order.dir);
  const cmp = sql.raw(q.order.dir === 'desc' ? '<' : '>');
  const after = q.after ? sql` and (${column}, f.sha256) ${cmp} (${q.after.value}, ${q.after.sha256})` : sql``;
  const { rows } = await sql<Parameters<typeof toFile>[0]>`${sql.raw(mark)}select f.* from files f
    where ${exprSql(q.expr, q.userId, q.order.field, dialect)}${after}
    order by ${column} ${dir}, f.sha256 ${dir} limit ${q.limit}`.execute(db);
  return rows.map(toFile);
}
