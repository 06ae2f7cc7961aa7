// Copying a whole database into another, migrated to the same level and empty (trawl migrate):
// every data table, read in pages by primary key and written one transaction per page, so that
// a database of any size moves in bounded memory and a failure leaves whole pages behind.
// Both databases hold the same schema (schema.ts): the same column types and conventions
// (booleans and dates as integers, lists as JSON text), so rows go across as read.
import { sql, type Kysely } from 'kysely';
import type { TableCopyOptions } from '../store.js';
import type { SqlDialect } from './dialect.js';
import { FTS_TABLES } from './trigram-index.js';
import type { Database } from './schema.js';

interface CopiedTable {
  name: keyof Database;
  /** The primary key, whose order the pages follow. */
  key: readonly string[];
  /** An auto-increment id (bigserial on PostgreSQL), whose sequence the target must continue. */
  serial?: boolean;
  /** Columns the target computes itself. */
  computed?: readonly string[];
  /** Rows the target's migrations insert already: the source's replace them. */
  upsert?: boolean;
}

/**
 * Every table holding the deployment's data, each before the tables whose rows refer to its
 * rows (no FOREIGN KEY constraint is declared, but a reader of a target cut short by a failure
 * then finds no reference to a row not copied yet).
 */
const COPIED: readonly CopiedTable[] = [
  { name: 'settings', key: ['key'] },
  { name: 'users', key: ['id'], serial: true },
  // change_mark is set by a trigger on every insert (file-changes.ts): on PostgreSQL it is a
  // transaction id, which a copied SQLite counter would not be.
  { name: 'files', key: ['sha256'], computed: ['change_mark'] },
  { name: 'file_sources', key: ['sha256', 'source_key'] },
  { name: 'file_children', key: ['parent_sha256', 'child_sha256'] },
  { name: 'submissions', key: ['id'], serial: true },
  { name: 'jobs', key: ['id'], serial: true },
  { name: 'upload_urls', key: ['token_hash'] },
  { name: 'hunting_rulesets', key: ['id'], serial: true },
  { name: 'hunting_ruleset_editors', key: ['ruleset_id', 'user_id'] },
  // Migration 0003 inserts rules_generation = 0 in every database.
  { name: 'counters', key: ['name'], upsert: true },
  { name: 'ruleset_changes', key: ['generation'] },
  { name: 'hunting_notifications', key: ['id'], serial: true },
  { name: 'hunting_notification_tags', key: ['owner_id', 'tag', 'date', 'notification_id'] },
  { name: 'pending_emails', key: ['notification_id'] },
  { name: 'retrohunt_jobs', key: ['id'] },
  { name: 'retrohunt_matches', key: ['job_id', 'sha256', 'rule_name'] },
  { name: 'content_index_pending', key: ['id'], serial: true },
  { name: 'content_index_segments', key: ['id'], serial: true },
  { name: 'zip_files', key: ['id'] },
  { name: 'user_groups', key: ['id'], serial: true },
  { name: 'group_members', key: ['group_id', 'user_id'] },
  { name: 'hunting_ruleset_groups', key: ['ruleset_id', 'group_id'] },
  { name: 'quotas', key: ['subject', 'subject_id', 'name'] },
  { name: 'usage_daily', key: ['user_id', 'day', 'bucket'] },
  { name: 'usage_minutes', key: ['user_id', 'minute'] },
];

/**
 * Tables not copied: the registry of live processes (the source's are stopped; the target's
 * processes register themselves), Kysely's migration bookkeeping (the target migrated itself) and
 * SQLite's trigram indexes of names and magic with their shadow tables (the target's triggers index every file copied).
 */
const NOT_COPIED = new Set(['processes', 'kysely_migration', 'kysely_migration_lock', ...FTS_TABLES]);

/** PostgreSQL binds at most 65,535 parameters per statement; a page is split to stay well below. */
const MAX_PARAMETERS = 30_000;

/** The migrations applied to `db`, in order. */
export async function migrationsApplied(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.map((r) => r.name);
}

/** The copied tables of `db` that hold rows (counters aside, which every database has). */
export async function tablesWithData(db: Kysely<Database>): Promise<string[]> {
  const found: string[] = [];
  for (const t of COPIED) {
    if (t.upsert) continue;
    const { rows } = await sql`select 1 from ${sql.table(t.name)} limit 1`.execute(db);
    if (rows.length > 0) found.push(t.name);
  }
  return found;
}

