// Hunting notifications generated directly in a Trawl database, for the listing and IoC Stream
// benchmarks: one owner (the admin, user 1), RULESETS rulesets, 4 tags each (ruleset name, rule
// name, a rule tag, the file's sha256), FILES files, one notification every STEP seconds.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { storedStreamContext } from '../../src/model/stream-context.js';
import { toNotification } from '../../src/store/sql/notifications.js';
import type { NotificationRecord } from '../../src/store/store.js';
import { request, ROOT, startServer, type Server } from '../lib/lib.js';

export const RULESETS = 20;
export const FILES = 5000;
export const START = 1_760_000_000;
export const STEP = 2; // seconds between notifications: 1M span 23 days

/** The page cursor (as the API encodes it) just past notification `i`. */
export const cursorAt = (i: number) => Buffer.from(JSON.stringify({ date: START + i * STEP, id: i })).toString('base64url');
/** A cursor at a random one of `n` generated notifications. */
export const randomCursor = (n: number) => cursorAt(1 + Math.floor(Math.random() * n));

/** The IoC Stream page kinds the benchmarks time, each making a random query string of its kind over `n` notifications. */
export function streamPageKinds(n: number): Record<string, () => string> {
  const cursor = () => randomCursor(n);
  const day = () => START + (1 + Math.floor(Math.random() * n)) * STEP;
  const sha = (i: number) => i.toString(16).padStart(64, '0');
  return {
    'unfiltered, random cursor': () => `limit=40&cursor=${cursor()}`,
    'first page': () => 'limit=40',
    'date window (1 day)': () => { const d = day(); return `limit=40&filter=${encodeURIComponent(`date:${d}+ date:${d + 86400}-`)}`; },
    'origin:hunting, random cursor': () => `limit=40&filter=origin%3Ahunting&cursor=${cursor()}`,
    'entity_type:file, random cursor': () => `limit=40&filter=entity_type%3Afile&cursor=${cursor()}`,
    'source_type:hunting_ruleset, random cursor': () => `limit=40&filter=source_type%3Ahunting_ruleset&cursor=${cursor()}`,
    'source_id:<ruleset>, random cursor': () => `limit=40&filter=source_id%3A${1 + Math.floor(Math.random() * RULESETS)}&cursor=${cursor()}`,
    'notification_tag:rule_3, random cursor': () => `limit=40&filter=notification_tag%3Arule_3&cursor=${cursor()}`,
    'entity_id:<sha256>': () => `limit=40&filter=entity_id%3A${sha(Math.floor(Math.random() * FILES))}`,
  };
}
const SNIPPET = '00 00 00 00 68 74 74 70 3A 2F 2F 65 76 69 6C 2E  ....http://evil.\n' +
  '*begin_highlight*65 78 61 6D 70 6C 65 2F 67 61 74 65 2E 70 68 70 *end_highlight*  *begin_highlight*example/gate.php*end_highlight*\n' +
  '3F 69 64 3D 31 00 00 00 00 00 00 00 00 00 00 00  ?id=1...........';

/**
 * The stored stream context of notification `i` as SQL: Trawl's own serialization of a template
 * notification, with the parts that vary by `i` cut out and replaced by SQL expressions.
 */
function streamContextSql(cat: (...p: string[]) => string, tags: string): string {
  const marks = { RULESET_ID: '"@@ruleset_id@@"', RULESET: '"@@ruleset@@"', RULE: '"@@rule@@"', TAGS: '["@@tags@@"]' };
  const json = storedStreamContext({
    ownerId: 1, rulesetId: 0, rulesetName: '@@ruleset@@', date: 0, sha256: '', submissionId: 0, ruleName: '@@rule@@',
    ruleTags: ['apt'], snippet: SNIPPET, matchInSubfile: false, sourceKey: 'ab12cd34', sourceCountry: 'DE', tags: ['@@tags@@'],
  }).replace('"id":"0"', `"id":${marks.RULESET_ID}`);
  const exprs: Record<string, string> = {
    [marks.RULESET_ID]: cat("'\"'", `1 + i % ${RULESETS}`, "'\"'"),
    [marks.RULESET]: cat("'\"bench_'", `i % ${RULESETS}`, "'\"'"),
    [marks.RULE]: cat("'\"rule_'", 'i % 10', "'\"'"),
    [marks.TAGS]: tags,
  };
  const parts = json.split(/("@@ruleset_id@@"|"@@ruleset@@"|"@@rule@@"|\["@@tags@@"\])/);
  return cat(...parts.map((p, k) => (k % 2 ? exprs[p]! : `'${p.replaceAll("'", "''")}'`)));
}

