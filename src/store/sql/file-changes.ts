// The feed of changed files: which files rows were inserted or updated since a cursor. Pages of
// notifications serve files from a cache of serialized attributes (stream/file-documents.ts) that
// this feed keeps fresh, instead of joining every notification to its file on every page: on
// PostgreSQL that join was a third of a notification_tag: page's cost (docs/notes/benchmarks.md).
//
// Every files row carries a change mark, set by a trigger on every insert and update, so no
// write can forget it.
// - SQLite: a counter (the highest mark plus one). Writers are serial, so marks become visible in
//   their order and "above the cursor" is exact.
// - PostgreSQL: the id of the writing transaction (xid8). Transactions commit in any order, so a
//   counter could become visible below a cursor already read past. The cursor is instead the
//   snapshot a poll read with: what is new since then is exactly what that snapshot did not see,
//   the transactions it listed as running (its xip) and those that started after it (at or above
//   its xmax).
import { sql, type Kysely } from 'kysely';
import type { FileChanges } from '../store.js';
import type { SqlDialect } from './dialect.js';
import type { Database } from './schema.js';

export async function addChangeMarks(db: Kysely<any>, dialect: SqlDialect['name']): Promise<void> {
  if (dialect === 'postgres') {
    // A constant default adds the column without rewriting the table; rows stored before have 0,
    // below every transaction id, which no reader has cached anything from yet.
    await sql`alter table files add column change_mark xid8 not null default '0'`.execute(db);
    await sql`create function trawl_file_change_mark() returns trigger language plpgsql as $$
      begin new.change_mark := pg_current_xact_id(); return new; end $$`.execute(db);
    await sql`create trigger files_change_mark before insert or update on files
      for each row execute function trawl_file_change_mark()`.execute(db);
  } else {
    await sql`alter table files add column change_mark integer not null default 0`.execute(db);
    // SQLite cannot assign to NEW: the row is marked by an update right after its write. That
    // update changes the mark, so the WHEN clause keeps it from firing the update trigger again.
    const mark = sql`update files set change_mark = (select max(change_mark) from files) + 1 where sha256 = new.sha256`;
    await sql`create trigger files_change_mark_insert after insert on files begin ${mark}; end`.execute(db);
    await sql`create trigger files_change_mark_update after update on files
      when new.change_mark = old.change_mark begin ${mark}; end`.execute(db);
  }
  await db.schema.createIndex('files_change_mark_idx').on('files').column('change_mark').execute();
}

export async function dropChangeMarks(db: Kysely<any>, dialect: SqlDialect['name']): Promise<void> {
  if (dialect === 'postgres') {
    await sql`drop trigger if exists files_change_mark on files`.execute(db);
    await sql`drop function if exists trawl_file_change_mark()`.execute(db);
  } else {
    await sql`drop trigger if exists files_change_mark_insert`.execute(db);
    await sql`drop trigger if exists files_change_mark_update`.execute(db);
  }
  await db.schema.dropIndex('files_change_mark_idx').ifExists().execute();
  await db.schema.alterTable('files').dropColumn('change_mark').execute();
}

/** The files changed since `cursor` (see Store.fileChangesSince), at most `max` of them. */
export async function fileChangesSince(
  db: Kysely<Database>, dialect: SqlDialect['name'], cursor: string | null, max: number,
): Promise<FileChanges> {
  return dialect === 'postgres' ? postgresChanges(db, cursor, max) : sqliteChanges(db, cursor, max);
}

type ChangeRow = { sha256: string | null; revision: number | string | null };

/** The changes among `rows` (a row without a file is none), or null when more than `max`. */
function changesOf(rows: ChangeRow[], max: number): FileChanges['changes'] {
  const changed = rows.filter((r) => r.sha256 !== null);
  if (changed.length > max) return null;
  return changed.map((r) => ({ sha256: r.sha256!, revision: Number(r.revision) }));
}

async function sqliteChanges(db: Kysely<Database>, cursor: string | null, max: number): Promise<FileChanges> {
  if (cursor === null) {
    const { rows: [top] } = await sql<{ m: number | null }>`select max(change_mark) as m from files`.execute(db);
    return { cursor: String(top?.m ?? 0), changes: [] };
  }
  const { rows } = await sql<ChangeRow & { change_mark: number }>`
    select sha256, revision, change_mark from files where change_mark > ${Number(cursor)}
    order by change_mark limit ${sql.lit(max + 1)}`.execute(db);
  const changes = changesOf(rows, max);
  if (changes === null) return { cursor: (await sqliteChanges(db, null, max)).cursor, changes };
  return { cursor: rows.length > 0 ? String(rows[rows.length - 1]!.change_mark) : cursor, changes };
}

async function postgresChanges(db: Kysely<Database>, cursor: string | null, max: number): Promise<FileChanges> {
  if (cursor === null) {
    const { rows: [now] } = await sql<{ snap: string }>`select pg_current_snapshot()::text as snap`.execute(db);
    return { cursor: now!.snap, changes: [] };
  }
  // "xmin:xmax:xip,xip,...": what the last poll saw is every transaction below xmax but those in xip.
  const [, , xmax, xip] = /^(\d+):(\d+):([\d,]*)$/.exec(cursor) ?? [];
  if (xmax === undefined) return postgresChanges(db, null, max);
  const running = xip ? xip.split(',') : [];
  // One statement, so the snapshot returned is the one the rows were read with.
  const { rows } = await sql<ChangeRow & { snap: string }>`
    select s.snap::text as snap, f.sha256, f.revision
    from (select pg_current_snapshot() as snap) s
    left join lateral (
      select sha256, revision from files
      where change_mark >= ${xmax}::xid8 or change_mark = any(${running}::xid8[])
      limit ${sql.lit(max + 1)}
    ) f on true`.execute(db);
  return { cursor: rows[0]!.snap, changes: changesOf(rows, max) };
}