/** The columns of each table of `db`; fails on a table neither copied nor known not to be. */
async function columnsOf(db: Kysely<Database>, dialect: SqlDialect['name']): Promise<Map<string, string[]>> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  const out = new Map<string, string[]>();
  for (const t of tables) {
    if (t.isView || (dialect === 'postgres' && t.schema !== 'public')) continue;
    out.set(t.name, t.columns.map((c) => c.name));
  }
  // A table added by a later migration must be added above (or to NOT_COPIED), not silently left behind.
  const unknown = [...out.keys()].filter((n) => !NOT_COPIED.has(n) && !COPIED.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`the database has tables trawl migrate does not know how to copy: ${unknown.join(', ')}`);
  return out;
}

interface Side {
  db: Kysely<Database>;
  dialect: SqlDialect;
}

/**
 * Copies every data table of `from` into `to`, then continues each auto-increment id of `to`
 * past the highest one `from` ever gave. `to` must be empty and migrated to `from`'s level.
 */
export async function copyTables(from: Side, to: Side, opts: TableCopyOptions): Promise<void> {
  const src = from.db as unknown as Kysely<any>;
  const dst = to.db as unknown as Kysely<any>;
  const sourceColumns = await columnsOf(from.db, from.dialect.name);
  const targetColumns = await columnsOf(to.db, to.dialect.name);
  const totals = new Map<string, number>();
  for (const t of COPIED) {
    const { rows: [r] } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t.name)}`.execute(src);
    totals.set(t.name, Number(r!.n));
  }
  opts.onTables?.(COPIED.map((t) => ({ table: t.name, rows: totals.get(t.name)! })));
  for (const t of COPIED) {
    const columns = (sourceColumns.get(t.name) ?? []).filter((c) => !t.computed?.includes(c));
    const missing = columns.filter((c) => !targetColumns.get(t.name)?.includes(c));
    if (missing.length > 0) throw new Error(`${t.name}: the target has no column ${missing.join(', ')}`);
    const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
    const keyOf = (r: Record<string, unknown>) => t.key.map((k) => r[k]);
    let copied = 0;
    for (let after: unknown[] | null = null; ;) {
      let q = src.selectFrom(t.name).select(columns);
      // A row value comparison walks the primary key's index from where the last page ended,
      // whatever the number of pages before (an OFFSET would read them all again).
      if (after) q = q.where(sql<boolean>`(${sql.join(t.key.map((k) => sql.ref(k)))}) > (${sql.join(after)})`);
      for (const k of t.key) q = q.orderBy(k);
      const rows: Record<string, unknown>[] = await q.limit(opts.batchSize).execute();
      if (rows.length === 0) {
        if (copied === 0) opts.onRows?.(t.name, 0, 0);
        break;
      }
      await to.dialect.transaction(to.db, async (tx) => {
        const out = tx as unknown as Kysely<any>;
        for (let i = 0; i < rows.length; i += perStatement) {
          let insert = out.insertInto(t.name).values(rows.slice(i, i + perStatement));
          if (t.upsert) {
            const rest = columns.filter((c) => !t.key.includes(c));
            insert = insert.onConflict((oc: any) => oc.columns(t.key).doUpdateSet(Object.fromEntries(rest.map((c) => [c, sql.ref(`excluded.${c}`)]))));
          }
          await insert.execute();
        }
      });
      copied += rows.length;
      opts.onRows?.(t.name, copied, totals.get(t.name)!);
      if (rows.length < opts.batchSize) break;
      after = keyOf(rows[rows.length - 1]!);
    }
    if (t.serial) await continueIds(from, to, t.name);
  }
}

/**
 * Sets the next id of `table` in `to` past both its highest row and the highest id `from` ever
 * handed out: ids of rows deleted since (notifications past retention) are not given again, as
 * in the source, so nothing that remembers one (a client's cursor) can meet a different row.
 */
async function continueIds(from: Side, to: Side, table: string): Promise<void> {
  const given = from.dialect.name === 'postgres'
    ? sql<{ n: number | string | null }>`select pg_sequence_last_value(pg_get_serial_sequence(${table}, 'id')::regclass) as n`
    : sql<{ n: number | string | null }>`select seq as n from sqlite_sequence where name = ${table}`;
  const { rows: [g] } = await given.execute(from.db);
  const floor = Number(g?.n ?? 0);
  if (to.dialect.name === 'postgres') {
    // is_called false: the next nextval returns exactly this value.
    await sql`select setval(pg_get_serial_sequence(${table}, 'id'),
      greatest(coalesce((select max(id) from ${sql.table(table)}), 0), ${floor}) + 1, false)`.execute(to.db);
  } else {
    // AUTOINCREMENT keeps the highest id given in sqlite_sequence; inserts raised it to max(id).
    await sql`delete from sqlite_sequence where name = ${table}`.execute(to.db);
    await sql`insert into sqlite_sequence (name, seq) values (${table},
      max(coalesce((select max(id) from ${sql.table(table)}), 0), ${floor}))`.execute(to.db);
  }
}