/** Notification `i` as the generator makes it (its id is `i`: they are inserted in order into an empty table). */
function generated(i: number): NotificationRecord {
  const sha = (i % FILES).toString(16).padStart(64, '0');
  return {
    id: i, entityType: 'file', ownerId: 1, rulesetId: 1 + (i % RULESETS), rulesetName: `bench_${i % RULESETS}`, date: START + i * STEP,
    sha256: sha, submissionId: i, ruleName: `rule_${i % 10}`, ruleTags: ['apt'], snippet: SNIPPET, matchInSubfile: false,
    sourceKey: 'ab12cd34', sourceCountry: 'DE', tags: [`bench_${i % RULESETS}`, `rule_${i % 10}`, 'apt', sha],
  };
}

/** Throws unless the sample rows read back, through Trawl's own reader, as the notifications meant. */
function checkRows(rows: Parameters<typeof toNotification>[0][]): void {
  for (const r of rows) assert.deepEqual(toNotification(r), generated(Number(r.id)), 'a generated notification');
}
const SAMPLE = 'select * from hunting_notifications where id in (1, 2, 7, 19, 20, 123)';

/** The rows, as INSERT ... SELECTs over a range of numbers `i` (a recursive CTE or generate_series). */
function inserts(N: number, range: (from: number, to: number) => string, hex: (e: string) => string, cat: (...p: string[]) => string): string[] {
  const sha = hex(`i % ${FILES}`);
  const tags = cat("'[\"bench_'", `i % ${RULESETS}`, "'\",\"rule_'", 'i % 10', "'\",\"apt\",\"'", sha, "'\"]'");
  return [
    `insert into files (sha256, sha1, md5, size, magic, type_description, type_tag, type_tags, type_extension, tags, names,
       first_submission_date, last_submission_date, last_analysis_date, times_submitted, unique_sources)
     select ${hex('i')}, substr(${hex('i')}, 1, 40), substr(${hex('i')}, 1, 32), 1000 + i, 'ELF 64-bit LSB pie executable', 'ELF', 'elf',
       '["executable","linux","elf"]', 'so', '["elf"]', ${cat("'[\"file-'", 'i', "'.bin\"]'")}, ${START}, ${START}, ${START}, 1, 1
     from ${range(0, FILES - 1)}`,
    `insert into hunting_notifications (owner_id, ruleset_id, date, entity_type, sha256, submission_id, rule_name, stream_context)
     select 1, 1 + i % ${RULESETS}, ${START} + i * ${STEP}, 'file', ${sha}, i, ${cat("'rule_'", 'i % 10')}, ${streamContextSql(cat, tags)}
     from ${range(1, N)}`,
  ];
}

export async function generateSqlite(path: string, N: number): Promise<void> {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const range = (from: number, to: number) => `(with recursive n(i) as (select ${from} union all select i + 1 from n where i < ${to}) select i from n)`;
  // `||` binds tighter than `%` in SQLite: every part is parenthesised.
  const [files, notes] = inserts(N, range, (e) => `printf('%064x', ${e})`, (...p) => p.map((x) => `(${x})`).join(' || '));
  db.transaction(() => {
    db.exec(files!);
    db.exec(notes!);
    db.exec(`insert into hunting_notification_tags (owner_id, tag, date, notification_id)
      select n.owner_id, j.value, n.date, n.id from hunting_notifications n, json_each(n.stream_context, '$.tags') j`);
  })();
  db.exec('analyze');
  checkRows(db.prepare(SAMPLE).all() as Parameters<typeof checkRows>[0]);
  db.close();
}

