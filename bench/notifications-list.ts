// Listing hunting notifications with BENCH_NOTIFICATIONS (1,000,000) stored, on SQLite and on
// PostgreSQL: pages of 40 through the API (wrk, 8 connections), unfiltered first pages, deep pages
// at random cursors, a tag filter, a date window, and hunting_notification_files. Notifications
// are generated directly in the database (one owner, 20 rulesets, 4 tags each), then the server
// is restarted on it. PostgreSQL: TRAWL_TEST_PG_URL or the throwaway server of scripts/.
// Env: BENCH_NOTIFICATIONS, BENCH_LIST_SECONDS (10), BENCH_LIST_DB (sqlite,postgres).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { hasWrk, request, ROOT, startServer, table, verdict, wrk, type Server, type WrkResult } from './lib.js';

const N = Number(process.env.BENCH_NOTIFICATIONS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_LIST_SECONDS ?? 10);
const DBS = (process.env.BENCH_LIST_DB ?? 'sqlite,postgres').split(',');
const RULESETS = 20;
const FILES = 5000;
const START = 1_760_000_000;
const STEP = 2; // seconds between notifications: 1M span 23 days
const SNIPPET = '00 00 00 00 68 74 74 70 3A 2F 2F 65 76 69 6C 2E  ....http://evil.\n' +
  '*begin_highlight*65 78 61 6D 70 6C 65 2F 67 61 74 65 2E 70 68 70 *end_highlight*  *begin_highlight*example/gate.php*end_highlight*\n' +
  '3F 69 64 3D 31 00 00 00 00 00 00 00 00 00 00 00  ?id=1...........';

/** The rows, as INSERT ... SELECTs over a range of numbers `i` (a recursive CTE or generate_series). */
function inserts(range: (from: number, to: number) => string, hex: (e: string) => string, cat: (...p: string[]) => string): string[] {
  const sha = hex(`i % ${FILES}`);
  return [
    `insert into files (sha256, sha1, md5, size, magic, type_description, type_tag, type_tags, type_extension, tags, names,
       first_submission_date, last_submission_date, last_analysis_date, times_submitted, unique_sources)
     select ${hex('i')}, substr(${hex('i')}, 1, 40), substr(${hex('i')}, 1, 32), 1000 + i, 'ELF 64-bit LSB pie executable', 'ELF', 'elf',
       '["executable","linux","elf"]', 'so', '["elf"]', ${cat("'[\"file-'", 'i', "'.bin\"]'")}, ${START}, ${START}, ${START}, 1, 1
     from ${range(0, FILES - 1)}`,
    `insert into hunting_notifications (owner_id, ruleset_id, ruleset_name, date, entity_type, sha256, submission_id, rule_name,
       rule_tags, snippet, match_in_subfile, source_key, source_country, tags)
     select 1, 1 + i % ${RULESETS}, ${cat("'bench_'", `i % ${RULESETS}`)}, ${START} + i * ${STEP}, 'file', ${sha}, i, ${cat("'rule_'", 'i % 10')},
       '["apt"]', '${SNIPPET}', 0, 'ab12cd34', 'DE',
       ${cat("'[\"bench_'", `i % ${RULESETS}`, "'\",\"rule_'", 'i % 10', "'\",\"apt\",\"'", sha, "'\"]'")}
     from ${range(1, N)}`,
  ];
}

async function generateSqlite(path: string): Promise<void> {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const range = (from: number, to: number) => `(with recursive n(i) as (select ${from} union all select i + 1 from n where i < ${to}) select i from n)`;
  // `||` binds tighter than `%` in SQLite: every part is parenthesised.
  const [files, notes] = inserts(range, (e) => `printf('%064x', ${e})`, (...p) => p.map((x) => `(${x})`).join(' || '));
  db.transaction(() => {
    db.exec(files!);
    db.exec(notes!);
    db.exec(`insert into hunting_notification_tags (owner_id, tag, date, notification_id)
      select n.owner_id, j.value, n.date, n.id from hunting_notifications n, json_each(n.tags) j`);
  })();
  db.exec('analyze');
  db.close();
}

