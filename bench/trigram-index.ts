// What the trigram indexes of names and magic (store/sql/trigram-index.ts, migration 0021) cost,
// on SQLite and PostgreSQL: BENCH_TRIGRAM_FILES (1,000,000) files generated at migration 0020
// (corpora/file-corpus.ts), then the migration's back-fill timed, each index's size set against
// the files table's, and the write paths that keep them timed before and after: BENCH_TRIGRAM_WRITES
// (20,000) new files inserted, as many names added to stored files (a re-submission under a new
// name) and magic texts set (an analysis), one statement each, in one transaction per kind, so
// that the indexes' share is not hidden behind fsyncs.
// PostgreSQL: TRAWL_TEST_PG_URL or the throwaway server of scripts/. Env: BENCH_TRIGRAM_DB (sqlite,postgres).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { migrate } from '../src/store/sql/migrations.js';
import type { Database } from '../src/store/sql/schema.js';
import { TRIGRAM_INDEXES } from '../src/store/sql/trigram-index.js';
import { postgresDialect } from '../src/store/postgres/postgres-dialect.js';
import { sqliteDialect } from '../src/store/sqlite/sqlite-dialect.js';
import { freshPostgres } from './corpora/notification-corpus.js';
import { generatePostgresFiles, generateSqliteFiles, sha256Of } from './corpora/file-corpus.js';
import { MB, table } from './lib/lib.js';

const N = Number(process.env.BENCH_TRIGRAM_FILES ?? 1_000_000);
const K = Number(process.env.BENCH_TRIGRAM_WRITES ?? 20_000);
const DBS = (process.env.BENCH_TRIGRAM_DB ?? 'sqlite,postgres').split(',');
const BEFORE = '0020_community_rules';

const INSERT = `insert into files (sha256, sha1, md5, size, magic, type_description, type_tag, type_tags, type_extension, tags, names,
  first_submission_date, last_submission_date, last_analysis_date, times_submitted, unique_sources)`;
const inserted = (i: number) => [sha256Of(i), sha256Of(i).slice(24), sha256Of(i).slice(32), 100 + i, 'ASCII text', 'text', 'text', '["text"]', 'txt', '["text"]',
  JSON.stringify([`upload-${i}.txt`]), 1_700_000_000 + i, 1_700_000_000 + i, 1_700_000_000 + i, 1, 1];
/** The write paths after an insert, each as one statement with its arguments for file i. */
const UPDATES = {
  'add a name (re-submission)': ['update files set names = ? where sha256 = ?', (i: number) => [JSON.stringify([`file-${i}.exe`, `Invoice-${i}-copy.exe`]), sha256Of(i)]],
  'set the magic (analysis)': ['update files set magic = ? where sha256 = ?', (i: number) => [`PE32+ executable (DLL) x86-64, build ${i}`, sha256Of(i)]],
} as const;
type Kind = 'insert a file' | keyof typeof UPDATES;
const KINDS: Kind[] = ['insert a file', ...(Object.keys(UPDATES) as (keyof typeof UPDATES)[])];

interface Figures { backfill: number; sizes: Record<string, number>; files: number; before: number[]; after: number[] }
const ms = async (f: () => Promise<unknown> | unknown) => { const t = performance.now(); await f(); return performance.now() - t; };
/** Kind `k`'s statement and arguments for file i; inserts go past the N generated files. */
const writeOf = (k: Kind): [string, (i: number) => unknown[]] => (k === 'insert a file'
  ? [`${INSERT} values (${inserted(0).map(() => '?').join(', ')})`, (i) => inserted(N + 1 + i)]
  : [UPDATES[k][0], UPDATES[k][1]]);

async function sqlite(): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-trigram-index-'));
  try {
    const path = join(dir, 'trawl.db');
    const open = () => new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(path) }) });
    const k = open();
    await migrate(k, sqliteDialect, BEFORE);
    await k.destroy();
    generateSqliteFiles(path, N);
    const writes = (from: number) => {
      const db = new BetterSqlite3(path);
      const out = KINDS.map((kind) => {
        const [text, args] = writeOf(kind);
        const st = db.prepare(text);
        const t = performance.now();
        db.transaction(() => { for (let i = from; i < from + K; i++) st.run(args(i)); })();
        return performance.now() - t;
      });
      db.close();
      return out;
    };
    const before = writes(0);
    const m = open();
    const backfill = await ms(() => migrate(m, sqliteDialect));
    await m.destroy();
    const after = writes(K);
    const db = new BetterSqlite3(path, { readonly: true });
    const size = (like: string) => (db.prepare('select sum(pgsize) as s from dbstat where name like ?').get(like) as { s: number }).s;
    const sizes = Object.fromEntries(Object.entries(TRIGRAM_INDEXES).map(([term, i]) => [term, size(`${i.fts}%`)]));
    const files = size('files');
    db.close();
    return { backfill, sizes, files, before, after };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(): Promise<Figures> {
  const name = `trawl_trigram_index_${process.pid}`;
  const url = await freshPostgres(name);
  const pg = (await import('pg')).default;
  const k = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  const c = new pg.Client({ connectionString: url });
  try {
    await migrate(k, postgresDialect, BEFORE);
    await generatePostgresFiles(url, N);
    await c.connect();
    const writes = async (from: number) => {
      const out: number[] = [];
      for (const kind of KINDS) {
        const [text, args] = writeOf(kind);
        let n = 0;
        const numbered = text.replace(/\?/g, () => `$${++n}`);
        out.push(await ms(async () => {
          await c.query('begin');
          for (let i = from; i < from + K; i++) await c.query({ name: kind.slice(0, 20), text: numbered, values: args(i) });
          await c.query('commit');
        }));
      }
      return out;
    };
    const before = await writes(0);
    const backfill = await ms(() => migrate(k, postgresDialect));
    const after = await writes(K);
    const sizes: Record<string, number> = {};
    for (const [term, i] of Object.entries(TRIGRAM_INDEXES)) sizes[term] = Number((await c.query('select pg_relation_size($1) as s', [i.gin])).rows[0].s);
    const files = Number((await c.query("select pg_relation_size('files') as s")).rows[0].s);
    return { backfill, sizes, files, before, after };
  } finally {
    await c.end().catch(() => undefined);
    await k.destroy();
    // Dropped from the server it was made on (which may be shared).
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const a = new pg.Client({ connectionString: admin.toString() });
    await a.connect();
    await a.query(`drop database if exists ${name}`);
    await a.end();
  }
}

function rows(db: string, f: Figures): (string | number)[][] {
  const us = (t: number) => (t * 1000 / K).toFixed(1);
  return [
    [db, 'migration 0021 (back-fill of both)', `${(f.backfill / 1000).toFixed(1)} s`],
    ...Object.entries(f.sizes).map(([term, bytes]) => [db, `${term}: index / files table`, `${(bytes / MB).toFixed(0)} / ${(f.files / MB).toFixed(0)} MB (${(100 * bytes / f.files).toFixed(0)}%)`]),
    ...KINDS.map((kind, j) => [db, `${kind}: without / with`, `${us(f.before[j]!)} / ${us(f.after[j]!)} us`]),
  ];
}

async function main(): Promise<void> {
  const out: (string | number)[][] = [];
  for (const db of DBS) out.push(...rows(db, db === 'postgres' ? await postgres() : await sqlite()));
  table(`The trigram indexes with ${N} stored files, ${K} writes of each kind in one transaction`, [['database', 'what', 'measured'], ...out]);
}

await main();
process.exit(0);