export async function generatePostgres(url: string, N: number): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const range = (from: number, to: number) => `generate_series(${from}, ${to}) as g(i)`;
    const [files, notes] = inserts(N, range, (e) => `lpad(to_hex(${e}), 64, '0')`, (...p) => `concat(${p.join(', ')})`);
    await c.query(files!);
    await c.query(notes!);
    await c.query(`insert into hunting_notification_tags (owner_id, tag, date, notification_id)
      select n.owner_id, t, n.date, n.id from hunting_notifications n, jsonb_array_elements_text(n.stream_context::jsonb -> 'tags') t`);
    await c.query('vacuum analyze');
    // As a database that has been running a while, not one with ~20 GB just written: otherwise
    // the checkpoint that follows writes them back while the first rows are measured (on
    // 2026-12-05 and 12-06 the third and fourth rows had p99s of 70-200 ms over p50s of 7-12).
    // SQLite's generator is checkpointed by closing its database.
    await c.query('checkpoint');
    checkRows((await c.query(SAMPLE)).rows);
  } finally {
    await c.end();
  }
}


/** Creates the RULESETS rulesets the notifications name (through the API, so they are real). */
export async function createCorpusRulesets(s: Server): Promise<void> {
  for (let i = 0; i < RULESETS; i++) {
    const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name: `bench_${i}`, rules: `rule rule_${i} { condition: false }` } } }));
    const r = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
    if (r.status !== 200) throw new Error(`ruleset: ${r.body}`);
  }
}

/**
 * A fresh PostgreSQL database on TRAWL_TEST_PG_URL's server, or on the throwaway one of scripts/
 * through its Unix socket: on one machine that is what a deployment would use, and it costs the
 * node process less per query than loopback TCP (docs/notes/benchmarks.md, 2026-12-06).
 */
export async function freshPostgres(name: string): Promise<string> {
  const admin = process.env.TRAWL_TEST_PG_URL ?? execFileSync('bash', [join(ROOT, 'scripts/pg-test-server.sh'), '--socket'], { encoding: 'utf8' }).trim();
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`drop database if exists ${name}`);
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A server (restarted on its data) whose database holds `n` generated notifications; `extra`
 * flags are passed to both starts, and returned as `flags` with the database's for more restarts.
 * Logs how long the generation took.
 */
export async function serverWithNotifications(db: string, n: number, extra: string[] = []): Promise<Server & { flags: string[] }> {
  // The generated notifications are dated in the past: retention must not delete them mid-run.
  const keep = ['--notification-retention', '0', ...extra];
  const flags = db === 'postgres' ? ['--database', await freshPostgres(`trawl_bench_${process.pid}`), ...keep] : keep;
  const first = await startServer(flags);
  await createCorpusRulesets(first);
  await first.stop(true);
  const t = performance.now();
  const url = flags[flags.indexOf('--database') + 1];
  if (db === 'postgres') await generatePostgres(url!, n);
  else await generateSqlite(join(first.dir, 'trawl.db'), n);
  console.log(`${db}: ${n} notifications (${n * 4} tags, ${FILES} files) generated in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return Object.assign(await startServer(flags, { dir: first.dir, key: first.key }), { flags });
}

/** A server stopped with its generated data kept: what restarting it takes (BENCH_STREAM_KEEP files). */
export interface KeptServer { flags: string[]; dir: string; key: string }

export function writeKept(file: string, s: KeptServer): void {
  writeFileSync(file, JSON.stringify({ flags: s.flags, dir: s.dir, key: s.key }));
}

export function readKept(file: string): KeptServer {
  return JSON.parse(readFileSync(file, 'utf8')) as KeptServer;
}