async function generatePostgres(url: string): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const range = (from: number, to: number) => `generate_series(${from}, ${to}) as g(i)`;
    const [files, notes] = inserts(range, (e) => `lpad(to_hex(${e}), 64, '0')`, (...p) => `concat(${p.join(', ')})`);
    await c.query(files!);
    await c.query(notes!);
    await c.query(`insert into hunting_notification_tags (owner_id, tag, date, notification_id)
      select n.owner_id, t, n.date, n.id from hunting_notifications n, jsonb_array_elements_text(n.tags::jsonb) t`);
    await c.query('vacuum analyze');
  } finally {
    await c.end();
  }
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Paths of one kind of page; cursors sit at random positions of the 1M. */
function paths(kind: string): string[] {
  const base = '/api/v3/intelligence/hunting_notifications';
  const rnd = () => 1 + Math.floor(Math.random() * N);
  const cursor = () => { const i = rnd(); return b64({ date: START + i * STEP, id: i }); };
  return Array.from({ length: 2000 }, () => {
    switch (kind) {
      case 'first page': return `${base}?limit=40`;
      case 'random cursor': return `${base}?limit=40&cursor=${cursor()}`;
      case 'tag:rule_3, random cursor': return `${base}?limit=40&filter=tag%3Arule_3&cursor=${cursor()}`;
      case 'date window (1 day)': { const d = START + rnd() * STEP; return `${base}?limit=40&filter=${encodeURIComponent(`date:${d}+ date:${d + 86400}-`)}`; }
      case 'oldest first, random cursor': return `${base}?limit=40&order=date%2B&cursor=${cursor()}`;
      default: return `/api/v3/intelligence/hunting_notification_files?limit=40&cursor=${cursor()}`;
    }
  });
}

async function measure(db: string, s: Server): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  for (const kind of ['first page', 'random cursor', 'tag:rule_3, random cursor', 'date window (1 day)', 'oldest first, random cursor', 'notification_files, random cursor']) {
    const file = join(s.dir, 'paths.txt');
    const list = paths(kind);
    writeFileSync(file, list.join('\n') + '\n');
    const probe = await request('GET', s.url + list[0], { 'x-apikey': s.key });
    const items = JSON.parse(probe.body.toString()).data?.length;
    if (probe.status !== 200 || items !== 40) throw new Error(`${kind}: ${probe.status} ${items} ${probe.body.toString().slice(0, 300)}`);
    wrk(s, file, 8, 2);
    const r: WrkResult = wrk(s, file, 8, SECONDS);
    rows.push([db, kind, r.rps, r.p50, r.p99, r.errors, `p99 < 20 ms ${verdict(r.p99 < 20 && r.errors === 0)}`]);
  }
  return rows;
}

async function main(): Promise<void> {
  if (!hasWrk()) throw new Error('this benchmark needs wrk (apt-get install wrk)');
  const rows: (string | number)[][] = [['database', 'page of 40', 'pages/s', 'p50 ms', 'p99 ms', 'errors', 'target']];
  for (const db of DBS) {
    let extra: string[] = [];
    let pgUrl = '';
    if (db === 'postgres') {
      const admin = process.env.TRAWL_TEST_PG_URL ?? execFileSync('bash', [join(ROOT, 'scripts/pg-test-server.sh')], { encoding: 'utf8' }).trim();
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      const name = `trawl_bench_${process.pid}`;
      await c.query(`drop database if exists ${name}`);
      await c.query(`create database ${name}`);
      await c.end();
      const u = new URL(admin);
      u.pathname = `/${name}`;
      pgUrl = u.toString();
      extra = ['--database', pgUrl];
    }
    let s = await startServer(extra);
    for (let i = 0; i < RULESETS; i++) {
      const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name: `bench_${i}`, rules: `rule rule_${i} { condition: false }` } } }));
      const r = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
      if (r.status !== 200) throw new Error(`ruleset: ${r.body}`);
    }
    await s.stop(true);
    const t = performance.now();
    if (db === 'postgres') await generatePostgres(pgUrl);
    else await generateSqlite(join(s.dir, 'trawl.db'));
    console.log(`${db}: ${N} notifications (${N * 4} tags, ${FILES} files) generated in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    s = await startServer(extra, { dir: s.dir, key: s.key });
    try {
      rows.push(...(await measure(db, s)));
    } finally {
      await s.stop();
    }
  }
  table(`hunting notifications: pages of 40 with ${N} stored, wrk 8 connections, ${SECONDS} s each`, rows);
}

await main();
process.exit(0);
