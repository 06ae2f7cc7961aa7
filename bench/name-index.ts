// What the index of file names (store/sql/name-index.ts, migration 0021) costs, on SQLite and
// PostgreSQL: BENCH_NAME_FILES (1,000,000) files generated at migration 0020 (corpora/file-corpus.ts),
// then the migration's back-fill timed, the index's size set against the files table's, and the
// write paths that keep it timed before and after: BENCH_NAME_WRITES (20,000) new files inserted
// one statement each, and as many names added to stored files (a re-submission with a new name),
// in one transaction, so that the index's share is not hidden behind fsyncs.
// PostgreSQL: TRAWL_TEST_PG_URL or the throwaway server of scripts/. Env: BENCH_NAME_DB (sqlite,postgres).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { migrate } from '../src/store/sql/migrations.js';
import type { Database } from '../src/store/sql/schema.js';
import { postgresDialect } from '../src/store/postgres/postgres-dialect.js';
import { sqliteDialect } from '../src/store/sqlite/sqlite-dialect.js';
import { freshPostgres } from './corpora/notification-corpus.js';
import { generatePostgresFiles, generateSqliteFiles, sha256Of } from './corpora/file-corpus.js';
import { MB, table } from './lib/lib.js';

const N = Number(process.env.BENCH_NAME_FILES ?? 1_000_000);
const K = Number(process.env.BENCH_NAME_WRITES ?? 20_000);
const DBS = (process.env.BENCH_NAME_DB ?? 'sqlite,postgres').split(',');
const BEFORE = '0020_community_rules';

/** One statement per call: the rows a write path adds (`run(i)` for i in [from, from + K)). */
interface Writes { insert(from: number): Promise<number>; rename(from: number): Promise<number> }
const ms = async (f: () => Promise<unknown> | unknown) => { const t = performance.now(); await f(); return performance.now() - t; };

const INSERT = `insert into files (sha256, sha1, md5, size, magic, type_description, type_tag, type_tags, type_extension, tags, names,
  first_submission_date, last_submission_date, last_analysis_date, times_submitted, unique_sources)`;
const values = (i: number) => [sha256Of(i), sha256Of(i).slice(24), sha256Of(i).slice(32), 100 + i, 'ASCII text', 'text', 'text', '["text"]', 'txt', '["text"]',
  JSON.stringify([`upload-${i}.txt`]), 1_700_000_000 + i, 1_700_000_000 + i, 1_700_000_000 + i, 1, 1];
/** A second name, as a re-submission under another name writes it. */
const renamed = (i: number) => [JSON.stringify([`file-${i}.exe`, `Invoice-${i}-copy.exe`]), sha256Of(i)];

async function sqlite(): Promise<(string | number)[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-name-index-'));
  try {
    const path = join(dir, 'trawl.db');
    const k = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(path) }) });
    await migrate(k, sqliteDialect, BEFORE);
    await k.destroy();
    generateSqliteFiles(path, N);
    const db = new BetterSqlite3(path);
    db.pragma('journal_mode = WAL');
    const ins = db.prepare(`${INSERT} values (${values(0).map(() => '?').join(', ')})`);
    const upd = db.prepare('update files set names = ? where sha256 = ?');
    const writes: Writes = {
      insert: (from) => ms(() => db.transaction(() => { for (let i = from; i < from + K; i++) ins.run(values(i)); })()),
      rename: (from) => ms(() => db.transaction(() => { for (let i = from; i < from + K; i++) upd.run(renamed(i)); })()),
    };
    const before = [await writes.insert(N + 1), await writes.rename(0)];
    db.close();
    const m = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(path) }) });
    const backfill = await ms(() => migrate(m, sqliteDialect));
    await m.destroy();
    const db2 = new BetterSqlite3(path);
    const ins2 = db2.prepare(ins.source);
    const upd2 = db2.prepare(upd.source);
    const after = [
      await ms(() => db2.transaction(() => { for (let i = N + 1 + K; i < N + 1 + 2 * K; i++) ins2.run(values(i)); })()),
      await ms(() => db2.transaction(() => { for (let i = K; i < 2 * K; i++) upd2.run(renamed(i)); })()),
    ];
    const sizes = (db2.prepare('select sum(pgsize) as s from dbstat where name like ?').get('files_names_fts%') as { s: number }).s;
    const filesSize = (db2.prepare("select sum(pgsize) as s from dbstat where name = 'files'").get() as { s: number }).s;
    const all = (db2.prepare('select sum(pgsize) as s from dbstat').get() as { s: number }).s;
    db2.close();
    return rows('sqlite', backfill, sizes, filesSize, all, before, after);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(): Promise<(string | number)[][]> {
  const url = await freshPostgres(`trawl_name_index_${process.pid}`);
  const pg = (await import('pg')).default;
  const k = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  try {
    await migrate(k, postgresDialect, BEFORE);
    await generatePostgresFiles(url, N);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const run = async (text: string, args: (i: number) => unknown[], from: number) => ms(async () => {
        await c.query('begin');
        for (let i = from; i < from + K; i++) await c.query({ name: text.slice(0, 20), text, values: args(i) });
        await c.query('commit');
      });
      const ins = `${INSERT} values (${values(0).map((_, j) => `$${j + 1}`).join(', ')})`;
      const upd = 'update files set names = $1 where sha256 = $2';
      const before = [await run(ins, values, N + 1), await run(upd, renamed, 0)];
      const backfill = await ms(() => migrate(k, postgresDialect));
      const after = [await run(ins, values, N + 1 + K), await run(upd, renamed, K)];
      const { rows: [s] } = await c.query(`select pg_relation_size('files_names_trgm_idx') as idx, pg_relation_size('files') as files,
        pg_database_size(current_database()) as all`);
      return rows('postgres', backfill, Number(s.idx), Number(s.files), Number(s.all), before, after);
    } finally {
      await c.end();
    }
  } finally {
    await k.destroy();
    // Dropped from the server it was made on (which may be shared).
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`drop database if exists trawl_name_index_${process.pid}`);
    await c.end();
  }
}

function rows(db: string, backfill: number, index: number, files: number, all: number, before: number[], after: number[]): (string | number)[][] {
  const perWrite = (t: number) => (t * 1000 / K).toFixed(1);
  return [
    [db, 'migration 0021 (back-fill)', `${(backfill / 1000).toFixed(1)} s`],
    [db, 'index / files table / database', `${(index / MB).toFixed(0)} / ${(files / MB).toFixed(0)} / ${(all / MB).toFixed(0)} MB (${(100 * index / files).toFixed(0)}% of files)`],
    [db, 'insert a file: without / with the index', `${perWrite(before[0]!)} / ${perWrite(after[0]!)} us`],
    [db, 'add a name to a file: without / with', `${perWrite(before[1]!)} / ${perWrite(after[1]!)} us`],
  ];
}

async function main(): Promise<void> {
  const out: (string | number)[][] = [];
  for (const db of DBS) out.push(...(db === 'postgres' ? await postgres() : await sqlite()));
  table(`The index of file names with ${N} stored files, ${K} writes of each kind in one transaction`, [['database', 'what', 'measured'], ...out]);
}

await main();
process.exit(0);
