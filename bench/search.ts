// GET /api/v3/intelligence/search over BENCH_SEARCH_FILES (1,000,000) stored files, on SQLite
// and on PostgreSQL: files generated directly in the database (corpora/file-corpus.ts), the
// server restarted on it, then each kind of query requested with wrk at one connection (the
// latency of a page alone) and at 8 (pages under load), random values and cursors per request.
// PostgreSQL: TRAWL_TEST_PG_URL or the throwaway server of scripts/.
// Env: BENCH_SEARCH_FILES, BENCH_SEARCH_SECONDS (5), BENCH_SEARCH_DB (sqlite,postgres).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasWrk, request, ROOT, startServer, table, verdict, wrk, type Server } from './lib/lib.js';
import { freshPostgres } from './corpora/notification-corpus.js';
import { firstOf, generatePostgresFiles, generateSqliteFiles, lastOf, md5Of, RARE_MAGIC_AT, sha256Of, sizeOf } from './corpora/file-corpus.js';

const N = Number(process.env.BENCH_SEARCH_FILES ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SEARCH_SECONDS ?? 5);
const DBS = (process.env.BENCH_SEARCH_DB ?? 'sqlite,postgres').split(',');
const TARGET_MS = 100;

const rnd = (n = N) => Math.floor(Math.random() * n);
const cursor = (order: string, value: number, i: number) => Buffer.from(JSON.stringify({ order, value, sha256: sha256Of(i) })).toString('base64url');
const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);

/** Each kind of query: a random query string of its kind (pages of 10, VirusTotal's default). */
const KINDS: Record<string, () => string> = {
  'sha256 alone': () => `query=${sha256Of(rnd())}`,
  'md5: alone': () => `query=md5%3A${md5Of(rnd())}`,
  'type:peexe, first page': () => 'query=type%3Apeexe',
  'type:peexe, random cursor': () => { const i = rnd(); return `query=type%3Apeexe&cursor=${cursor('last_submission_date-', lastOf(i), i)}`; },
  'type:elf size:5mb+, random cursor': () => { const i = rnd(); return `query=${encodeURIComponent('type:elf size:5mb+')}&cursor=${cursor('last_submission_date-', lastOf(i), i)}`; },
  'ls:<day>+ (a window start)': () => `query=${encodeURIComponent(`ls:${day(lastOf(rnd()))}+`)}`,
  'fs:<day>, order=first_submission_date+': () => `query=${encodeURIComponent(`fs:${day(firstOf(rnd()))}`)}&order=first_submission_date%2B`,
  'type:zip, order=size-, random cursor': () => { const i = rnd(); return `query=type%3Azip&order=size-&cursor=${cursor('size-', sizeOf(i), i)}`; },
  'submissions:5+ order=size+': () => 'query=submissions%3A5%2B&order=size%2B',
  'tag:overlay, random cursor': () => { const i = rnd(); return `query=tag%3Aoverlay&cursor=${cursor('last_submission_date-', lastOf(i), i)}`; },
  'magic:"pdf document"': () => `query=${encodeURIComponent('magic:"pdf document"')}`,
  'magic:"rare format <i>" (one match)': () => `query=${encodeURIComponent(`magic:"rare format ${rnd(N / 100_000) * 100_000 + RARE_MAGIC_AT}"`)}`,
  '(type:peexe OR type:elf) -tag:overlay': () => `query=${encodeURIComponent('(type:peexe OR type:elf) -tag:overlay')}`,
  'bundled:true, random cursor': () => { const i = rnd(); return `query=bundled%3Atrue&cursor=${cursor('last_submission_date-', lastOf(i), i)}`; },
  'parent:<zip sha256>': () => `query=parent%3A${sha256Of(rnd(N / 20) * 20 + 8)}`,
  'crowdsourced_yara_rule:rule_<n>': () => `query=crowdsourced_yara_rule%3Arule_${rnd(10)}`,
  'name:file-<i>. (one match)': () => `query=${encodeURIComponent(`name:file-${rnd()}.`)}`,
  'name:<nnn>. (1,000 matches)': () => `query=${encodeURIComponent(`name:${String(rnd(1000)).padStart(3, '0')}.`)}`,
  'name:.exe, random cursor (30% of files)': () => { const i = rnd(); return `query=${encodeURIComponent('name:.exe')}&cursor=${cursor('last_submission_date-', lastOf(i), i)}`; },
};

async function serverWithFiles(db: string): Promise<Server> {
  // The generated notifications are dated in the past: retention must not delete them.
  const keep = ['--notification-retention', '0'];
  const flags = db === 'postgres' ? ['--database', await freshPostgres(`trawl_search_${process.pid}`), ...keep] : keep;
  const first = await startServer(flags);
  await first.stop(true);
  const t = performance.now();
  if (db === 'postgres') await generatePostgresFiles(flags[1]!, N);
  else generateSqliteFiles(join(first.dir, 'trawl.db'), N);
  console.log(`${db}: ${N} files generated in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return startServer(flags, { dir: first.dir, key: first.key });
}

/** Drops the benchmark's database from the (shared) PostgreSQL server. */
async function dropPostgres(name: string): Promise<void> {
  const url = new URL(await freshPostgresAdmin());
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  await c.query(`drop database if exists ${name}`);
  await c.end();
}
const freshPostgresAdmin = async () => process.env.TRAWL_TEST_PG_URL ?? execFileSync('bash', [join(ROOT, 'scripts/pg-test-server.sh'), '--socket'], { encoding: 'utf8' }).trim();

async function measure(db: string, s: Server): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  for (const [kind, make] of Object.entries(KINDS)) {
    const list = Array.from({ length: 2000 }, () => `/api/v3/intelligence/search?${make()}`);
    const probe = await request('GET', s.url + list[0], { 'x-apikey': s.key });
    const body = JSON.parse(probe.body.toString());
    if (probe.status !== 200 || !Array.isArray(body.data) || body.data.length === 0) throw new Error(`${kind}: ${probe.status} ${probe.body.toString().slice(0, 300)}`);
    const file = join(s.dir, 'paths.txt');
    writeFileSync(file, list.join('\n') + '\n');
    wrk(s, file, 1, 1);
    const one = wrk(s, file, 1, SECONDS);
    const eight = wrk(s, file, 8, SECONDS);
    rows.push([db, kind, body.data.length, one.p50, one.p99, eight.rps, eight.p99, one.errors + eight.errors, `p99 < ${TARGET_MS} ms ${verdict(one.p99 < TARGET_MS && one.errors === 0)}`]);
  }
  return rows;
}

async function main(): Promise<void> {
  if (!hasWrk()) throw new Error('this benchmark needs wrk (apt-get install wrk)');
  const head = ['database', 'query', 'items', 'p50 ms', 'p99 ms', '8 conns: pages/s', '8 conns: p99 ms', 'errors', 'target (1 conn)'];
  for (const db of DBS) {
    const s = await serverWithFiles(db);
    try {
      table(`GET /intelligence/search with ${N} stored files (${db}): wrk, 1 and 8 connections, ${SECONDS} s each`, [head, ...(await measure(db, s))]);
    } finally {
      await s.stop();
      if (db === 'postgres') await dropPostgres(`trawl_search_${process.pid}`);
    }
  }
}

await main();
process.exit(0);
